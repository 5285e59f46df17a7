// Alias CRUD over HTTP on a real Redis: the shipped default alias, schema errors (all listed), the SSRF
// guard, secrets write-only, parent/child resolution, and deletion → CONNECTION_NOT_FOUND.
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { http } from '../helpers/connect'

let t: TestSpoke
const SECRET = 'cs_very-secret-value-123456'

beforeAll(async () => {
  t = await buildTestSpoke({ SPOKE_ALLOWED_HOSTS: 'auth.atlassian.com,api.atlassian.com,*.atlassian.net,127.0.0.1:9' })
})
afterAll(async () => { await t.close() })

function put (alias: string, body: unknown, key = t.keys.admin) {
  return http(t, 'PUT', `/v1/connections/${alias}`, { key, body })
}

const cc = (extra: object = {}) => ({
  name: 'Service account',
  credential: { type: 'oauth2_client_credentials', clientId: 'client-1', clientSecret: SECRET, scopes: ['read:page:confluence'] },
  site: { cloudId: 'c0ffee-1' },
  ...extra
})

it('ships confluence_cloud from connections/ and shows it as needing configuration when its env vars are unset', async () => {
  const res = await http(t, 'GET', '/v1/connections/confluence_cloud', { key: t.keys.viewer })
  expect(res.status).toBe(200)
  const v = res.json()
  expect(v).toMatchObject({ id: 'confluence_cloud', source: 'file', ready: false, token: { status: 'needs_configuration' } })
  expect(v.credential.scopes).toEqual(expect.arrayContaining(['ace:confluence', 'read:page:confluence', 'search:confluence', 'read:confluence-groups', 'write:confluence-groups', 'read:confluence-user', 'read:me', 'read:account', 'offline_access']))
  if (!process.env.CONFLUENCE_CLIENT_ID) expect(v.problems.join(' ')).toContain('CONFLUENCE_CLIENT_ID')
  const exec = await t.core.confluence.call('confluence_cloud', { method: 'GET', path: '/wiki/rest/api/user/current' }).catch(e => e)
  expect(exec.code).toBe('CONNECTION_NOT_AUTHORIZED')
})

it('creates, reads, replaces and lists an alias; secrets are write-only', async () => {
  const created = await put('svc', cc())
  expect(created.status).toBe(201)
  expect(created.text).not.toContain(SECRET)
  expect(created.json()).toMatchObject({ id: 'svc', source: 'api', secrets: { clientSecret: true, orgAdminApiKey: false } })
  expect(created.json().credential.clientSecret).toBeUndefined()

  // replace without the secret keeps it (same client)
  const replaced = await put('svc', { ...cc(), credential: { type: 'oauth2_client_credentials', clientId: 'client-1', scopes: ['read:page:confluence', 'search:confluence'] } })
  expect(replaced.status).toBe(200)
  expect(replaced.json().secrets.clientSecret).toBe(true)

  const list = await http(t, 'GET', '/v1/connections', { key: t.keys.viewer })
  expect(list.status).toBe(200)
  expect(list.json().connections.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['svc', 'confluence_cloud']))
  expect(list.text).not.toContain(SECRET)
})

it('answers 400 REQUEST_INVALID listing every schema error', async () => {
  const res = await put('bad', {
    name: '',
    bogus: 1,
    credential: { type: 'password', scopes: 'x' },
    retryPolicy: { maxAttempts: 0 }
  })
  expect(res.status).toBe(400)
  const p = res.json()
  expect(p.code).toBe('REQUEST_INVALID')
  const paths = p.errors.map((e: { path: string }) => e.path)
  expect(paths).toEqual(expect.arrayContaining(['/name', '/bogus', '/credential/type', '/credential/scopes', '/retryPolicy/maxAttempts']))
})

it.each([
  ['http://evil.example.com/', 'http is allowed only'],
  ['https://evil.example.com/', 'not in SPOKE_ALLOWED_HOSTS'],
  ['https://user:pw@api.atlassian.com/', 'credentials'],
  ['https://169.254.169.254/', 'not in SPOKE_ALLOWED_HOSTS'],
  ['https://atlassian.net.evil.com/', 'not in SPOKE_ALLOWED_HOSTS']
])('refuses connection URL %s (SSRF guard)', async (url, why) => {
  const res = await put('ssrf', cc({ connectionUrl: url }))
  expect(res.status).toBe(400)
  expect(res.json().detail).toContain(why)
})

it('refuses a token URL off the allow list, accepts *.atlassian.net and an explicitly listed http host', async () => {
  const bad = await put('ssrf2', cc({ credential: { type: 'oauth2_client_credentials', clientId: 'a', clientSecret: 'b', tokenUrl: 'https://example.org/token' } }))
  expect(bad.status).toBe(400)
  expect(bad.json().errors[0].path).toBe('/credential/tokenUrl')
  expect((await put('ok1', cc({ connectionUrl: 'https://acme.atlassian.net/' }))).status).toBe(201)
  expect((await put('ok2', cc({ connectionUrl: 'http://127.0.0.1:9/' }))).status).toBe(201)
})

