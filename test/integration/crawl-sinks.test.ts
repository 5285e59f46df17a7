// The crawl's paths that pause or stop a run, on a real Redis and real HTTP:
// - a webhook receiver (node:http on 127.0.0.1) that resets connections and answers 503 for a few seconds:
//   the run pauses, then every record arrives exactly once (by recordId), every batch signed (HMAC-SHA256);
// - a cancel mid-crawl: the job is cancelled at once, the sink stops growing, the checkpoint stays, and a
//   retry of the job resumes from it with every record exactly once;
// - a 429 whose Retry-After is longer than the worker waits inline: the attempt ends, the job is delayed
//   (not failed) and resumes from its checkpoint, with no duplicate.
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { expectedItems, readSink, type Rec } from '../helpers/crawl'
import { parsePromText, sampleSum } from '../helpers/prom-text'

const SECRET = 'crawl-sink-secret'
const TYPES = ['page', 'blogpost', 'attachment', 'comment']
let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'crawl-sinks', permissions: 'nested', size: { pages: 500, spaces: 3, users: 60, groups: 6 } })
  t = await buildTestSpoke({
    ...simulatorEnv(sim),
    LOG_LEVEL: 'warn',
    SPOKE_CALLBACK_SECRET: SECRET,
    // loopback receivers: the coming SSRF address policy refuses them unless the operator opts in
    SPOKE_CALLBACK_ALLOW_PRIVATE: 'true',
    SPOKE_SITE_RATE_PER_SECOND: '3000',
    SPOKE_SITE_BURST: '300'
  }, { workers: { maxRetryAfterSeconds: 1 } })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', doc: { retryPolicy: { strategy: 'retry_after', maxAttempts: 5, maxElapsedSeconds: 600 } } })
}, 30_000)
afterAll(async () => {
  await t?.close()
  await sim?.close()
})
afterEach(() => { sim.faults.clear() })

/** Every current item the crawl should export (content and comments of current containers). */
function expectedIds (): string[] {
  return expectedItems(sim).map((c) => c.id).sort()
}
const contentIds = (records: Rec[]): string[] => records.filter((r) => TYPES.includes(r.kind)).map((r) => r.id.replace(/^att/, '')).sort()
const duplicates = (records: Rec[]): string[] => { const seen = new Set<string>(); return records.map((r) => r.recordId).filter((id) => seen.has(id) || !seen.add(id)) }

it('a webhook receiver that is down pauses the run; every record arrives exactly once, signed', async () => {
  const accepted: Rec[] = []
  let batches = 0
  let refused = 0
  let badSignatures = 0
  let downUntil = 0
  let downFor = 0
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const now = Date.now()
      // after the third accepted batch, the receiver goes down for 3 s: resets and 503s
      if (batches === 3 && downUntil === 0) downUntil = now + 3000
      if (now < downUntil) {
        refused++
        if (refused % 2 === 1) { req.socket.destroy(); return }
        res.writeHead(503).end()
        return
      }
      if (downUntil !== 0 && downFor === 0) downFor = now - (downUntil - 3000)
      const body = Buffer.concat(chunks)
      const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`
      if (req.headers['x-spoke-signature'] !== expected) badSignatures++
      const batch = JSON.parse(body.toString('utf8')) as { sequence: number, records: Rec[] }
      accepted.push(...batch.records)
      batches++
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crawl`
    const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, sink: { type: 'webhook', url } } })
    const job = await waitForJob(t, id, undefined, 45_000)
    expect(job.state).toBe('completed')
    expect(job.result.complete).toBe(true)
    console.log(`crawl webhook outage: receiver down ${downFor} ms, ${refused} deliveries refused (resets and 503s), ${batches} batches accepted, ` +
      `${accepted.length} records, ${duplicates(accepted).length} duplicates, ${badSignatures} bad signatures`)
    expect(refused).toBeGreaterThanOrEqual(2)
    expect(badSignatures).toBe(0)
    expect(duplicates(accepted)).toEqual([])
    expect(contentIds(accepted)).toEqual(expectedIds())
    expect(accepted.filter((r) => r.kind === 'user').length).toBeGreaterThan(0)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}, 60_000)

