// The production preflight's checks, one by one, and the start's decision (refuse / warn / sandbox).
// Redis settings and the clock sample are plain values here; test/integration/preflight-*.test.ts read
// them from real Redis servers and a real HTTP Date header.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/env'
import { resolveSecrets } from '../../src/lib/secrets'
import { assessClock, assessRedis, checkCallbackSecret, checkPublicUrl, checkSecrets, isLoopbackHost, placeholderKeyRoles, type Finding } from '../../src/preflight/checks'
import { Preflight, preflightAtStart } from '../../src/preflight/preflight'

const level = (f: Finding | undefined): string | undefined => f?.level

describe('SPOKE_PUBLIC_URL', () => {
  it.each([
    ['https://spoke.example.com', 'ok'],
    ['http://localhost:3000', 'ok'],
    ['http://127.0.0.1:3000', 'ok'],
    ['http://127.8.9.1', 'ok'],
    ['http://[::1]:3000', 'ok'],
    ['http://spoke.localhost', 'ok'],
    ['http://spoke.example.com', 'refuse'],
    ['http://10.0.0.5:3000', 'refuse'],
    ['http://0.0.0.0:3000', 'refuse']
  ])('%s → %s', (url, want) => {
    expect(level(checkPublicUrl(url))).toBe(want)
  })

  it('says why and what to do', () => {
    const f = checkPublicUrl('http://spoke.example.com')
    expect(f.message).toContain('http://spoke.example.com/v1/oauth/callback')
    expect(f.message).toContain('https://')
  })

  it('knows loopback names', () => {
    expect(isLoopbackHost('LOCALHOST')).toBe(true)
    expect(isLoopbackHost('localhost.example.com')).toBe(false)
  })
})

describe('secrets', () => {
  it('warns about a generated master key and generated API keys, naming the files', () => {
    const [master, keys] = checkSecrets({ masterKey: false, apiKeys: false }, '/var/lib/spoke')
    expect(master).toMatchObject({ check: 'masterKey', level: 'warn' })
    expect(master.message).toContain('/var/lib/spoke/master.key')
    expect(keys).toMatchObject({ check: 'apiKeys', level: 'warn' })
    expect(keys.message).toContain('/var/lib/spoke/api-keys.json')
    expect(checkSecrets({ masterKey: true, apiKeys: true }, '.data').map(level)).toEqual(['ok', 'ok'])
  })

  it('refuses the placeholder API key of .env.example (and keys like it), naming the role', async () => {
    const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8')
    const given = /^SPOKE_API_KEYS=(.*)$/m.exec(example)?.[1] ?? ''
    expect(given).not.toBe('')
    // The example's value is well formed (loadConfig accepts it): only the preflight stands in its way.
    const config = loadConfig({ SPOKE_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), SPOKE_API_KEYS: given })
    // As a start runs it: the plain keys are hashed and dropped (resolveSecrets) before the preflight runs.
    resolveSecrets(config, { warn: () => {} }, () => {})
    expect(config.apiKeys).toBeUndefined()
    const preflight = new Preflight({ config, redis: { call: async () => { throw new Error('not used') } }, readRedis: async () => ({ appendonly: 'yes', save: '', maxmemoryPolicy: 'noeviction' }), sampleClock: async () => new Error('offline') })
    const keys = (await preflight.run()).findings.find(f => f.check === 'apiKeys')
    expect(keys).toMatchObject({ check: 'apiKeys', level: 'refuse' })
    expect(keys?.message).toContain('role admin')
    expect((await preflightAtStart(preflight, { warn: () => {}, error: () => {}, info: () => {} })).map(f => f.check)).toEqual(['apiKeys'])
    expect(placeholderKeyRoles([{ role: 'invoker', key: 'CHANGEME-0123456789' }, { role: 'viewer', key: 'a'.repeat(32) }])).toEqual(['invoker'])
    expect(placeholderKeyRoles([{ role: 'admin', key: 'Zq3Lr0b-9xYt_8WkPv2sJm4nHc6dFa1e' }])).toEqual([])
  })

  it('loadConfig records whether they were given (resolveSecrets fills them in later)', () => {
    expect(loadConfig({}).secretsGiven).toEqual({ masterKey: false, apiKeys: false })
    expect(loadConfig({ SPOKE_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), SPOKE_API_KEYS: 'admin:0123456789abcdef' }).secretsGiven).toEqual({ masterKey: true, apiKeys: true })
  })

  it('warns without a callback secret, saying callbacks and webhook sinks are refused', () => {
    const f = checkCallbackSecret(undefined)
    expect(f.level).toBe('warn')
    expect(f.message).toMatch(/callbacks.*webhook sinks.*refused/)
    expect(level(checkCallbackSecret('s3cret'))).toBe('ok')
  })
})