it('rejects non-objects and bad alias ids without hanging', async () => {
  const arr = await http(t, 'PUT', '/v1/connections/x1', { key: t.keys.admin, raw: '[1,2]' })
  expect(arr.status).toBe(400)
  const junk = await http(t, 'PUT', '/v1/connections/x1', { key: t.keys.admin, raw: '{"name":' })
  expect(junk.status).toBe(400)
  const badId = await put('Bad_ID', cc())
  expect(badId.status).toBe(400)
  const missing = await http(t, 'GET', '/v1/connections/nope', { key: t.keys.admin })
  expect(missing.status).toBe(404)
  expect(missing.json().code).toBe('CONNECTION_NOT_FOUND')
})

it('enforces roles: viewers read, only admins write', async () => {
  expect((await put('v1', cc(), t.keys.viewer)).status).toBe(403)
  expect((await put('v1', cc(), t.keys.invoker)).status).toBe(403)
  expect((await http(t, 'GET', '/v1/connections', { key: t.keys.invoker })).status).toBe(403)
  expect((await http(t, 'POST', '/v1/connections/svc/token', { key: t.keys.viewer })).status).toBe(403)
  expect((await http(t, 'GET', '/v1/connections')).status).toBe(401)
})

it('resolves a parent to its active child, records both, and a deleted alias stops resolving', async () => {
  expect((await put('parent1', cc())).status).toBe(201)
  expect((await t.core.connections.sessions.resolve('parent1')).resolved).toBe('parent1')
  expect((await put('child_a', { parent: 'parent1', site: { cloudId: 'aaa' } })).status).toBe(201)
  expect((await put('child_b', { parent: 'parent1', active: true, site: { cloudId: 'bbb' }, managedGroups: [{ groupId: 'g1', name: 'one' }] })).status).toBe(201)
  const r = await t.core.connections.sessions.resolve('parent1')
  expect(r).toMatchObject({ requested: 'parent1', resolved: 'child_b', managedGroups: [{ groupId: 'g1', name: 'one' }], scopes: ['read:page:confluence'] })
  // the child inherits the parent's credential
  const child = (await http(t, 'GET', '/v1/connections/child_b', { key: t.keys.admin })).json()
  expect(child).toMatchObject({ parent: 'parent1', active: true, problems: [] })
  // activating a sibling moves the pointer
  expect((await put('child_a', { parent: 'parent1', active: true, site: { cloudId: 'aaa' } })).status).toBe(200)
  expect((await t.core.connections.sessions.resolve('parent1')).resolved).toBe('child_a')
  const parent = (await http(t, 'GET', '/v1/connections/parent1', { key: t.keys.admin })).json()
  expect(parent).toMatchObject({ resolvesTo: 'child_a', children: ['child_a', 'child_b'] })
  // a parent with children cannot be deleted; a child can
  expect((await http(t, 'DELETE', '/v1/connections/parent1', { key: t.keys.admin })).status).toBe(400)
  expect((await http(t, 'DELETE', '/v1/connections/child_a', { key: t.keys.admin })).status).toBe(204)
  expect((await t.core.connections.sessions.resolve('parent1')).resolved).toBe('parent1')
  await expect(t.core.connections.sessions.resolve('child_a')).rejects.toMatchObject({ code: 'CONNECTION_NOT_FOUND' })
  // nested children are refused
  const nested = await put('grandchild', { parent: 'child_b' })
  expect(nested.status).toBe(400)
  expect((await put('orphan', { parent: 'nobody' })).status).toBe(400)
})

it('deleting an alias makes resolve() answer CONNECTION_NOT_FOUND', async () => {
  expect((await put('gone', cc())).status).toBe(201)
  await t.core.connections.sessions.resolve('gone')
  expect((await http(t, 'DELETE', '/v1/connections/gone', { key: t.keys.admin })).status).toBe(204)
  await expect(t.core.connections.sessions.resolve('gone')).rejects.toMatchObject({ code: 'CONNECTION_NOT_FOUND', statusCode: 404 })
  expect((await http(t, 'DELETE', '/v1/connections/gone', { key: t.keys.admin })).status).toBe(404)
})

it('publishes the routes in /openapi.json', async () => {
  const spec = (await http(t, 'GET', '/openapi.json')).json()
  for (const p of ['/v1/connections', '/v1/connections/{alias}', '/v1/connections/{alias}/authorize', '/v1/oauth/callback', '/v1/connections/{alias}/token', '/v1/connections/{alias}/test', '/v1/connections/{alias}/groups', '/v1/connections/{alias}/groups/available']) {
    expect(spec.paths[p]).toBeDefined()
  }
})
