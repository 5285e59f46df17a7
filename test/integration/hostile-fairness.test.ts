// Issue #24, item 3: one invoker could stop every worker. A crawl's webhook sink.url was not checked when
// the job was accepted, a delivery the address policy refused was retried for as long as the job ran (each
// such crawl held a worker slot: SPOKE_WORKER_CONCURRENCY of them held every slot), a receiver that stayed
// down held its slot forever, and one key could queue any number of jobs. Each case below failed before.
//   A: an api that accepts loopback receivers and a worker (2 slots) whose policy refuses them (the operator
//      tightened it, or DNS moved): the refusals fail at once, the pool stays free;
//   B: one worker slot, a receiver that accepts two batches then answers 503: the crawl waits delayed (slot
//      free), fails SINK_UNAVAILABLE after SPOKE_WEBHOOK_GIVE_UP_SECONDS with its checkpoint, and a retry resumes;
//   C: SPOKE_MAX_JOBS_PER_KEY=3 and no worker yet: a burst from one key gets 3 × 202 and 429 TOO_MANY_JOBS.
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke, type TestSpokeOptions } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { getJob, submit, submitJob, waitForJob } from '../helpers/jobs'
import { startWorkers } from '../../src/worker'

const SECRET = 'hostile-fairness-secret-0123456789'
let sim: Simulator
let server: Server
let receiver: string
const spokes: TestSpoke[] = []
/** Batches the receiver accepted, by sequence; how many more it accepts before it answers 503 (Infinity: up). */
const accepted = new Map<number, Array<{ recordId: string, kind: string }>>()
let acceptMore = Number.POSITIVE_INFINITY
let refusedPosts = 0

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (!req.url?.startsWith('/crawl')) { res.writeHead(204).end(); return }
      if (acceptMore <= 0) { refusedPosts++; res.writeHead(503).end(); return }
      acceptMore--
      const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sequence: number, records: Array<{ recordId: string, kind: string }> }
      accepted.set(batch.sequence, batch.records)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  sim = await startSimulator({ seed: 'hostile-fairness', size: { pages: 30, spaces: 3, users: 10, groups: 2 } })
}, 30_000)
afterAll(async () => {
  for (const s of spokes.reverse()) await s.close()
  await sim?.close()
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
})

async function spoke (env: Record<string, string>, workers?: TestSpokeOptions['workers']): Promise<TestSpoke> {
  const s = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_CALLBACK_SECRET: SECRET, ...env }, workers === undefined ? {} : { workers })
  spokes.push(s)
  return s
}
const shared = (): Record<string, string> => ({ SPOKE_KEY_PREFIX: `t${randomBytes(5).toString('hex')}`, SPOKE_MASTER_KEY: randomBytes(32).toString('base64') })

describe('A: sinks the address policy refuses', () => {
  let lax: TestSpoke
  let strict: TestSpoke
  beforeAll(async () => {
    const group = shared()
    lax = await spoke({ ...group, LOG_LEVEL: 'warn', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' })
    await connectSimulatorAlias(lax, sim, { grant: 'client_credentials' })
    strict = await spoke({ ...group, LOG_LEVEL: 'warn', SPOKE_WORKER_CONCURRENCY: '2' }, { concurrency: 2, callbackAttempts: 6, callbackBackoffMs: 200 })
  }, 30_000)

  it('a refused sink.url is 400 CALLBACK_URL_FORBIDDEN at acceptance, exactly like a callbackUrl', async () => {
    const res = await submit(strict, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'webhook', url: `${receiver}/crawl` } } })
    expect([res.status, res.json().code]).toEqual([400, 'CALLBACK_URL_FORBIDDEN'])
    expect(res.json().errors[0]).toMatchObject({ in: 'body', path: '/input/sink/url' })
    expect(res.json().detail).toMatch(/sink\.url may not be called: .*loopback/)
    const cb = await submit(strict, 'confluence.user.current', { input: {}, callbackUrl: `${receiver}/cb` })
    expect([cb.status, cb.json().code]).toEqual([400, 'CALLBACK_URL_FORBIDDEN'])
    const malformed = await submit(strict, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'webhook', url: 'ftp://indexer.example/x' } } })
    expect([malformed.status, malformed.json().code]).toEqual([400, 'REQUEST_INVALID'])
  })

  it('refused at delivery: the crawls fail at once (no retry) and every worker slot stays free', async () => {
    // as many refused crawls as the worker has slots, queued through the api that still allowed them
    const crawls = [await submitJob(lax, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'webhook', url: `${receiver}/crawl` } } }),
      await submitJob(lax, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'webhook', url: `${receiver}/crawl` } } })]
    const withCallback = await submitJob(lax, 'confluence.user.current', { input: {}, callbackUrl: `${receiver}/cb?token=t` })
    const probe = await submitJob(lax, 'confluence.user.current', { input: {} })
    // worker slots held by crawls (refused sinks) while the probe waits for one: the last sample, once the
    // probe ran and no crawl is active, or after 15 s
    let held = 0
    let probeState = 'waiting'
    for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
      held = (await lax.core.jobs.queue.getActive()).filter((j) => j.name === 'confluence.content.crawl').length
      probeState = (await getJob(lax, probe)).state
      if (probeState === 'completed' && held === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    console.log(`worker slots held by refused sinks while a probe job waited: ${held} of 2 (probe ${probeState})`)
    expect(probeState).toBe('completed')
    for (const id of crawls) {
      const job = await getJob(lax, id)
      expect(job).toMatchObject({ state: 'failed', attemptsMade: 1, error: { code: 'CALLBACK_URL_FORBIDDEN' } })
      expect(job.error.message).toMatch(/sink\.url may not be called/)
    }
    expect(held).toBe(0)
    // the refused callback: failed after one try, not retried six times
    const cb = await waitForJob(lax, withCallback, (j) => j.callback?.state === 'failed' || j.callback?.attempts > 1, 15_000)
    expect(cb.callback).toMatchObject({ state: 'failed', attempts: 1 })
    expect(accepted.size).toBe(0)
  }, 40_000)
})

