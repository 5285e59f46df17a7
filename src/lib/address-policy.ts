// Which network addresses the spoke may send a request to on a caller's say-so (job callbacks; later the
// crawl's webhook sink). Fails closed: only public unicast addresses unless the operator allows more.
// A host name is resolved, every address it resolves to must be allowed, and the connection is then made
// to exactly those addresses (pinnedAgent), so a second, different DNS answer cannot slip in (rebinding).
import { lookup as dnsLookup } from 'node:dns/promises'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { Agent } from 'undici'
import { within } from './timeout'

export type AddressKind = 'public' | 'loopback' | 'private' | 'cgnat' | 'link-local' | 'multicast' | 'unspecified' | 'reserved'

export interface ResolvedAddress { address: string, family: 4 | 6 }
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

export interface AddressPolicyOptions {
  /** Loopback, RFC 1918, CGNAT 100.64/10 and IPv6 unique-local (on-premise receivers). */
  allowPrivate?: boolean
  /** 169.254/16 and fe80::/10, where cloud metadata services live. */
  allowLinkLocal?: boolean
  /** Any address inside one of these CIDRs is allowed, whatever its kind. */
  allowedCidrs?: readonly string[]
  /** Default: the system resolver (getaddrinfo), every address. */
  resolve?: Resolver
  resolveTimeoutMs?: number
}

export class AddressRefusedError extends Error {
  /** `unresolved`: the name did not resolve (may pass later), rather than resolving to a refused address. */
  constructor (message: string, readonly unresolved = false) { super(message); this.name = 'AddressRefusedError' }
}

const V4: Array<[AddressKind, string, number]> = [
  ['unspecified', '0.0.0.0', 8], // "this network": 0.0.0.0 reaches the local host on Linux
  ['private', '10.0.0.0', 8],
  ['cgnat', '100.64.0.0', 10],
  ['loopback', '127.0.0.0', 8],
  ['link-local', '169.254.0.0', 16],
  ['private', '172.16.0.0', 12],
  ['reserved', '192.0.0.0', 24],
  ['reserved', '192.0.2.0', 24],
  ['private', '192.168.0.0', 16],
  ['reserved', '198.18.0.0', 15],
  ['reserved', '198.51.100.0', 24],
  ['reserved', '203.0.113.0', 24],
  ['multicast', '224.0.0.0', 4],
  ['reserved', '240.0.0.0', 4] // and 255.255.255.255
]
const V6: Array<[AddressKind, string, number]> = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['reserved', '100::', 64],
  ['reserved', '2001::', 32], // Teredo: an obfuscated IPv4 inside
  ['reserved', '2001:db8::', 32],
  ['private', '64:ff9b:1::', 48], // local-use NAT64
  ['private', 'fc00::', 7],
  ['link-local', 'fe80::', 10],
  ['private', 'fec0::', 10], // deprecated site-local
  ['multicast', 'ff00::', 8]
]

const KIND_LISTS = new Map<AddressKind, BlockList>()
for (const [kind, net, prefix] of [...V4, ...V6]) {
  if (!KIND_LISTS.has(kind)) KIND_LISTS.set(kind, new BlockList())
  KIND_LISTS.get(kind)?.addSubnet(net, prefix, isIP(net) === 6 ? 'ipv6' : 'ipv4')
}

/** The eight 16-bit groups of a valid IPv6 address (zone id dropped, a trailing dotted quad folded in). */
export function ipv6Groups (ip: string): number[] {
  let s = ip.split('%')[0].toLowerCase()
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s)
  if (quad !== null) {
    const [a, b, c, d] = quad.slice(1).map(Number)
    s = s.slice(0, quad.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined]
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.map(g => parseInt(g, 16))
}

/** The IPv4 address an IPv6 address carries and reaches (mapped, NAT64, IPv4-compatible, 6to4), if any. */
export function embeddedIpv4 (ip: string): string | undefined {
  const g = ipv6Groups(ip)
  const quad = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  const zero = (from: number, to: number): boolean => g.slice(from, to).every(x => x === 0)
  if (zero(0, 5) && g[5] === 0xffff) return quad(g[6], g[7]) // ::ffff:0:0/96
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return quad(g[6], g[7]) // 64:ff9b::/96
  if (zero(0, 6) && (g[6] !== 0 || g[7] > 1)) return quad(g[6], g[7]) // ::/96 (deprecated IPv4-compatible)
  if (g[0] === 0x2002) return quad(g[1], g[2]) // 6to4
  return undefined
}

