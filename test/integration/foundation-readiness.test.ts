// Readiness follows Redis down and back up without a restart. Redis is reached through a TCP proxy the
// test cuts, so the Redis every other test file shares keeps running.
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { startTcpProxy, redisTarget, type TcpProxy } from '../helpers/tcp-proxy'
import { connectionKeys } from '../../src/connections/keys'

let proxy: TcpProxy
let spoke: TestSpoke
beforeAll(async () => {
  proxy = await startTcpProxy(redisTarget())
  spoke = await buildTestSpoke({ REDIS_URL: proxy.url })
})
afterAll(async () => {
  await proxy.restore().catch(() => {})
  await spoke.close()
  await proxy.close()
})

async function readyz (): Promise<{ status: number, body: any, ms: number }> {
  const t0 = Date.now()
  const res = await spoke.app.inject({ method: 'GET', url: '/readyz' })
  return { status: res.statusCode, body: res.json(), ms: Date.now() - t0 }
}

async function eventually (fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) { if (await fn()) return; await new Promise(r => setTimeout(r, 100)) }
  throw new Error('condition not reached')
}

it('answers 200, then 503 while Redis is unreachable, then 200 again', async () => {
  await eventually(async () => (await readyz()).status === 200)
  expect((await readyz()).body).toMatchObject({ status: 'ready', checks: { redis: 'ok' } })

  await proxy.cut()
  await eventually(async () => (await readyz()).status === 503)
  const down = await readyz()
  expect(down.body).toMatchObject({ status: 'unavailable', checks: { redis: 'failed' } })
  expect(down.ms).toBeLessThan(2_000) // never hangs a load balancer
  // Routes that need Redis answer a retryable 503, never a 500 or a hang.
  for (const [method, url, payload] of [
    ['GET', '/v1/connections', undefined],
    ['POST', '/v1/actions/confluence.user.current/execute', { input: {} }]
  ] as const) {
    const t0 = Date.now()
    const res = await spoke.app.inject({ method, url, payload, headers: { authorization: `Bearer ${spoke.keys.admin}`, 'idempotency-key': 'while-redis-is-down' } })
    expect({ url, status: res.statusCode }).toEqual({ url, status: 503 })
    expect(res.json()).toMatchObject({ code: 'QUEUE_UNAVAILABLE', retryable: true })
    expect(Date.now() - t0).toBeLessThan(2_000)
  }
  // Liveness is about the process, not its dependencies.
  expect((await spoke.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

  await proxy.restore()
  await eventually(async () => (await readyz()).status === 200)
  // Readiness follows the store connection; the spoke's other clients (the alias-change subscriber among
  // them) reconnect on their own backoff, at most 2 s. Wait for them (bounded), so the file's close does not
  // meet one mid-handshake (one CI run failed on an ioredis "Connection is closed." here): the core's
  // connections ready, and the subscriber subscribed again (the shared Redis counts it on the channel).
  const { store, producer } = spoke.core.redis
  const channel = connectionKeys(spoke.config.keyPrefix).channel
  const subscribed = async (): Promise<number> => Number(((await store.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1])
  await eventually(async () => store.status === 'ready' && producer.status === 'ready' && await subscribed() >= 1)
})
