// A worker process SIGKILLed in the middle of a personal-data report: another worker takes the job over once
// its lock expires and resumes at the first batch not checkpointed. Every account is reported; at most the
// one batch in flight at the kill (answered by Atlassian, not yet checkpointed) is sent again.
import { startSimulator, privacyOf, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process'
import { startWorkers } from '../../src/worker'

const N = 10_000
const ENV = { SPOKE_JOB_LOCK_MS: '2000', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200', SPOKE_PRIVACY_REPORT_EVERY_SECONDS: '0' }
let sim: Simulator
let t: TestSpoke
let child: WorkerProcess | undefined

beforeAll(async () => {
  sim = await startSimulator({ seed: 'privacy-crash', size: { pages: 5, users: 20, groups: 2 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', ...ENV })
})
afterAll(async () => {
  await child?.kill('SIGKILL')
  await t?.close()
  await sim?.close()
})

it('resumes a report whose worker was killed, with every batch reported and none lost', async () => {
  const { alias } = await connectSimulatorAlias(t, sim)
  const ids = Array.from({ length: N }, (_, i) => `712020:00000000-0000-4000-9000-${i.toString().padStart(12, '0')}`)
  for (let i = 0; i < N; i += 1000) await t.core.privacy.record(alias, ids.slice(i, i + 1000), `job:seed${i}`)
  const p = privacyOf(sim.state)
  for (let i = 5; i < N; i += 500) p.close(ids[i])
  child = await startWorkerProcess(t, sim.url, ENV)
  p.resetStats()
  sim.faults.set({ latencyMs: 25, operations: ['privacy.reportAccounts'], targets: ['api'] })

  const id = await submitJob(t, 'confluence.privacy.report', { connection: alias })
  const midway = await waitForJob(t, id, j => j.state === 'active' && (j.progress?.done ?? 0) >= 3_000, 40_000)
  await child.kill('SIGKILL')
  const atKill = p.stats()
  expect(atKill.accepted).toBeLessThan(Math.ceil(N / 90))

  await startWorkers(t.core, { concurrency: 2 })
  const job = await waitForJob(t, id, undefined, 40_000)
  const stats = p.stats()
  console.log(`privacy-crash: worker SIGKILLed at ${midway.progress.done as number} of ${N} accounts (${atKill.accepted} batches accepted); resumed by another worker: ${stats.accepted} batches accepted in all for ${Math.ceil(N / 90)} needed, ${stats.accounts} distinct accounts, ${stats.repeatedBatches} batch(es) sent twice, ${job.result.closed as number} closed erased`)
  expect(job.state).toBe('completed')
  expect(stats.accounts).toBe(N)
  expect(stats.repeatedBatches).toBeLessThanOrEqual(1)
  expect(stats.accepted).toBe(Math.ceil(N / 90) + stats.repeatedBatches)
  expect(job.result).toMatchObject({ batches: Math.ceil(N / 90), reported: N, closed: N / 500 })
  expect(await t.core.privacy.count(alias)).toBe(N - N / 500)
}, 60_000)
