// GET /v1/connections/{alias}/setup against the simulator: a 3LO alias whose grant lacks the group-write
// scopes (the actions that need them are listed with what is missing, from the granted scopes), a
// client-credentials alias (no redirect URI, service-account steps), and the org admin key check: the
// simulator's Organizations API answers 401 to a wrong key, and lists every managed account to the right one.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'golive-setup', size: { pages: 5, users: 150, groups: 6 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn' })
}, 30_000)
afterAll(async () => {
  await t.close()
  await sim.close()
})

const setup = async (alias: string): Promise<any> => {
  const res = await http(t, 'GET', `/v1/connections/${alias}/setup`, { key: t.keys.admin })
  expect(res.status).toBe(200)
  return res.json()
}

it('3LO alias missing a scope: the redirect URI to register, and per action what the grant lacks', async () => {
  const known = [...(sim.state.knownScopes as Set<string>)]
  const scopes = known.filter(s => s !== 'write:confluence-groups' && s !== 'write:group:confluence')
  await connectSimulatorAlias(t, sim, { alias: 'golive_3lo', scopes })
  const body = await setup('golive_3lo')
  expect(body.grant).toBe('oauth2_authorization_code')
  expect(body.redirectUri).toBe(`${t.config.publicUrl}/v1/oauth/callback`)
  expect(body.register[0]).toContain(body.redirectUri)
  expect(body.scopes.basis).toBe('granted')
  expect(body.scopes.granted).not.toContain('write:confluence-groups')
  // Exactly the actions that write group memberships lack something, and only the write scope.
  expect(Object.keys(body.scopes.missing).sort()).toEqual([
    'confluence.group.member.add', 'confluence.group.member.remove', 'confluence.group.members.bulk', 'confluence.license.reclaim'
  ])
  expect(body.scopes.missing['confluence.group.member.add']).toEqual(['write:confluence-groups'])
  const add = body.scopes.actions.find((a: any) => a.action === 'confluence.group.member.add')
  expect(add.sets.map((s: any) => s.kind)).toEqual(['classic', 'granular'])
  expect(body.register.some((s: string) => s.includes('scopes.missing'))).toBe(true)
  expect(body.orgAdmin).toBeNull()

  // Before any consent the requested scopes are the basis.
  await http(t, 'PUT', '/v1/connections/golive_fresh', {
    key: t.keys.admin,
    body: { connectionUrl: `${sim.url}/`, credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: ['read:page:confluence'], authorizeUrl: `${sim.url}/authorize`, tokenUrl: `${sim.url}/oauth/token` } }
  })
  const fresh = await setup('golive_fresh')
  expect(fresh.scopes).toMatchObject({ basis: 'requested', granted: null, requested: ['read:page:confluence'], family: 'granular' })
  expect(fresh.scopes.missing['confluence.page.get']).toBeUndefined()
  expect(fresh.scopes.missing['confluence.space.list']).toEqual(['read:space:confluence'])
})

it('client-credentials alias: no redirect URI, the service-account steps, scopes from the token', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'golive_cc', grant: 'client_credentials' })
  const body = await setup('golive_cc')
  expect(body.grant).toBe('oauth2_client_credentials')
  expect(body.redirectUri).toBeNull()
  expect(body.register[0]).toContain('Service accounts')
  expect(body.scopes.basis).toBe('granted')
  // Everything the service account's token holds; only the personal-data report stays out of reach (a
  // client-credentials token cannot hold report:personal-data: docs/privacy.md).
  expect(body.scopes.missing).toEqual({ 'confluence.privacy.report': ['report:personal-data'] })
  expect(body.scopes.needed.length).toBeGreaterThan(0)
})

it('org admin key: a wrong key is reported as not working (the simulator enforces it); the right one lists the managed accounts', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'golive_badorg', grant: 'client_credentials', doc: { orgAdmin: { orgId: sim.orgId, apiKey: 'not-the-org-key' } } })
  const bad = await setup('golive_badorg')
  expect(bad.orgAdmin).toMatchObject({ orgId: sim.orgId, keyWorks: false, managedAccounts: null, error: { code: 'ORG_ADMIN_KEY_REFUSED' } })
  expect(bad.orgAdmin.error.message).toContain('401')
  expect(JSON.stringify(bad)).not.toContain('not-the-org-key')

  // Without orgId: looked up with the key, then one page of users.
  await connectSimulatorAlias(t, sim, { alias: 'golive_org', grant: 'client_credentials', doc: { orgAdmin: { apiKey: sim.adminApiKey } } })
  const good = await setup('golive_org')
  const managed = sim.data.users().filter(u => u.managed).length
  expect(good.orgAdmin).toMatchObject({ orgId: sim.orgId, keyWorks: true, managedAccounts: managed })
  expect(good.orgAdmin.firstPageSize).toBeGreaterThan(0)
  expect(good.orgAdmin.emailsOnFirstPage).toBe(good.orgAdmin.firstPageSize)
})

it('unknown alias: 404 CONNECTION_NOT_FOUND; viewers may not read it', async () => {
  const res = await http(t, 'GET', '/v1/connections/nope_nope/setup', { key: t.keys.admin })
  expect(res.status).toBe(404)
  expect(res.json().code).toBe('CONNECTION_NOT_FOUND')
  expect((await http(t, 'GET', '/v1/connections/golive_cc/setup', { key: t.keys.viewer })).status).toBe(403)
})
