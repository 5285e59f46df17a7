// A worker process killed with SIGKILL in the middle of a bulk job: another worker takes the job over once
// its lock expires, resumes from the per-account checkpoint, and no account is applied twice.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process'
import { startWorkers } from '../../src/worker'

const ENV = { SPOKE_JOB_LOCK_MS: '2000', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '100' }
let sim: Simulator
let t: TestSpoke
let child: WorkerProcess | undefined

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-crash', size: { pages: 20, users: 1_600, groups: 6 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', ...ENV })
})
afterAll(async () => {
  await child?.kill('SIGKILL')
  await t?.close()
  await sim?.close()
})

it('finishes a bulk job whose worker was killed mid-way, applying every account once', async () => {
  const group = sim.data.groups()[2]
  const accounts = sim.data.users().map(u => u.accountId).filter(a => !group.members.includes(a)).slice(2, 1_502)
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', managedGroups: [{ groupId: group.id }] })
  child = await startWorkerProcess(t, sim.url, ENV)
  sim.reset()
  sim.faults.set({ latencyMs: 3, operations: ['getGroupMembershipsForUser'] })

  const id = await submitJob(t, 'confluence.group.members.bulk', { input: { groupId: group.id, add: accounts } })
  const midway = await waitForJob(t, id, j => j.state === 'active' && (j.progress?.done ?? 0) >= 300, 60_000)
  await child.kill('SIGKILL')
  const appliedAtKill = sim.counters().byOperationStatus.addUserToGroupByGroupId?.['201'] ?? 0
  expect(appliedAtKill).toBeGreaterThanOrEqual(midway.progress.done)
  expect(appliedAtKill).toBeLessThan(accounts.length)

  // Another worker (this process) takes over once the dead worker's lock has expired.
  await startWorkers(t.core, { concurrency: 2 })
  const job = await waitForJob(t, id, undefined, 90_000)
  process.stdout.write(`jobs-crash: worker process SIGKILLed at ${midway.progress.done} of ${accounts.length} accounts (${appliedAtKill} writes landed); resumed by another worker; ${sim.counters().byOperationStatus.addUserToGroupByGroupId?.['201'] ?? 0} writes in all, ${job.result.summary.unchanged as number} found already applied\n`)
  expect(job.state).toBe('completed')
  expect(job.result.summary).toMatchObject({ total: accounts.length, failed: 0 })
  // Accounts whose write landed just before the kill, but not their checkpoint, are reported unchanged on resume.
  expect(job.result.summary.unchanged).toBeLessThanOrEqual(8)
  const members = new Set(sim.data.groupMembers(group.id))
  expect(accounts.filter(a => !members.has(a))).toEqual([])
  expect(sim.counters().byOperationStatus.addUserToGroupByGroupId['201']).toBe(accounts.length)
  expect(sim.counters().byStatus['409'] ?? 0).toBe(0)
}, 150_000)