describe('B: a receiver that stays down', () => {
  let b: TestSpoke
  beforeAll(async () => {
    b = await spoke({ ...shared(), LOG_LEVEL: 'info', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true', SPOKE_WORKER_CONCURRENCY: '1', SPOKE_WEBHOOK_HOLD_MS: '200', SPOKE_WEBHOOK_GIVE_UP_SECONDS: '4' }, { concurrency: 1 })
    await connectSimulatorAlias(b, sim, { grant: 'client_credentials' })
  }, 30_000)

  it('waits delayed (its one slot free), fails SINK_UNAVAILABLE after the bound with its checkpoint, and a retry resumes', async () => {
    accepted.clear()
    acceptMore = 2
    const id = await submitJob(b, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'webhook', url: `${receiver}/crawl` } } })
    // the run gave its slot back to wait (not an attempt spent)
    const waits = (): number => b.logs().split('\n').filter((l) => l.includes('job waits') && l.includes(id)).length
    for (const deadline = Date.now() + 15_000; waits() === 0;) {
      if (Date.now() > deadline) throw new Error('the crawl never gave its slot back')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    // while it waits, the view says why (the receiver), and that it will run again
    const waiting = await waitForJob(b, id, (j) => j.state === 'delayed' || j.state === 'failed', 10_000)
    if (waiting.state === 'delayed') {
      expect(waiting.error).toMatchObject({ code: 'SINK_UNAVAILABLE', retryable: true })
      expect(waiting.nextAttemptAt).toBeDefined()
    }
    // the only worker slot runs another job while the receiver is still down
    const probe = await submitJob(b, 'confluence.user.current', { input: {} })
    expect((await waitForJob(b, probe, undefined, 10_000)).state).toBe('completed')
    const failed = await waitForJob(b, id, (j) => j.state === 'failed', 20_000)
    expect(failed.error.code).toBe('SINK_UNAVAILABLE')
    expect(failed.attemptsMade).toBe(1)
    expect(refusedPosts).toBeGreaterThan(1)
    const checkpoint = await b.core.redis.store.hget(`${b.config.keyPrefix}:jobs:checkpoint:${id}`, 'crawl')
    expect(checkpoint).not.toBeNull()
    expect(JSON.parse(checkpoint as string).sink).toBe(2)
    // the receiver is back: a retry resumes from the checkpoint (batches 0 and 1 are not sent again)
    acceptMore = Number.POSITIVE_INFINITY
    const retried = await http(b, 'POST', `/v1/jobs/${id}/retry`, { key: b.keys.admin })
    expect(retried.status).toBe(200)
    const done = await waitForJob(b, id, (j) => j.state === 'completed' || j.state === 'failed', 30_000)
    expect(done.state).toBe('completed')
    const sequences = [...accepted.keys()].sort((x, y) => x - y)
    expect(sequences).toEqual(sequences.map((_, i) => i))
    const pages = new Set([...accepted.values()].flat().filter((r) => r.kind === 'page').map((r) => r.recordId))
    expect(pages.size).toBe(done.result.counts.page)
  }, 60_000)
})

describe('C: a cap on one key\'s unfinished jobs', () => {
  it('a burst from one key: 3 accepted, the rest 429 TOO_MANY_JOBS with Retry-After; other keys unaffected; shown on /metrics', async () => {
    const c = await spoke({ ...shared(), LOG_LEVEL: 'warn', SPOKE_MAX_JOBS_PER_KEY: '3' })
    await connectSimulatorAlias(c, sim, { grant: 'client_credentials' })
    const burst = await Promise.all(Array.from({ length: 12 }, async () => await submit(c, 'confluence.user.current', { input: {} })))
    const statuses = burst.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 202)).toHaveLength(3)
    expect(statuses.filter((s) => s === 429)).toHaveLength(9)
    const refused = burst.find((r) => r.status === 429)!
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(refused.json()).toMatchObject({ code: 'TOO_MANY_JOBS', status: 429, retryable: true })
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    // another key is not starved by this one
    expect((await submit(c, 'confluence.user.current', { input: {} }, { key: c.keys.admin })).status).toBe(202)
    const metrics = (await http(c, 'GET', '/metrics', { key: c.keys.admin })).text
    expect(metrics).toMatch(/^spoke_job_key_cap 3$/m)
    expect(metrics).toMatch(/^spoke_job_key_cap_refusals_total\{key="[0-9a-f]{8}"\} 9$/m)
    // once the key's jobs finish, it may submit again
    await startWorkers(c.core, { concurrency: 4 })
    const ids = burst.filter((r) => r.status === 202).map((r) => r.json().jobId as string)
    for (const id of ids) expect((await waitForJob(c, id)).state).toBe('completed')
    expect((await submit(c, 'confluence.user.current', { input: {} })).status).toBe(202)
  }, 40_000)
})
