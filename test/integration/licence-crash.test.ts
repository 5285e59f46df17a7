// A worker process SIGKILLed in the middle of a real reclamation: another worker takes the job over once
// the dead worker's lock expires, resumes from the checkpointed plan and per-membership outcomes, and every
// inactive account's membership is removed exactly once (the simulator counts the DELETEs).
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { expectedReclaim, membershipsOf } from '../helpers/licence'
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process'
import { startWorkers } from '../../src/worker'

const ENV = { SPOKE_JOB_LOCK_MS: '2000', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '100' }
const INACTIVE_DAYS = 30
let sim: Simulator
let t: TestSpoke
let child: WorkerProcess | undefined

beforeAll(async () => {
  sim = await startSimulator({ seed: 'licence-crash', size: { pages: 20, users: 2_500, groups: 6 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', ...ENV })
})
afterAll(async () => {
  await child?.kill('SIGKILL')
  await t?.close()
  await sim?.close()
})

it('reclaims every inactive seat once across a worker SIGKILL mid-run', async () => {
  const access = sim.data.groups().find(g => g.name === 'confluence-users') as { id: string }
  await connectSimulatorAlias(t, sim, {
    grant: 'client_credentials',
    managedGroups: [{ groupId: access.id }],
    doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } }
  })
  const before = membershipsOf(sim, [access.id])
  child = await startWorkerProcess(t, sim.url, ENV)
  sim.reset()
  sim.faults.set({ latencyMs: 4, operations: ['getGroupMembershipsForUser'] })

  const id = await submitJob(t, 'confluence.license.reclaim', { input: { inactiveDays: INACTIVE_DAYS, groups: [access.id], maxAccounts: 10_000, dryRun: false } })
  const midway = await waitForJob(t, id, j => j.state === 'active' && j.progress?.message === 'removing memberships' && (j.progress?.done ?? 0) >= 150, 40_000)
  await child.kill('SIGKILL')
  const removedAtKill = sim.counters().byOperationStatus.removeMemberFromGroupByGroupId?.['204'] ?? 0
  expect(removedAtKill).toBeGreaterThanOrEqual(midway.progress.done)
  expect(removedAtKill).toBeLessThan(midway.progress.total)

  // Another worker (this process) takes over once the dead worker's lock has expired.
  await startWorkers(t.core, { concurrency: 2 })
  const job = await waitForJob(t, id, undefined, 40_000)
  sim.faults.clear()
  expect(job.state).toBe('completed')
  const r = job.result
  const want = expectedReclaim(sim, [access.id], INACTIVE_DAYS, [], Date.parse(r.asOf))
  // The plan was computed before the kill (from the memberships then): recompute the truth from them.
  const candidates = r.accounts.map((a: any) => a.accountId).sort()
  const truthBefore = candidates.filter((a: string) => before.has(`${access.id}:${a}`))
  expect(truthBefore).toEqual(candidates)
  expect(want.candidates).toEqual([])
  expect(r.summary).toMatchObject({ failed: 0, reclaimed: candidates.length })
  const after = membershipsOf(sim, [access.id])
  expect(candidates.filter((a: string) => after.has(`${access.id}:${a}`))).toEqual([])
  expect([...before].filter(m => !after.has(m))).toHaveLength(candidates.length)

  const deletes = sim.counters().byOperationStatus.removeMemberFromGroupByGroupId?.['204'] ?? 0
  const duplicates = deletes - candidates.length
  console.log(`licence-crash: worker SIGKILLed at ${midway.progress.done as number} of ${midway.progress.total as number} accounts (${removedAtKill} removals landed); resumed by another worker; accounts ${candidates.length}, removed ${deletes}, found already removed ${r.summary.alreadyRemoved as number}, duplicates ${duplicates}, attempts ${job.attemptsMade as number}`)
  expect(duplicates).toBe(0)
  expect(sim.counters().byStatus['409'] ?? 0).toBe(0)
}, 58_000)
