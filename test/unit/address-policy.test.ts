// The callback address policy (lib/address-policy) and the other pure pieces of issue #15: every odd spelling
// of an inside address, operator opt-ins, names that resolve inside, iterative canonical JSON, depth limit.
import fc from 'fast-check'
import { AddressPolicy, addressKind, cidrProblem, type ResolvedAddress } from '../../src/lib/address-policy'
import { canonicalJson } from '../../src/actions/idempotency'
import { deeperThan } from '../../src/lib/json-depth'
import { safeNext } from '../../src/routes/admin-pages'
import { clientBucket } from '../../src/lib/sign-in-throttle'
import { loadConfig, ConfigError } from '../../src/config/env'

const fakeDns = (table: Record<string, string[]>) => async (host: string): Promise<ResolvedAddress[]> => {
  const list = table[host]
  if (list === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
  return list.map(address => ({ address, family: address.includes(':') ? 6 : 4 }))
}
const dns = fakeDns({
  localhost: ['127.0.0.1', '::1'],
  '169.254.169.254.nip.io': ['169.254.169.254'],
  'hooks.example.com': ['93.184.216.34'],
  'split.example.com': ['93.184.216.34', '10.1.2.3'],
  'v6.example.com': ['2606:4700::1111'],
  'onprem.example.com': ['10.20.30.40']
})
const hostOf = (url: string): string => new URL(url).hostname

describe('address policy', () => {
  const strict = new AddressPolicy({ resolve: dns })

  it.each([
    'http://127.0.0.1:6379/', 'http://[::1]/', 'http://0x7f000001/', 'http://2130706433/', 'http://0177.0.0.1/', 'http://127.1/',
    'http://[::ffff:127.0.0.1]/', 'http://localhost:6379/', 'http://LOCALHOST./', 'http://10.0.0.1/', 'http://192.168.0.1/', 'http://172.31.255.255/',
    'http://100.64.0.1/', 'http://0.0.0.0/', 'http://0/', 'http://[::]/', 'http://[fd00::1]/', 'http://[fc00::1]/', 'http://[fe80::1]/',
    'http://[64:ff9b::10.0.0.1]/', 'http://[64:ff9b::7f00:1]/', 'http://[::127.0.0.1]/', 'http://[2002:7f00:1::]/', 'http://224.0.0.1/',
    'http://[ff02::1]/', 'http://255.255.255.255/', 'http://169.254.169.254/', 'http://[::ffff:a9fe:a9fe]/', 'http://169.254.169.254.nip.io/',
    'http://metadata.google.internal/', 'http://split.example.com/', 'http://nowhere.invalid/', 'http://①②⑦.0.0.1/'
  ])('refuses %s by default', async (url) => {
    await expect(strict.resolve(hostOf(url))).rejects.toThrow(/address|resolve|metadata/)
  })

  it('allows public addresses, v4 and v6, and a public IPv4 in IPv6 clothing', async () => {
    expect(await strict.resolve('hooks.example.com')).toEqual([{ address: '93.184.216.34', family: 4 }])
    expect(await strict.resolve('v6.example.com')).toHaveLength(1)
    for (const ip of ['8.8.8.8', '[::ffff:8.8.8.8]', '[64:ff9b::808:808]', '[2606:4700::1111]']) await expect(strict.resolve(ip)).resolves.toHaveLength(1)
  })

  it('SPOKE_CALLBACK_ALLOW_PRIVATE opens loopback, RFC 1918, CGNAT and unique-local; never link-local, multicast or unspecified', async () => {
    const p = new AddressPolicy({ allowPrivate: true, resolve: dns })
    for (const ok of ['127.0.0.1', '[::1]', '10.0.0.1', '100.64.0.1', '[fd00::1]', '[::ffff:127.0.0.1]', 'localhost', 'onprem.example.com']) await expect(p.resolve(ok)).resolves.toBeDefined()
    for (const no of ['169.254.169.254', '[fe80::1]', '224.0.0.1', '0.0.0.0', '[::]']) await expect(p.resolve(no)).rejects.toThrow()
  })

  it('SPOKE_CALLBACK_ALLOW_LINK_LOCAL keeps its meaning: link-local and metadata names only', async () => {
    const p = new AddressPolicy({ allowLinkLocal: true, resolve: dns })
    await expect(p.resolve('169.254.169.254')).resolves.toBeDefined()
    await expect(p.resolve('[fe80::1]')).resolves.toBeDefined()
    await expect(p.resolve('127.0.0.1')).rejects.toThrow(/loopback/)
  })

  it('a CIDR allowlist opens exactly its ranges (IPv4-mapped forms included)', async () => {
    const p = new AddressPolicy({ allowedCidrs: ['10.20.0.0/16', '127.0.0.1'], resolve: dns })
    for (const ok of ['10.20.30.40', 'onprem.example.com', '127.0.0.1', '[::ffff:127.0.0.1]']) await expect(p.resolve(ok)).resolves.toBeDefined()
    for (const no of ['10.21.0.1', '127.0.0.2', 'localhost']) await expect(p.resolve(no)).rejects.toThrow() // localhost: ::1 is not listed
  })

  it('classifies and validates', () => {
    expect(['8.8.8.8', '127.0.0.1', '10.1.1.1', '100.127.255.255', '169.254.0.1', '224.1.1.1', '0.0.0.0', '::ffff:7f00:1'].map(addressKind))
      .toEqual(['public', 'loopback', 'private', 'cgnat', 'link-local', 'multicast', 'unspecified', 'loopback'])
    expect([cidrProblem('10.0.0.0/8'), cidrProblem('fd00::/8'), cidrProblem('1.2.3.4')]).toEqual([undefined, undefined, undefined])
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com/8', '10.0.0/8', '10.0.0.0/8/1', '10.0.0.0/x']) expect(cidrProblem(bad)).toEqual(expect.any(String))
    expect(() => loadConfig({ SPOKE_CALLBACK_ALLOWED_CIDRS: '10.0.0.0/8, nope' })).toThrow(ConfigError)
    expect(loadConfig({ SPOKE_CALLBACK_ALLOWED_CIDRS: '10.0.0.0/8, fd00::/8', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' })).toMatchObject({ callbackAllowedCidrs: ['10.0.0.0/8', 'fd00::/8'], callbackAllowPrivate: true })
    expect(loadConfig({})).toMatchObject({ callbackAllowedCidrs: [], callbackAllowPrivate: false, callbackAllowLinkLocal: false })
  })
})

describe('canonical JSON', () => {
  // The recursive original: fingerprints already stored in Redis must not change.
  function recursive (value: unknown): string {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
    if (Array.isArray(value)) return '[' + value.map(v => v === undefined ? 'null' : recursive(v)).join(',') + ']'
    const obj = value as Record<string, unknown>
    return '{' + Object.keys(obj).sort().filter(k => obj[k] !== undefined).map(k => JSON.stringify(k) + ':' + recursive(obj[k])).join(',') + '}'
  }
  it('is the same string as before, for any value', () => {
    fc.assert(fc.property(fc.anything({ maxDepth: 5, withNullPrototype: true }), (v) => canonicalJson(v) === recursive(v)), { numRuns: 500 })
    expect(canonicalJson({ b: [1, undefined, { d: 1, c: 'x' }], a: undefined, '': null })).toBe('{"":null,"b":[1,null,{"c":"x","d":1}]}')
  })
  it('handles any depth', () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = i % 2 === 0 ? [deep] : { k: deep }
    const text = canonicalJson(deep)
    expect(text.startsWith('{"k":[{"k":[')).toBe(true)
    expect(text).toHaveLength(50_000 * 2 + 50_000 * 6 + 1) // [] per array, {"k":} per object, the 1
  })
})

describe('JSON depth limit', () => {
  it('counts nesting without recursion', () => {
    expect(deeperThan({ a: [{ b: 1 }] }, 3)).toBe(false)
    expect(deeperThan({ a: [{ b: {} }] }, 3)).toBe(true)
    expect(deeperThan(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)), 64)).toBe(true)
    expect(deeperThan('x', 0)).toBe(false)
  })
})

describe('sign-in destination and throttle bucket', () => {
  it('keeps same-origin paths only', () => {
    expect(safeNext('/admin/queues?x=1#y')).toBe('/admin/queues?x=1#y')
    for (const bad of ['/\t/evil.example', '//evil.example', '/\\evil', '/.//evil.example', 'https://evil.example', '', undefined, 42, '/a\r\nSet-Cookie: x=1']) expect(safeNext(bad)).toBe('/admin')
  })
  it('buckets IPv6 clients per /64 and mapped IPv4 as IPv4', () => {
    expect(clientBucket('203.0.113.9')).toBe('203.0.113.9')
    expect(clientBucket('::ffff:203.0.113.9')).toBe('203.0.113.9')
    expect(clientBucket('2001:db8:1:2:3:4:5:6')).toBe(clientBucket('2001:db8:1:2::9'))
  })
})
