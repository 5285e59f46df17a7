// The production preflight against real things: Redis servers of its own (no persistence with an evicting
// policy; CONFIG disabled as on managed Redis), a token endpoint whose Date is 10 minutes off, and the real
// entry point as a child process: a refusal exits non-zero naming the problem, warnings are logged and the
// start goes on, SPOKE_PREFLIGHT=warn starts anyway. /readyz carries the report and answers 503 when the
// spoke's Redis may evict keys.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { Redis } from 'ioredis'
import { freePort, spawnTsx, startTsxProcess } from '../helpers/child-process'
import { buildTestSpoke } from '../helpers/spoke'
import { assessRedis, readRedisSettings } from '../../src/preflight/checks'

const redisServers: ChildProcess[] = []
const clients: Redis[] = []
let skewed: Server
let skewedUrl: string

/** A redis-server of this test only (the shared one must keep its settings). */
async function startRedis (args: string[]): Promise<string> {
  const port = await freePort()
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' })
  redisServers.push(proc)
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; i < 50; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    const up = await probe.connect().then(async () => (await probe.ping()) === 'PONG', () => false)
    probe.disconnect()
    if (up) return url
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error('redis-server did not start')
}

function client (url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1 })
  clients.push(c)
  return c
}

beforeAll(async () => {
  // A "token endpoint" whose clock is 10 minutes behind this machine's.
  skewed = createServer((_req, res) => { res.sendDate = false; res.writeHead(200, { date: new Date(Date.now() - 600_000).toUTCString() }); res.end() })
  await new Promise<void>(resolve => skewed.listen(0, '127.0.0.1', resolve))
  skewedUrl = `http://127.0.0.1:${(skewed.address() as { port: number }).port}`
})
afterAll(async () => {
  for (const c of clients) c.disconnect()
  for (const p of redisServers) p.kill('SIGKILL')
  await new Promise(resolve => skewed.close(resolve))
})

it('reads Redis persistence and eviction from CONFIG GET; where CONFIG is disabled, says it could not check', async () => {
  const lru = await startRedis(['--maxmemory-policy', 'allkeys-lru'])
  const found = assessRedis(await readRedisSettings(client(lru)))
  expect(found.map(f => [f.check, f.level])).toEqual([['redisPersistence', 'warn'], ['redisEviction', 'refuse']])
  expect(found[1].message).toContain('allkeys-lru')

  const managed = await startRedis(['--rename-command', 'CONFIG', '""'])
  const unknown = assessRedis(await readRedisSettings(client(managed)))
  expect(unknown.map(f => f.level)).toEqual(['unknown', 'unknown'])
  expect(unknown[0].message).toContain('could not check')

  const shared = assessRedis(await readRedisSettings(client(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')))
  expect(shared[1].level).toBe('ok') // the test Redis: noeviction (and no persistence: a warning)
})

it('/readyz carries the report, and answers 503 while the spoke\'s Redis may evict keys', async () => {
  const lru = await startRedis(['--maxmemory-policy', 'volatile-lru'])
  const t = await buildTestSpoke({ REDIS_URL: lru, LOG_LEVEL: 'silent' })
  try {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(503)
    const body = res.json()
    expect(body.checks.preflight).toBe('failed')
    expect(body.preflight).toMatchObject({ mode: 'enforce', outcome: 'refused' })
    expect(body.preflight.findings.find((f: any) => f.check === 'redisEviction')).toMatchObject({ level: 'refuse' })
  } finally { await t.close() }

  // The shared test Redis (noeviction): ready, with the persistence warning as detail.
  const ok = await buildTestSpoke({ LOG_LEVEL: 'silent' })
  try {
    const res = await ok.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json().checks.preflight).toBeUndefined()
    expect(res.json().preflight.findings.find((f: any) => f.check === 'redisPersistence').level).toBe('warn')
  } finally { await ok.close() }
})

function spokeEnv (extra: Record<string, string>): Record<string, string> {
  return {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    SPOKE_KEY_PREFIX: `pf${randomBytes(4).toString('hex')}`,
    SPOKE_DATA_DIR: `/tmp/spoke-preflight-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'info',
    ...extra
  }
}

it('the real process refuses an http:// public URL outside loopback: non-zero exit naming the problem', async () => {
  const proc = spawnTsx('src/server.ts', { PATH: process.env.PATH, ...spokeEnv({ PORT: String(await freePort()), SPOKE_PUBLIC_URL: 'http://spoke.example.com' }) })
  let stderr = ''
  proc.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  proc.stdout?.resume()
  const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
  expect(code).toBe(78)
  expect(stderr).toContain('Refusing to start (production preflight; SPOKE_PREFLIGHT=warn starts anyway)')
  expect(stderr).toContain('publicUrl: SPOKE_PUBLIC_URL is http://spoke.example.com, plain http outside loopback')
}, 150_000)

it('the real process starts with warnings logged (generated secrets, no callback secret, Redis without persistence, clock off)', async () => {
  const port = await freePort()
  const p = await startTsxProcess('src/server.ts', {
    env: spokeEnv({ PORT: String(port), ATLASSIAN_AUTH_URL: skewedUrl }),
    ready: 'spoke started',
    timeoutMs: 30_000
  })
  try {
    const out = p.output()
    for (const expected of ['SPOKE_MASTER_KEY is not set', 'SPOKE_API_KEYS is not set', 'SPOKE_CALLBACK_SECRET is not set', 'Redis has no persistence', 's ahead of http://127.0.0.1']) {
      expect(out).toContain(expected)
    }
    const lines = out.split('\n').filter(l => l.includes('"preflight"')).map(l => JSON.parse(l))
    expect(lines.every(l => l.level === 40)).toBe(true) // pino: 40 = warn
    const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json() as any
    expect(ready.preflight.findings.find((f: any) => f.check === 'clock').level).toBe('warn')
  } finally { await p.kill() }
}, 150_000)

it('SPOKE_PREFLIGHT=warn starts anyway, logging the refusal as an error', async () => {
  const p = await startTsxProcess('src/server.ts', {
    env: spokeEnv({ PORT: String(await freePort()), SPOKE_PUBLIC_URL: 'http://spoke.example.com', SPOKE_PREFLIGHT: 'warn' }),
    ready: 'spoke started',
    timeoutMs: 30_000
  })
  try {
    expect(p.output()).toContain('SPOKE_PREFLIGHT=warn, starting anyway')
  } finally { await p.kill() }
}, 150_000)
