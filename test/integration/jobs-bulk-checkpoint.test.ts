// What a Redis failover can do to a bulk job, made certain: its checkpoint writes fail for a moment and the
// checkpoint is lost (asynchronous replication). The failure is real: for 30 ms the checkpoint key holds a
// string, so the worker's HSETs get WRONGTYPE from Redis; then the key is deleted. The job takes another
// attempt, reads every account again, finds the ones already added, and adds none twice.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-bulk-checkpoint', size: { pages: 5, users: 700, groups: 4 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' }, { workers: true })
})
afterAll(async () => {
  try { await t?.close() } finally { await sim?.close() }
})


it('after failed checkpoint writes and a lost checkpoint the next attempt adds no account twice', async () => {
  const g = [...sim.data.groups()].sort((a, b) => a.members.length - b.members.length)[0]
  await connectSimulatorAlias(t, sim, { alias: 'cp', grant: 'client_credentials', managedGroups: [{ groupId: g.id }] })
  const toAdd = sim.data.users().map(u => u.accountId).filter(a => !g.members.includes(a)).slice(0, 500)
  expect(toAdd).toHaveLength(500)
  sim.reset()
  sim.faults.set({ latencyMs: 5 })

  const id = await submitJob(t, 'confluence.group.members.bulk', { connection: 'cp', input: { groupId: g.id, add: toAdd, remove: [] } })
  await waitForJob(t, id, j => (j.progress?.done ?? 0) >= 100, 30_000)
  // A short window in which checkpoint writes fail; the checkpoint is lost with it (as a failover may lose
  // it), so the next attempt reads every account again and must find the ones already added.
  const key = t.core.jobs.keys.checkpoint(id)
  await t.core.redis.store.set(key, 'not a hash')
  // Until an attempt has failed on it (its next checkpoint write), not for a fixed time.
  await waitForJob(t, id, j => (j.attemptsMade ?? 0) >= 1 || j.state !== 'active', 30_000)
  await t.core.redis.store.del(key)

  const job = await waitForJob(t, id, undefined, 60_000)
  sim.faults.clear()
  expect(job.state).toBe('completed')
  expect(job.attemptsMade).toBeGreaterThanOrEqual(2) // the window did fail an attempt
  expect(job.result.summary).toMatchObject({ total: 500, failed: 0 })
  const members = new Set(sim.data.groupMembers(g.id))
  expect(toAdd.filter(a => !members.has(a))).toEqual([])
  const adds = sim.counters().byOperationStatus.addUserToGroupByGroupId ?? {}
  console.log(`bulk checkpoint failure: attempts ${String(job.attemptsMade)}, summary ${JSON.stringify(job.result.summary)}, add requests ${JSON.stringify(adds)}`)
  expect(adds).toEqual({ 201: 500 }) // each account added exactly once, none refused as already a member
})