it('a cancel mid-crawl stops at the next page and keeps the checkpoint; a retry resumes with every record once', async () => {
  sim.faults.set({ latencyMs: 3, operations: ['getRestrictionsForOperation'] })
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, sink: { type: 'file', path: 'cancel/run.ndjson' } } })
  const mid = await waitForJob(t, id, (j) => j.state === 'active' && (j.progress?.done ?? 0) >= 100, 30_000)
  // progress while it runs: done of a known total (pages and blog posts the listings hold)
  // (current ones: the archived pages, exported marked, are not in the count)
  expect(mid.progress.total).toBe(expectedIds().filter((i) => ['page', 'blogpost'].includes(sim.data.contentById(i)?.kind as string) && sim.data.contentById(i)?.status === 'current').length)
  expect(mid.progress.done).toBeLessThan(mid.progress.total)
  const cancel = await http(t, 'POST', `/v1/jobs/${id}/cancel`, { key: t.keys.admin })
  expect(cancel.status).toBe(200)
  const stopped = await waitForJob(t, id, (j) => j.state === 'cancelled', 10_000)
  expect(stopped.error?.code).toBe('JOB_CANCELLED')
  const checkpoint = await t.core.redis.store.hget(`${t.config.keyPrefix}:jobs:checkpoint:${id}`, 'crawl')
  expect(checkpoint).not.toBeNull()
  // The worker's run has returned (this process's crawl gauge is back to 0): nothing can write after it.
  const runsActive = async (): Promise<number> => sampleSum(parsePromText(await t.core.metrics.registry.metrics()), 'spoke_crawl_runs_active')
  for (const deadline = Date.now() + 10_000; await runsActive() > 0 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 20))
  expect(await runsActive()).toBe(0)
  const atCancel = readSink(t.config.dataDir, 'cancel/run.ndjson').length
  expect(await waitForJob(t, id, (j) => j.state === 'cancelled')).toMatchObject({ state: 'cancelled' })
  expect(readSink(t.config.dataDir, 'cancel/run.ndjson').length).toBe(atCancel)
  sim.faults.clear()
  const retry = await http(t, 'POST', `/v1/jobs/${id}/retry`, { key: t.keys.admin })
  expect(retry.status).toBe(200)
  const done = await waitForJob(t, id, (j) => j.state === 'completed' || j.state === 'failed', 30_000)
  expect(done.state).toBe('completed')
  const records = readSink(t.config.dataDir, 'cancel/run.ndjson')
  console.log(`crawl cancel: cancelled after ${stopped.progress?.done as number} items (${atCancel} records in the sink once its run returned, unchanged after); retried from the checkpoint: ${records.length} records, ${duplicates(records).length} duplicates`)
  expect(duplicates(records)).toEqual([])
  expect(contentIds(records)).toEqual(expectedIds())
}, 60_000)

it('a 429 longer than the inline wait pauses the run as a delayed retry; it completes with no duplicate', async () => {
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, sink: { type: 'file', path: 'limited/run.ndjson' } } })
  await waitForJob(t, id, (j) => j.state === 'active' && (j.progress?.done ?? 0) >= 100, 30_000)
  // the next listing page answers 429 with Retry-After 3 s (the worker waits at most 1 s inline)
  sim.faults.next({ kind: 'rateLimit', retryAfter: 3 }, 1, { operations: ['getPagesInSpace', 'getBlogPostsInSpace'] })
  const paused = await waitForJob(t, id, (j) => j.state === 'delayed' || j.state === 'completed' || j.state === 'failed', 30_000)
  expect(paused.state).toBe('delayed')
  expect(paused.error?.code).toBe('UPSTREAM_RATE_LIMITED')
  const done = await waitForJob(t, id, (j) => j.state === 'completed' || j.state === 'failed', 30_000)
  expect(done.state).toBe('completed')
  expect(done.attemptsMade).toBe(2)
  const records = readSink(t.config.dataDir, 'limited/run.ndjson')
  console.log(`crawl long 429: delayed until ${paused.nextAttemptAt as string} after ${paused.progress?.done as number} items; resumed and completed after ${done.attemptsMade as number} attempts; ${records.length} records, ${duplicates(records).length} duplicates`)
  expect(duplicates(records)).toEqual([])
  expect(contentIds(records)).toEqual(expectedIds())
}, 60_000)
