// confluence.group.members.bulk at scale: 5,000 accounts (4,000 adds, 1,000 removes) while the simulator
// injects 5% 5xx and 5% 429. Every account ends in the expected state, each write is applied exactly once
// (the simulator's counters), and the 429s served stay at the injected rate (no storm).
// Injected 429s carry Retry-After: 0 here: each 429 pauses the whole site until its Retry-After, and ~500
// one-second pauses would make this a ten-minute test (jobs-budget covers pauses and real burst limits).
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submitJob, waitForJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-bulk', size: { pages: 20, users: 5_200, groups: 8 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '4000', SPOKE_SITE_BURST: '200' }, { workers: true })
})
afterAll(() => closeCheckingContract(sim, t))

it('applies 5,000 membership changes exactly once through 5% 5xx and 5% 429', async () => {
  const group = sim.data.groups()[3]
  const others = sim.data.users().map(u => u.accountId).filter(a => !group.members.includes(a)).slice(2)
  const toAdd = others.slice(0, 4_000)
  const toRemove = others.slice(4_000, 5_000)
  expect(toRemove).toHaveLength(1_000)
  for (const a of toRemove) sim.data.setGroupMembership(group.id, a, true)
  await connectSimulatorAlias(t, sim, {
    grant: 'client_credentials',
    managedGroups: [{ groupId: group.id }],
    doc: { retryPolicy: { strategy: 'retry_after', maxAttempts: 8, maxElapsedSeconds: 600 } }
  })
  sim.reset()
  sim.faults.set({ errorRate: 0.05, errorStatus: 503, rateLimitRate: 0.05, rateLimitRetryAfter: 0 })

  const started = Date.now()
  const id = await submitJob(t, 'confluence.group.members.bulk', { input: { groupId: group.id, add: toAdd, remove: toRemove } })
  const job = await waitForJob(t, id, undefined, 170_000)
  const seconds = (Date.now() - started) / 1000
  sim.faults.clear()

  expect(job.state).toBe('completed')
  expect(job.result.summary).toEqual({ total: 5_000, changed: 5_000, unchanged: 0, failed: 0, dryRun: false })
  expect(job.progress).toEqual({ done: 5_000, total: 5_000 })
  const members = new Set(sim.data.groupMembers(group.id))
  expect(toAdd.filter(a => !members.has(a))).toEqual([])
  expect(toRemove.filter(a => members.has(a))).toEqual([])

  const c = sim.counters()
  const writes = c.byOperationStatus
  expect(writes.addUserToGroupByGroupId['201']).toBe(4_000)
  expect(writes.removeMemberFromGroupByGroupId['204']).toBe(1_000)
  const served429 = c.byStatus['429'] ?? 0
  const served5xx = Object.entries(c.byStatus).filter(([s]) => Number(s) >= 500).reduce((n, [, v]) => n + v, 0)
  // Only the injected ones: about 5% of the requests (the burst limit is never reached).
  expect(served429).toBeLessThan(c.requests * 0.08)
  process.stdout.write(`jobs-bulk: 5,000 accounts in ${seconds.toFixed(1)} s, ${c.requests} requests, ${served429} 429s and ${served5xx} 5xx served, job attempts ${job.attemptsMade}\n`)
}, 180_000)