/** What kind of address `ip` is (an IPv6 form of an IPv4 address is judged as that IPv4 address). */
export function addressKind (ip: string): AddressKind {
  const family = isIP(ip)
  if (family === 0) throw new TypeError(`not an IP address: ${ip}`)
  const v4 = family === 6 ? embeddedIpv4(ip) : ip
  if (v4 !== undefined && v4 !== ip) {
    const inner = addressKind(v4)
    if (inner !== 'public') return inner
  }
  for (const [kind, list] of KIND_LISTS) if (list.check(ip, family === 6 ? 'ipv6' : 'ipv4')) return kind
  return 'public'
}

/** Why `text` is not a CIDR (`10.0.0.0/8`, `fd00::/8`, or one address), or undefined. */
export function cidrProblem (text: string): string | undefined {
  const [net, prefix, extra] = text.split('/')
  const family = isIP(net)
  if (family === 0 || extra !== undefined) return `"${text}" is not an IPv4 or IPv6 CIDR`
  if (prefix === undefined) return undefined
  const max = family === 4 ? 32 : 128
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `"${text}" has a prefix length outside 0..${max}`
  return undefined
}

const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal'])

export class AddressPolicy {
  private readonly allowed = new BlockList()
  private readonly hasAllowList: boolean
  private readonly resolver: Resolver

  constructor (private readonly opts: AddressPolicyOptions = {}) {
    for (const cidr of opts.allowedCidrs ?? []) {
      const problem = cidrProblem(cidr)
      if (problem !== undefined) throw new TypeError(problem)
      const [net, prefix] = cidr.split('/')
      const type = isIP(net) === 6 ? 'ipv6' : 'ipv4'
      this.allowed.addSubnet(net, prefix === undefined ? (type === 'ipv6' ? 128 : 32) : Number(prefix), type)
    }
    this.hasAllowList = (opts.allowedCidrs ?? []).length > 0
    const timeoutMs = opts.resolveTimeoutMs ?? 3_000
    this.resolver = opts.resolve ?? (async (host) => await withTimeout(dnsLookup(host, { all: true, verbatim: true }) as Promise<ResolvedAddress[]>, timeoutMs, host))
  }

  /** Why `ip` may not be reached, or undefined when it may. */
  refusal (ip: string): string | undefined {
    if (this.hasAllowList && this.inAllowList(ip)) return undefined
    const kind = addressKind(ip)
    if (kind === 'public') return undefined
    if ((kind === 'loopback' || kind === 'private' || kind === 'cgnat') && this.opts.allowPrivate === true) return undefined
    if (kind === 'link-local' && this.opts.allowLinkLocal === true) return undefined
    return `${ip} is a ${kind} address`
  }

  /**
   * Every address `hostname` (a URL's hostname: a name, an IPv4 address or a bracketed IPv6 address) resolves
   * to, each one allowed; otherwise AddressRefusedError saying why. Connect only to what this returns.
   */
  async resolve (hostname: string): Promise<ResolvedAddress[]> {
    const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
    let addresses: ResolvedAddress[]
    if (isIP(host) !== 0) {
      addresses = [{ address: host, family: isIP(host) as 4 | 6 }]
    } else {
      if (METADATA_HOSTS.has(host.replace(/\.$/, '')) && this.opts.allowLinkLocal !== true) throw new AddressRefusedError(`${host} is a cloud metadata host`)
      try {
        addresses = await this.resolver(host)
      } catch (err) {
        throw new AddressRefusedError(`${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, true)
      }
      if (addresses.length === 0) throw new AddressRefusedError(`${host} does not resolve`, true)
    }
    for (const a of addresses) {
      const why = this.refusal(a.address)
      if (why !== undefined) throw new AddressRefusedError(addresses.length === 1 && a.address === host ? why : `${host} resolves to ${why}`)
    }
    return addresses
  }

  private inAllowList (ip: string): boolean {
    const family = isIP(ip)
    if (this.allowed.check(ip, family === 6 ? 'ipv6' : 'ipv4')) return true
    const v4 = family === 6 ? embeddedIpv4(ip) : undefined
    return v4 !== undefined && this.allowed.check(v4, 'ipv4')
  }
}

/** An undici dispatcher whose connections go only to `addresses` (checked by AddressPolicy.resolve). */
export function pinnedAgent (addresses: readonly ResolvedAddress[]): Agent {
  const lookup = ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void): void => {
    if (options.all === true) cb(null, addresses.map(a => ({ address: a.address, family: a.family })))
    else cb(null, addresses[0].address, addresses[0].family)
  }) as unknown as LookupFunction
  return new Agent({ connect: { lookup }, connections: 1, pipelining: 0 })
}

async function withTimeout<T> (p: Promise<T>, ms: number, host: string): Promise<T> {
  return await within(p, ms, () => new Error(`no DNS answer for ${host} within ${ms} ms`))
}
