// A process started while Redis is down listens at once (so an orchestrator's liveness probe passes),
// reports itself not ready, answers routes that need Redis with a quick 503, logs the outage once, and
// becomes ready by itself when Redis comes up.
import { randomBytes } from 'node:crypto'
import { freePort, startTsxProcess, type ChildProcessHandle } from '../helpers/child-process'
import { redisTarget, startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy'

let proxy: TcpProxy
let spoke: ChildProcessHandle | undefined
const key = randomBytes(16).toString('hex')

beforeAll(async () => {
  proxy = await startTcpProxy(redisTarget())
  await proxy.cut() // "Redis" is down before the process starts
})
afterAll(async () => {
  await spoke?.kill()
  await proxy.close()
})

async function get (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any, ms: number }> {
  const t0 = Date.now()
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) })
  const text = await res.text()
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text, ms: Date.now() - t0 }
}

it('listens without Redis, answers 503 where Redis is needed, and becomes ready once it returns', async () => {
  const port = await freePort()
  const started = Date.now()
  spoke = await startTsxProcess('src/server.ts', {
    ready: 'spoke started',
    timeoutMs: 20_000,
    env: {
      PORT: String(port),
      REDIS_URL: proxy.url,
      SPOKE_API_KEYS: `admin:${key}`,
      SPOKE_MASTER_KEY: randomBytes(32).toString('base64'),
      SPOKE_DATA_DIR: `/tmp/spoke-noredis-${randomBytes(4).toString('hex')}`,
      SPOKE_KEY_PREFIX: `nr${randomBytes(4).toString('hex')}`
    }
  })
  const startMs = Date.now() - started
  const base = `http://127.0.0.1:${port}`
  const auth = { authorization: `Bearer ${key}` }

  expect((await get(`${base}/healthz`)).status).toBe(200)
  const ready = await get(`${base}/readyz`)
  expect(ready.status).toBe(503)
  expect(ready.body.checks).toMatchObject({ redis: 'failed', connections: 'failed' })

  // A route that needs Redis: a clean, retryable 503 within a second.
  const aliases = await get(`${base}/v1/connections`, auth)
  expect(aliases.status).toBe(503)
  expect(aliases.body).toMatchObject({ code: 'QUEUE_UNAVAILABLE', retryable: true })
  expect(aliases.ms).toBeLessThan(1_000)
  // Routes that do not need Redis keep working.
  expect((await get(`${base}/v1/actions`, auth)).status).toBe(200)

  // Let the clients retry a few times: the outage is logged once, not once per attempt.
  await new Promise(resolve => setTimeout(resolve, 2_500))
  await proxy.restore()
  let readyAfterMs = -1
  const t0 = Date.now()
  for (let i = 0; i < 60; i++) {
    if ((await get(`${base}/readyz`)).status === 200) { readyAfterMs = Date.now() - t0; break }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  expect(readyAfterMs).toBeGreaterThanOrEqual(0)
  // The alias file was applied once Redis answered.
  const after = await get(`${base}/v1/connections`, auth)
  expect(after.status).toBe(200)
  expect(after.body.connections.map((c: { id: string }) => c.id)).toContain('confluence_cloud')

  const lines = spoke.output().split('\n')
  expect(lines.filter(l => l.includes('Redis unreachable'))).toHaveLength(1)
  expect(lines.filter(l => l.includes('Redis reachable again')).length).toBeGreaterThanOrEqual(1)
  expect(lines.filter(l => l.includes('ECONNREFUSED') || l.includes('ECONNRESET')).length).toBeLessThanOrEqual(1)
  console.log(`start-without-redis: listening ${startMs} ms after spawn (tsx included); 503 on a Redis route in ${aliases.ms} ms; ready ${readyAfterMs} ms after Redis returned`)
}, 150_000)
