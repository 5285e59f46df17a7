// confluence.license.reclaim against the simulator: only managed groups are accepted (403 before a job is
// queued); a dry run (the default) lists exactly the accounts the ground truth says are inactive seat
// holders and changes nothing; the real run then removes exactly those accounts, from the given managed
// groups only, skipping excluded and unknown-activity accounts; maxAccounts caps a run, longest inactive first.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submit, submitJob, waitForJob } from '../helpers/jobs'
import { expectedReclaim, membershipsOf } from '../helpers/licence'

const INACTIVE_DAYS = 90
let sim: Simulator
let t: TestSpoke
let access: { id: string }
let team: { id: string }
let unmanaged: { id: string }

beforeAll(async () => {
  sim = await startSimulator({ seed: 'licence-reclaim', size: { pages: 20, users: 2_500, groups: 10 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' }, { workers: true })
  const groups = sim.data.groups()
  access = groups.find(g => g.name === 'confluence-users') as { id: string }
  const teams = groups.filter(g => g.name.startsWith('team-'))
  team = teams[0]
  unmanaged = teams[1]
  // The unmanaged group shares members with the managed ones: they must keep it.
  for (const a of [...(sim.data.groupMembers(team.id) ?? []), ...(sim.data.groupMembers(access.id) ?? []).slice(0, 400)]) sim.data.setGroupMembership(unmanaged.id, a, true)
  await connectSimulatorAlias(t, sim, {
    grant: 'client_credentials',
    managedGroups: [{ groupId: access.id }, { groupId: team.id }],
    doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } }
  })
}, 30_000)
afterAll(() => closeCheckingContract(sim, t))

it('refuses a group that is not managed with 403 GROUP_NOT_MANAGED before queuing a job', async () => {
  const res = await submit(t, 'confluence.license.reclaim', { input: { inactiveDays: 30, groups: [access.id, unmanaged.id] } })
  expect(res.status).toBe(403)
  expect(res.json().code).toBe('GROUP_NOT_MANAGED')
  const jobs = await http(t, 'GET', '/v1/jobs?action=confluence.license.reclaim', { key: t.keys.viewer })
  expect(jobs.json().jobs).toEqual([])
})

it('caps a run at maxAccounts, longest inactive first, and is a dry run by default', async () => {
  const job = await waitForJob(t, await submitJob(t, 'confluence.license.reclaim', { input: { inactiveDays: INACTIVE_DAYS, groups: [access.id], maxAccounts: 5 } }), undefined, 50_000)
  expect(job.state).toBe('completed')
  const r = job.result
  expect(r.dryRun).toBe(true)
  const want = expectedReclaim(sim, [access.id], INACTIVE_DAYS, [], Date.parse(r.asOf))
  expect(r.accounts).toHaveLength(5)
  expect(r.summary.overCap).toBe(want.candidates.length - 5)
  const oldest = want.candidates.map(a => ({ a, at: Date.parse(sim.org.usage({ asOf: Date.parse(r.asOf) }).accounts.get(a)?.lastActive as string) }))
    .sort((x, y) => x.at - y.at || (x.a < y.a ? -1 : 1)).slice(0, 5).map(x => x.a)
  expect(r.accounts.map((a: any) => a.accountId)).toEqual(oldest)
  expect(sim.counters().byOperation.removeMemberFromGroupByGroupId ?? 0).toBe(0)
}, 55_000)

it('a dry run lists exactly the accounts the real run then removes, only from the given managed groups', async () => {
  const groups = [access.id, team.id]
  const before = membershipsOf(sim, [access.id, team.id, unmanaged.id])
  const firstGuess = expectedReclaim(sim, groups, INACTIVE_DAYS, [], Date.now())
  const exclude = firstGuess.candidates.slice(0, 7)
  sim.reset()

  const dry = (await waitForJob(t, await submitJob(t, 'confluence.license.reclaim', { input: { inactiveDays: INACTIVE_DAYS, groups, exclude, maxAccounts: 10_000, dryRun: true } }), undefined, 50_000)).result
  const want = expectedReclaim(sim, groups, INACTIVE_DAYS, exclude, Date.parse(dry.asOf))
  const wouldRemove = dry.accounts.filter((a: any) => a.outcome === 'would_remove').map((a: any) => a.accountId).sort()
  expect(wouldRemove).toEqual(want.candidates)
  expect(dry.summary).toMatchObject({ reclaimed: want.candidates.length, failed: 0, excluded: exclude.length, unknownActivity: want.unknown.length, overCap: 0 })
  expect([...dry.skipped.excluded].sort()).toEqual([...exclude].sort())
  expect(dry.skipped.unknownActivity.map((u: any) => u.accountId).sort()).toEqual(want.unknown)
  expect(new Set(dry.skipped.unknownActivity.map((u: any) => u.reason))).toEqual(new Set(['not_listed_by_org', 'no_activity_recorded']))
  expect(membershipsOf(sim, [access.id, team.id, unmanaged.id])).toEqual(before)
  expect(sim.counters().byOperation.removeMemberFromGroupByGroupId ?? 0).toBe(0)

  const real = (await waitForJob(t, await submitJob(t, 'confluence.license.reclaim', { input: { inactiveDays: INACTIVE_DAYS, groups, exclude, maxAccounts: 10_000, dryRun: false } }), undefined, 50_000)).result
  const removed = real.accounts.filter((a: any) => a.outcome === 'removed').map((a: any) => a.accountId).sort()
  expect(real.dryRun).toBe(false)
  expect(removed).toEqual(wouldRemove)
  expect(real.summary).toMatchObject({ reclaimed: removed.length, alreadyRemoved: 0, failed: 0 })

  // Exactly the candidates' memberships of the given groups are gone; everything else is as before.
  const after = membershipsOf(sim, [access.id, team.id, unmanaged.id])
  const gone = [...before].filter(m => !after.has(m))
  const removedSet = new Set(removed)
  expect(gone.every(m => !m.startsWith(`${unmanaged.id}:`) && removedSet.has(m.slice(m.indexOf(':') + 1)))).toBe(true)
  expect(gone).toHaveLength(want.memberships)
  expect([...after].filter(m => !before.has(m))).toEqual([])
  for (const a of [...exclude, ...want.unknown]) expect(before.has(`${access.id}:${a}`) ? after.has(`${access.id}:${a}`) : true).toBe(true)
  const kept = [...before].filter(m => m.startsWith(`${unmanaged.id}:`) && removedSet.has(m.slice(m.indexOf(':') + 1)))
  expect(kept.length).toBeGreaterThan(0)
  expect(kept.every(m => after.has(m))).toBe(true)
  const deletes = sim.counters().byOperationStatus.removeMemberFromGroupByGroupId?.['204'] ?? 0
  expect(deletes).toBe(want.memberships)

  console.log(`licence-reclaim: ${INACTIVE_DAYS}-day cut over ${new Set([...before].filter(m => !m.startsWith(`${unmanaged.id}:`)).map(m => m.slice(m.indexOf(':') + 1))).size} members of 2 managed groups; dry run listed ${wouldRemove.length}, real run removed ${removed.length} (same set: ${JSON.stringify(removed) === JSON.stringify(wouldRemove)}); ${deletes} DELETEs for ${want.memberships} memberships; skipped ${exclude.length} excluded, ${want.unknown.length} unknown activity, ${real.summary.active as number} active, ${real.summary.noSeat as number} without a seat; ${kept.length} memberships of the unmanaged group kept by removed accounts`)

  // Run again: nothing left to reclaim, nothing written.
  const again = (await waitForJob(t, await submitJob(t, 'confluence.license.reclaim', { input: { inactiveDays: INACTIVE_DAYS, groups, exclude, maxAccounts: 10_000, dryRun: false } }), undefined, 50_000)).result
  expect(again.summary.reclaimed).toBe(0)
  expect(sim.counters().byOperationStatus.removeMemberFromGroupByGroupId?.['204'] ?? 0).toBe(deletes)

  const metrics = await http(t, 'GET', '/metrics', { key: t.keys.admin })
  expect(metrics.text).toContain(`spoke_licence_seats_reclaimed_total{alias="confluence_cloud"} ${removed.length}`)
}, 58_000)