describe('Redis settings', () => {
  const byCheck = (fs: Finding[]): Record<string, string> => Object.fromEntries(fs.map(f => [f.check, f.level]))

  it('AOF and noeviction pass', () => {
    expect(byCheck(assessRedis({ appendonly: 'yes', save: '', maxmemoryPolicy: 'noeviction' }))).toEqual({ redisPersistence: 'ok', redisEviction: 'ok' })
  })

  it('snapshots only, or nothing persisted: a warning each, saying what a restart loses', () => {
    const rdb = assessRedis({ appendonly: 'no', save: '3600 1 300 100', maxmemoryPolicy: 'noeviction' })
    expect(rdb[0]).toMatchObject({ level: 'warn' })
    expect(rdb[0].message).toContain('snapshots only')
    const none = assessRedis({ appendonly: 'no', save: '', maxmemoryPolicy: 'noeviction' })
    expect(none[0]).toMatchObject({ level: 'warn' })
    expect(none[0].message).toContain('no persistence')
  })

  it.each(['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl'])('maxmemory-policy %s is a refusal', (policy) => {
    const f = assessRedis({ appendonly: 'yes', save: '', maxmemoryPolicy: policy })[1]
    expect(f).toMatchObject({ check: 'redisEviction', level: 'refuse', runtime: true })
    expect(f.message).toContain(policy)
    expect(f.message).toContain('noeviction')
  })

  it('CONFIG refused (managed Redis): "could not check", never a refusal', () => {
    const fs = assessRedis(new Error("ERR unknown command 'CONFIG'"))
    expect(fs.map(level)).toEqual(['unknown', 'unknown'])
    for (const f of fs) expect(f.message).toContain('could not check')
  })
})

describe('clock', () => {
  const at = Date.parse('2026-03-01T12:00:00Z')
  const sample = (offsetMs: number): { date: string, sentAt: number, receivedAt: number } =>
    ({ date: new Date(at).toUTCString(), sentAt: at + offsetMs, receivedAt: at + offsetMs + 200 })

  it('within 30 s: ok; beyond: a warning saying ahead or behind', () => {
    expect(assessClock('https://auth.atlassian.com', sample(5_000)).level).toBe('ok')
    const ahead = assessClock('https://auth.atlassian.com', sample(120_000))
    expect(ahead).toMatchObject({ check: 'clock', level: 'warn' })
    expect(ahead.message).toMatch(/12\d s ahead of https:\/\/auth\.atlassian\.com/)
    expect(assessClock('https://auth.atlassian.com', sample(-400_000)).message).toMatch(/40\d s behind/)
  })

  it('skipped when the endpoint does not answer or sends no Date', () => {
    expect(assessClock('https://auth.atlassian.com', new Error('getaddrinfo ENOTFOUND')).level).toBe('skipped')
    expect(assessClock('https://auth.atlassian.com', { sentAt: at, receivedAt: at }).level).toBe('skipped')
  })
})

describe('the start', () => {
  const lines: Array<[string, string]> = []
  const log = {
    warn: (_o: unknown, m: string) => { lines.push(['warn', m]) },
    error: (_o: unknown, m: string) => { lines.push(['error', m]) },
    info: (_o: unknown, m: string) => { lines.push(['info', m]) }
  }
  const unsafe = (mode?: string): Preflight => {
    const config = loadConfig({ SPOKE_PUBLIC_URL: 'http://spoke.example.com', ...(mode ? { SPOKE_PREFLIGHT: mode } : {}) })
    return new Preflight({
      config,
      redis: { call: async () => { throw new Error('not used') } },
      readRedis: async () => ({ appendonly: 'no', save: '', maxmemoryPolicy: 'allkeys-lru' }),
      sampleClock: async () => new Error('offline')
    })
  }
  beforeEach(() => { lines.length = 0 })

  it('enforce (default): answers the refusals, logs them as errors and the rest as warnings', async () => {
    const refusals = await preflightAtStart(unsafe(), log)
    expect(refusals.map(f => f.check).sort()).toEqual(['publicUrl', 'redisEviction'])
    expect(lines.filter(([l]) => l === 'error')).toHaveLength(2)
    expect(lines.some(([l, m]) => l === 'warn' && m.includes('SPOKE_MASTER_KEY is not set'))).toBe(true)
    expect(lines.some(([l, m]) => l === 'info' && m.includes('clock not compared'))).toBe(true)
  })

  it('SPOKE_PREFLIGHT=warn: starts anyway, logging the refusals', async () => {
    expect(await preflightAtStart(unsafe('warn'), log)).toEqual([])
    expect(lines.filter(([l, m]) => l === 'error' && m.includes('starting anyway'))).toHaveLength(2)
  })

  it('rejects an unknown SPOKE_PREFLIGHT value', () => {
    expect(() => loadConfig({ SPOKE_PREFLIGHT: 'off' })).toThrow(/SPOKE_PREFLIGHT/)
  })

  it('the sandbox: nothing logged, nothing refused; the report still says what it found', async () => {
    const p = unsafe()
    ;(p as unknown as { deps: { config: { preflight: string } } }).deps.config.preflight = 'sandbox'
    expect(await preflightAtStart(p, log)).toEqual([])
    expect(lines).toEqual([])
    const report = await p.current()
    expect(report).toMatchObject({ mode: 'sandbox', outcome: 'refused' })
    expect(p.runtimeRefusals(report)).toEqual([])
  })

  it('runtime refusals are the Redis ones only, and only when enforced', async () => {
    const p = unsafe()
    const report = await p.current()
    expect(p.runtimeRefusals(report).map(f => f.check)).toEqual(['redisEviction'])
    expect(report.findings.find(f => f.check === 'clock')?.message).toContain('only at a production start')
  })
})
