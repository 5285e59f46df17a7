// Managed groups (live from Confluence, every offset page) and the connection test's scope report.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 5, size: { pages: 10, users: 40, groups: 450 } })
  t = await buildTestSpoke(simulatorEnv(sim))
  await connectSimulatorAlias(t, sim, { alias: 'grp', grant: 'client_credentials' })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

it('lists every group of the site across offset pages (limit 200)', async () => {
  const before = sim.counters().byOperation.getGroups ?? 0
  const res = await http(t, 'GET', '/v1/connections/grp/groups/available', { key: t.keys.admin })
  expect(res.status).toBe(200)
  const groups = res.json().groups as Array<{ groupId: string, name: string, managed: boolean }>
  const truth = sim.data.groups(sim.defaultCloudId)
  expect(groups.length).toBe(truth.length)
  expect(new Set(groups.map(g => g.groupId))).toEqual(new Set(truth.map(g => g.id)))
  expect(groups.every(g => g.managed === false)).toBe(true)
  expect((sim.counters().byOperation.getGroups ?? 0) - before).toBe(3)
  expect(sim.invalidRequests()).toEqual([])
})

it('replaces the managed groups (names from Confluence) and refuses unknown ids', async () => {
  const truth = sim.data.groups(sim.defaultCloudId)
  const pick = [truth[3], truth[300]]
  const res = await http(t, 'PUT', '/v1/connections/grp/groups', { key: t.keys.admin, body: { groups: [{ groupId: pick[0].id }, { groupId: pick[1].id, name: 'ignored' }] } })
  expect(res.status).toBe(200)
  expect(res.json().groups).toEqual(pick.map(g => ({ groupId: g.id, name: g.name })))
  expect((await http(t, 'GET', '/v1/connections/grp/groups', { key: t.keys.admin })).json().groups).toEqual(pick.map(g => ({ groupId: g.id, name: g.name })))
  expect((await t.core.connections.sessions.resolve('grp')).managedGroups).toEqual(pick.map(g => ({ groupId: g.id, name: g.name })))
  const available = (await http(t, 'GET', '/v1/connections/grp/groups/available', { key: t.keys.admin })).json().groups
  expect(available.filter((g: { managed: boolean }) => g.managed).map((g: { groupId: string }) => g.groupId).sort()).toEqual(pick.map(g => g.id).sort())

  const unknown = await http(t, 'PUT', '/v1/connections/grp/groups', { key: t.keys.admin, body: { groups: [{ groupId: 'no-such-group' }] } })
  expect(unknown.status).toBe(400)
  expect(unknown.json().detail).toContain('no-such-group')
  const bad = await http(t, 'PUT', '/v1/connections/grp/groups', { key: t.keys.admin, body: { groups: [{ id: 1 }], extra: true } })
  expect(bad.status).toBe(400)
  expect(bad.json().errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['/extra', '/groups/0/groupId', '/groups/0/id']))
  expect((await http(t, 'PUT', '/v1/connections/nope/groups', { key: t.keys.admin, body: { groups: [] } })).status).toBe(404)
  expect((await http(t, 'GET', '/v1/connections/grp/groups', { key: t.keys.viewer })).status).toBe(403)
})

it('tests a connection: site, account, and the scopes each action still misses', async () => {
  const core = t.core as unknown as { actions?: unknown }
  const had = Object.prototype.hasOwnProperty.call(core, 'actions')
  const previous = core.actions
  core.actions = {
    list: () => [
      { id: 'confluence.user.current', scopes: [['read:confluence-user']] },
      { id: 'x.needs.unknown', scopes: [['made:up:scope', 'read:confluence-user'], ['other:missing']] }
    ]
  }
  try {
    const res = await http(t, 'POST', '/v1/connections/grp/test', { key: t.keys.admin })
    expect(res.status).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({
      ok: true,
      connection: { requested: 'grp', resolved: 'grp' },
      site: { cloudId: sim.defaultCloudId, url: sim.sites()[0].url },
      account: { accountId: sim.serviceAccountId },
      missingScopes: { 'x.needs.unknown': ['made:up:scope'] }
    })
    expect(body.grantedScopes).toEqual(expect.arrayContaining(['read:confluence-user']))
  } finally {
    if (had) core.actions = previous
    else delete core.actions
  }
})

it('reports a failing connection in the test body instead of failing the request', async () => {
  await http(t, 'PUT', '/v1/connections/broken', { key: t.keys.admin, body: { connectionUrl: `${sim.url}/`, site: { cloudId: sim.defaultCloudId }, credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret } } })
  const res = await http(t, 'POST', '/v1/connections/broken/test', { key: t.keys.admin })
  expect(res.status).toBe(200)
  expect(res.json()).toMatchObject({ ok: false, site: null, account: null, error: { code: 'CONNECTION_NOT_AUTHORIZED' } })
})

it('runs through the action engine: a 503 from Confluence is retried for /groups/available and /test', async () => {
  sim.faults.next({ kind: 'error', status: 503, retryAfter: 0 }, 1, { operations: ['getGroups'], targets: ['api'] })
  const groups = await http(t, 'GET', '/v1/connections/grp/groups/available', { key: t.keys.admin })
  expect(groups.status).toBe(200)
  expect(groups.json().groups).toHaveLength(sim.data.groups(sim.defaultCloudId).length)
  sim.faults.next({ kind: 'error', status: 503, retryAfter: 0 }, 1, { operations: ['getCurrentUser'], targets: ['api'] })
  const tested = await http(t, 'POST', '/v1/connections/grp/test', { key: t.keys.admin })
  expect(tested.json()).toMatchObject({ ok: true, account: { accountId: sim.serviceAccountId } })
  sim.faults.clear()
})
