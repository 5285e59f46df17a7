// Job callbacks against a local HTTP receiver: the final job JSON, signed with SPOKE_CALLBACK_SECRET,
// retried with backoff until delivered; a receiver that keeps failing shows on the job; refused URLs.
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { submit, submitJob, waitForJob } from '../helpers/jobs'
import { callbackDeliveryId, JOB_SCHEMA_VERSION, newJobId, type RunActionJobData } from '../../src/jobs/queues'

const SECRET = 'callback-secret-for-tests-0123456789'
let sim: Simulator
let t: TestSpoke
let server: Server
let base: string
const received: Array<{ path: string, body: string, signature: string }> = []
/** Answers per path: how many 500s before a 200 (Infinity: never). */
const failFirst: Record<string, number> = {}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      const path = req.url ?? '/'
      received.push({ path, body, signature: String(req.headers['x-spoke-signature']) })
      const left = failFirst[path] ?? 0
      failFirst[path] = left - 1
      res.statusCode = left > 0 ? 500 : 200
      res.end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  sim = await startSimulator({ seed: 'jobs-callbacks', size: 10 })
  // The receiver is on loopback, which the default policy refuses: this spoke allows exactly that address.
  t = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_CALLBACK_SECRET: SECRET, SPOKE_CALLBACK_ALLOWED_CIDRS: '127.0.0.1/32' }, { workers: { callbackAttempts: 3, callbackBackoffMs: 100 } })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
  await new Promise(resolve => server.close(resolve))
})

it('POSTs the final job JSON, signed, and retries until the receiver accepts it', async () => {
  failFirst['/ok'] = 2
  const id = await submitJob(t, 'confluence.user.current', { input: {}, callbackUrl: `${base}/ok` })
  const job = await waitForJob(t, id, j => j.callback?.state === 'delivered')
  expect(job.callback).toMatchObject({ state: 'delivered', attempts: 3 })
  const calls = received.filter(r => r.path === '/ok')
  expect(calls).toHaveLength(3)
  for (const call of calls) {
    expect(call.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(call.body).digest('hex')}`)
    expect(JSON.parse(call.body)).toMatchObject({ id, state: 'completed', action: 'confluence.user.current', result: { accountId: sim.serviceAccountId } })
  }
})

it('calls back for a failed job too, and shows a receiver that keeps failing on the job', async () => {
  failFirst['/down'] = Infinity
  const id = await submitJob(t, 'confluence.page.get', { input: { pageId: '987654321' }, callbackUrl: `${base}/down` })
  const job = await waitForJob(t, id, j => j.callback?.state === 'failed')
  expect(job.state).toBe('failed')
  expect(job.callback).toMatchObject({ state: 'failed', attempts: 3, lastError: expect.stringContaining('500') })
  const calls = received.filter(r => r.path === '/down')
  expect(calls).toHaveLength(3)
  expect(JSON.parse(calls[0].body)).toMatchObject({ id, state: 'failed', error: { code: 'UPSTREAM_NOT_FOUND' } })
})

it('refuses callback URLs that are not http(s), and those pointing inside (other loopback, private, link-local, metadata)', async () => {
  const cases: Array<[string, string]> = [
    ['ftp://example.com/x', 'REQUEST_INVALID'], ['http://user:pw@example.com/x', 'REQUEST_INVALID'],
    ['http://169.254.169.254/latest/meta-data', 'CALLBACK_URL_FORBIDDEN'], ['http://[fe80::1]/x', 'CALLBACK_URL_FORBIDDEN'],
    ['http://metadata.google.internal/x', 'CALLBACK_URL_FORBIDDEN'], ['http://127.0.0.2/x', 'CALLBACK_URL_FORBIDDEN'], ['http://10.0.0.1/x', 'CALLBACK_URL_FORBIDDEN']
  ]
  for (const [url, code] of cases) {
    const res = await submit(t, 'confluence.user.current', { input: {}, callbackUrl: url })
    expect([res.status, res.json().code, url]).toEqual([400, code, url])
  }
})

it('a delivery queued before its job has ended (as the worker does) waits for the end and goes out once', async () => {
  const id = newJobId()
  const data: RunActionJobData = { schemaVersion: JOB_SCHEMA_VERSION, actionId: 'confluence.user.current', actionVersion: '1.0.0', connection: 'confluence_cloud', input: {}, requestId: 'callbacks-test', callbackUrl: `${base}/early` }
  const job = await t.core.jobs.queue.add(data.actionId, data, { jobId: id, delay: 60_000 })
  // What a worker queues just before marking a job finished, if it then died before doing so.
  await t.core.jobs.callbackQueue.add('deliver', { jobId: id, url: data.callbackUrl as string }, { jobId: callbackDeliveryId(job), attempts: 3 })
  await new Promise(resolve => setTimeout(resolve, 700))
  expect(received.filter(r => r.path === '/early')).toHaveLength(0)

  await job.promote()
  const done = await waitForJob(t, id, j => j.callback?.state === 'delivered')
  expect(done).toMatchObject({ state: 'completed', callback: { state: 'delivered', attempts: 1 } })
  await new Promise(resolve => setTimeout(resolve, 300))
  const calls = received.filter(r => r.path === '/early')
  // The worker's own queuing found the delivery already there: one POST.
  expect(calls).toHaveLength(1)
  expect(JSON.parse(calls[0].body)).toMatchObject({ id, state: 'completed' })
})

it('a job retried through the API calls back again when the new run ends', async () => {
  const id = await submitJob(t, 'confluence.page.get', { input: { pageId: '987654322' }, callbackUrl: `${base}/again` })
  await waitForJob(t, id, j => j.callback?.state === 'delivered')
  const retry = await http(t, 'POST', `/v1/jobs/${id}/retry`, { key: t.keys.admin })
  expect(retry.status).toBe(200)
  expect(retry.json().callback).toBeUndefined()
  await waitForJob(t, id, j => j.state === 'failed' && j.callback?.state === 'delivered')
  const calls = received.filter(r => r.path === '/again')
  expect(calls).toHaveLength(2)
  expect(calls.map(c => JSON.parse(c.body).state)).toEqual(['failed', 'failed'])
})
