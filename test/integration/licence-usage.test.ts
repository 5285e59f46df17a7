// confluence.license.usage against the simulator's Organizations API: for a seeded org of 3,000 accounts
// the counts equal the simulator's own ground truth (seats by activity bucket, accounts by status), every
// account's lastActive / billable / status / managed groups match, and members the org does not manage are
// counted and listed as unknown. The file sink holds the same accounts; a bad org key and a missing one
// fail with their codes; the seats gauge is on /metrics.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submit, submitJob, waitForJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke
let managed: Array<{ id: string, members: string[] }>

beforeAll(async () => {
  sim = await startSimulator({ seed: 'licence-usage', size: { pages: 20, users: 3_000, groups: 12 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' }, { workers: true })
  managed = sim.data.groups().filter(g => g.name.startsWith('team-')).slice(0, 3)
  await connectSimulatorAlias(t, sim, {
    grant: 'client_credentials',
    managedGroups: managed.map(g => ({ groupId: g.id })),
    doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } }
  })
}, 30_000)
afterAll(() => closeCheckingContract(sim, t))

function expectedGroups (accountId: string): string[] {
  return managed.filter(g => g.members.includes(accountId)).map(g => g.id)
}

it('counts seats, activity and status exactly as the simulator\'s ground truth, account by account', async () => {
  sim.reset()
  const id = await submitJob(t, 'confluence.license.usage', { input: {} })
  const job = await waitForJob(t, id, undefined, 50_000)
  expect(job.state).toBe('completed')
  const r = job.result
  const truth = sim.org.usage({ asOf: Date.parse(r.asOf) })
  expect(r.site).toBe(truth.siteUrl)
  expect(r.seatsInUse).toBe(truth.seatsInUse)
  expect(r.seatsByActivity).toEqual(truth.seatsByActivity)
  expect(r.byStatus).toEqual(truth.byStatus)
  expect(r.withConfluence).toBe(truth.withConfluence)
  expect(r.listedByOrg).toBe(sim.data.users().filter(u => u.managed).length)
  for (const bucket of Object.values(truth.seatsByActivity)) expect(bucket).toBeGreaterThan(0)

  // Every account with Confluence access, as the org reports it, with its managed groups.
  const listed = r.accounts.filter((a: any) => a.activity !== 'unknown')
  expect(listed).toHaveLength(truth.accounts.size)
  for (const a of listed) {
    const want = truth.accounts.get(a.accountId)
    expect({ billable: a.billable, status: a.status, lastActive: a.lastActive }).toEqual(want)
    expect(a.managedGroups).toEqual(expectedGroups(a.accountId))
  }
  // Members of managed groups the org does not manage: unknown activity, counted and listed.
  const unmanaged = new Set(sim.data.users().filter(u => !u.managed).map(u => u.accountId))
  const expectedUnknown = [...new Set(managed.flatMap(g => g.members))].filter(a => unmanaged.has(a)).sort()
  expect(expectedUnknown.length).toBeGreaterThan(0)
  expect([...r.unknownActivity.accountIds].sort()).toEqual(expectedUnknown)
  expect(r.unknownActivity.count).toBe(expectedUnknown.length)
  const unknownRows = r.accounts.filter((a: any) => a.activity === 'unknown')
  expect(unknownRows.map((a: any) => a.accountId).sort()).toEqual(expectedUnknown)
  for (const a of unknownRows) expect(a).toEqual({ accountId: a.accountId, lastActive: null, activity: 'unknown', billable: null, status: null, managedGroups: expectedGroups(a.accountId) })

  const pages = sim.counters().byOperationStatus['admin.getOrgUsers']?.['200'] ?? 0
  console.log(`licence-usage: ${r.listedByOrg} org accounts in ${pages} pages; seats in use ${r.seatsInUse} (simulator ${truth.seatsInUse}); by activity ${JSON.stringify(r.seatsByActivity)}; by status ${JSON.stringify(r.byStatus)}; unknown activity ${r.unknownActivity.count as number}; mismatches 0`)

  const metrics = await http(t, 'GET', '/metrics', { key: t.keys.admin })
  expect(metrics.text).toContain(`spoke_licence_seats_in_use{alias="confluence_cloud"} ${truth.seatsInUse as number}`)
}, 55_000)

it('writes the accounts to an NDJSON file under SPOKE_DATA_DIR/licence/, and refuses a path outside it', async () => {
  const id = await submitJob(t, 'confluence.license.usage', { input: { sink: { type: 'file', path: 'reports/usage.ndjson' } } })
  const job = await waitForJob(t, id, undefined, 50_000)
  expect(job.state).toBe('completed')
  expect(job.result.accounts).toBeUndefined()
  expect(job.result.file.path).toBe(join('reports', 'usage.ndjson'))
  const lines = readFileSync(join(t.config.dataDir, 'licence', 'reports', 'usage.ndjson'), 'utf8').trim().split('\n').map(l => JSON.parse(l))
  expect(lines).toHaveLength(job.result.file.records)
  const truth = sim.org.usage({ asOf: Date.parse(job.result.asOf) })
  expect(lines.length).toBe(truth.accounts.size + job.result.unknownActivity.count)
  expect(lines.filter(l => l.billable === true).length).toBe(truth.seatsInUse)

  const escape = await submit(t, 'confluence.license.usage', { input: { sink: { type: 'file', path: 'a/../../etc/x.ndjson' } } })
  expect(escape.status).toBe(400)
  expect(escape.json().code).toBe('INPUT_INVALID')
}, 55_000)

it('fails with ORG_ADMIN_KEY_REFUSED for a wrong org key and ORG_ADMIN_NOT_CONFIGURED without one', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'wrong_key', grant: 'client_credentials', doc: { orgAdmin: { orgId: sim.orgId, apiKey: 'not-the-key' } } })
  await connectSimulatorAlias(t, sim, { alias: 'no_key', grant: 'client_credentials' })
  const wrong = await waitForJob(t, await submitJob(t, 'confluence.license.usage', { connection: 'wrong_key', input: {} }))
  expect(wrong.state).toBe('failed')
  expect(wrong.error.code).toBe('ORG_ADMIN_KEY_REFUSED')
  expect(JSON.stringify(wrong)).not.toContain('not-the-key')
  const none = await waitForJob(t, await submitJob(t, 'confluence.license.usage', { connection: 'no_key', input: {} }))
  expect(none.state).toBe('failed')
  expect(none.error.code).toBe('ORG_ADMIN_NOT_CONFIGURED')
})

it('lists both licence actions with their schemas', async () => {
  const res = await http(t, 'GET', '/v1/actions', { key: t.keys.invoker })
  const ids = (res.json().actions as Array<{ id: string, mode: string }>).filter(a => a.id.startsWith('confluence.license.'))
  expect(ids.map(a => [a.id, a.mode]).sort()).toEqual([['confluence.license.reclaim', 'async'], ['confluence.license.usage', 'async']])
  const one = await http(t, 'GET', '/v1/actions/confluence.license.reclaim', { key: t.keys.invoker })
  expect(one.json().input.properties.dryRun.default).toBe(true)
})
