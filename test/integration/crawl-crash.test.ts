// A worker process SIGKILLed in the middle of a crawl: another worker resumes from the last checkpoint, the
// file is cut back to the checkpointed length, and the sink holds every record exactly once (comments and
// their reply threads included: a listing page's checkpoint comes only after all of its items' records).
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process'
import { expectedItems, readSink } from '../helpers/crawl'
import { startWorkers } from '../../src/worker'

const ENV = { SPOKE_JOB_LOCK_MS: '2000', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '100' }
let sim: Simulator
let t: TestSpoke
let child: WorkerProcess | undefined

beforeAll(async () => {
  sim = await startSimulator({ seed: 'crawl-crash', permissions: 'nested', size: { pages: 800, spaces: 3, users: 60, groups: 6 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', ...ENV })
})
afterAll(async () => {
  await child?.kill('SIGKILL')
  await t?.close()
  await sim?.close()
})

it('resumes a crawl whose worker was killed mid-way, with every record exactly once', async () => {
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  child = await startWorkerProcess(t, sim.url, { ...ENV, SPOKE_DATA_DIR: t.config.dataDir })
  sim.faults.set({ latencyMs: 2, operations: ['getRestrictionsForOperation'] })
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: ['page', 'blogpost', 'attachment', 'comment'], sink: { type: 'file', path: 'crash/run.ndjson' } } })
  const midway = await waitForJob(t, id, j => j.state === 'active' && (j.progress?.done ?? 0) >= 250, 40_000)
  await child.kill('SIGKILL')
  sim.faults.clear()
  await startWorkers(t.core, { concurrency: 2 })
  const job = await waitForJob(t, id, undefined, 60_000)
  expect(job.state).toBe('completed')
  expect(job.result.complete).toBe(true)
  const records = readSink(t.config.dataDir, 'crash/run.ndjson')
  const ids = records.map((r) => r.recordId)
  const duplicates = ids.filter((r, i) => ids.indexOf(r) !== i)
  const expected = expectedItems(sim)
  const content = records.filter((r) => ['page', 'blogpost', 'attachment', 'comment'].includes(r.kind))
  const replies = content.filter((r) => r.parentCommentId !== undefined).length
  expect(replies).toBeGreaterThan(20)
  console.log(`crawl crash: worker SIGKILLed after ${midway.progress.done as number} items; resumed; ${records.length} records (${replies} comment replies), ${duplicates.length} duplicates, ${expected.length - content.length} missing`)
  expect(duplicates).toEqual([])
  expect(content.map((r) => r.id.replace(/^att/, '')).sort()).toEqual(expected.map((c) => c.id).sort())
}, 90_000)
