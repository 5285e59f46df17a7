// Redis away for one spoke (a TCP proxy we cut; the shared Redis keeps running): the api answers
// 503 QUEUE_UNAVAILABLE within a second instead of hanging, and the workers carry on when Redis returns.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { startTcpProxy, redisTarget, type TcpProxy } from '../helpers/tcp-proxy'
import { submit, submitJob, waitForJob } from '../helpers/jobs'

let sim: Simulator
let proxy: TcpProxy
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-redis-down', size: 10 })
  proxy = await startTcpProxy(redisTarget())
  t = await buildTestSpoke({ ...simulatorEnv(sim), REDIS_URL: proxy.url }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
})
afterAll(async () => {
  await proxy.restore()
  await t?.close()
  await proxy?.close()
  await sim?.close()
})

it('answers 503 QUEUE_UNAVAILABLE within a second while Redis is unreachable, and works again after', async () => {
  const before = await submitJob(t, 'confluence.user.current', { input: {} })
  await waitForJob(t, before)

  await proxy.cut()
  for (const call of [
    () => submit(t, 'confluence.user.current', { input: {} }),
    () => http(t, 'GET', `/v1/jobs/${before}`, { key: t.keys.viewer }),
    () => http(t, 'GET', '/v1/jobs', { key: t.keys.viewer }),
    () => http(t, 'POST', `/v1/jobs/${before}/retry`, { key: t.keys.admin })
  ]) {
    const started = Date.now()
    const res = await call()
    expect(Date.now() - started).toBeLessThan(1_000)
    expect([res.status, res.json().code]).toEqual([503, 'QUEUE_UNAVAILABLE'])
    expect(res.json().retryable).toBe(true)
  }

  await proxy.restore()
  const deadline = Date.now() + 15_000
  let res = await submit(t, 'confluence.user.current', { input: {} })
  while (res.status !== 202 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 200))
    res = await submit(t, 'confluence.user.current', { input: {} })
  }
  expect(res.status).toBe(202)
  const job = await waitForJob(t, res.json().jobId)
  expect(job.state).toBe('completed')
})
