// The consent flow over HTTP against the simulator: authorize → consent page → Approve → callback →
// active token → a Confluence call through the client; replayed and declined callbacks; a grant that
// reaches two sites; client credentials; refresh_failed and its recovery by a new consent.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, consent, http, simulatorEnv } from '../helpers/connect'

let sim: Simulator
let t: TestSpoke
const answers: string[] = []

beforeAll(async () => {
  sim = await startSimulator({ seed: 4, size: 10 })
  t = await buildTestSpoke(simulatorEnv(sim))
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

async function call (method: string, path: string, body?: unknown) {
  const res = await http(t, method, path, { key: t.keys.admin, body })
  answers.push(res.text)
  return res
}

it('runs the consent end to end and calls Confluence with the new token', async () => {
  const { view } = await connectSimulatorAlias(t, sim, { alias: 'acme', site: undefined })
  expect(view).toMatchObject({ id: 'acme', ready: true, token: { status: 'active' }, boundSite: { cloudId: sim.defaultCloudId } })
  expect(view.token.grantedScopes).toEqual(expect.arrayContaining(['read:page:confluence', 'offline_access']))
  const res = await t.core.confluence.call('acme', { method: 'GET', path: '/wiki/rest/api/user/current' })
  expect(res.status).toBe(200)
  expect((res.body as { accountId: string }).accountId).toBeTruthy()
  expect(res.url).toBe(`${sim.url}/ex/confluence/${sim.defaultCloudId}/wiki/rest/api/user/current`)
  expect(await t.core.confluence.site('acme')).toEqual({ cloudId: sim.defaultCloudId, url: sim.sites()[0].url })
  const tested = await call('POST', '/v1/connections/acme/test')
  expect(tested.status).toBe(200)
  expect(tested.json()).toMatchObject({ ok: true, site: { cloudId: sim.defaultCloudId }, account: { accountId: expect.any(String) }, missingScopes: {} })
})

it('sends audience, prompt, offline_access, the redirect URI and a state on authorize', async () => {
  await call('PUT', '/v1/connections/narrow', {
    connectionUrl: `${sim.url}/`,
    credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: ['read:page:confluence'] }
  })
  const res = await call('GET', '/v1/connections/narrow/authorize')
  expect(res.status).toBe(302)
  const u = new URL(res.headers.location)
  expect(`${u.origin}${u.pathname}`).toBe(`${sim.url}/authorize`)
  expect(Object.fromEntries(u.searchParams)).toMatchObject({
    audience: 'api.atlassian.com', prompt: 'consent', response_type: 'code', client_id: sim.clientId,
    scope: 'read:page:confluence offline_access', redirect_uri: 'http://localhost:3000/v1/oauth/callback'
  })
  expect(u.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{40,}$/)
  const json = await call('GET', '/v1/connections/narrow/authorize?redirect=false')
  expect(json.json().authorizeUrl).toContain(`${sim.url}/authorize?`)
})

it('refuses a replayed callback (state already used) and a declined consent', async () => {
  await call('PUT', '/v1/connections/replay', { connectionUrl: `${sim.url}/`, credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: ['read:page:confluence'] } })
  const first = await consent(t, sim, 'replay')
  expect(first.status).toBe(200)
  const again = await http(t, 'GET', first.callbackPath)
  expect(again.status).toBe(400)
  expect(again.headers['content-type']).toContain('text/html')
  expect(again.text).toContain('already used or expired')
  const forged = await http(t, 'GET', '/v1/oauth/callback?code=x&state=abcdefghijklmnopqrstuvwxyz')
  expect(forged.status).toBe(400)
  const declined = await consent(t, sim, 'replay', { decision: 'deny' })
  expect(declined.status).toBe(400)
  expect(declined.text).toContain('access_denied')
  // the earlier tokens are untouched by the declined consent
  expect((await call('GET', '/v1/connections/replay')).json().token.status).toBe('active')
})

it('answers 409 CONNECTION_NOT_AUTHORIZED, saying what to do, before any consent', async () => {
  await call('PUT', '/v1/connections/fresh', { connectionUrl: `${sim.url}/`, credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: ['read:page:confluence'] } })
  expect((await call('GET', '/v1/connections/fresh')).json().token.status).toBe('needs_consent')
  const err = await t.core.confluence.call('fresh', { method: 'GET', path: '/wiki/rest/api/user/current' }).catch(e => e)
  expect(err).toMatchObject({ code: 'CONNECTION_NOT_AUTHORIZED', statusCode: 409 })
  expect(err.message).toContain('/v1/connections/fresh/authorize')
  const tok = await call('POST', '/v1/connections/fresh/token')
  expect(tok.status).toBe(409)
})

it('with two sites and none named, waits for the admin; PUT site.cloudId or ?site= picks one', async () => {
  const second = sim.addSite({ size: 5 })
  const doc = { connectionUrl: `${sim.url}/`, credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: ['read:page:confluence', 'read:confluence-user'] } }
  await call('PUT', '/v1/connections/multi', doc)
  const done = await consent(t, sim, 'multi')
  expect(done.status).toBe(200)
  expect(done.text).toContain('Choose a site')
  let view = (await call('GET', '/v1/connections/multi')).json()
  expect(view.boundSite).toBeNull()
  expect(view.siteChoices.map((c: { cloudId: string }) => c.cloudId).sort()).toEqual([sim.defaultCloudId, second.cloudId].sort())
  expect(view.ready).toBe(false)
  const waiting = await t.core.confluence.call('multi', { method: 'GET', path: '/wiki/rest/api/user/current' }).catch(e => e)
  expect(waiting.code).toBe('CONNECTION_NOT_AUTHORIZED')
  expect(waiting.message).toContain('site.cloudId')

  // the admin picks with PUT (tokens kept: same client)
  await call('PUT', '/v1/connections/multi', { ...doc, site: { cloudId: second.cloudId } })
  const res = await t.core.confluence.call('multi', { method: 'GET', path: '/wiki/rest/api/user/current' })
  expect(res.url).toContain(`/ex/confluence/${second.cloudId}/`)
  view = (await call('GET', '/v1/connections/multi')).json()
  expect(view.boundSite).toMatchObject({ cloudId: second.cloudId, url: second.url })

  // or names the site on authorize
  await call('PUT', '/v1/connections/multi2', doc)
  const picked = await consent(t, sim, 'multi2', { site: second.url })
  expect(picked.status).toBe(200)
  expect(picked.text).toContain('Connected')
  expect((await call('GET', '/v1/connections/multi2')).json().boundSite.cloudId).toBe(second.cloudId)
})

it('client credentials: a token on demand, the site from site.url', async () => {
  const { view } = await connectSimulatorAlias(t, sim, { alias: 'svc', grant: 'client_credentials', site: sim.sites()[0].url })
  expect(view).toMatchObject({ token: { status: 'active' }, boundSite: { cloudId: sim.defaultCloudId } })
  const before = sim.counters().tokensGranted.client_credentials
  const res = await t.core.confluence.call('svc', { method: 'GET', path: '/wiki/api/v2/spaces', query: { limit: 2 } })
  expect(res.status).toBe(200)
  expect(sim.counters().tokensGranted.client_credentials).toBe(before) // cached, no new token
})

it('a wrong client secret is reported, not retried forever', async () => {
  await call('PUT', '/v1/connections/wrong', { connectionUrl: `${sim.url}/`, site: { cloudId: sim.defaultCloudId }, credential: { type: 'oauth2_client_credentials', clientId: sim.clientId, clientSecret: 'not-the-secret' } })
  const res = await call('POST', '/v1/connections/wrong/token')
  expect(res.status).toBe(409)
  expect(res.json().detail).toContain('clientSecret')
  const fixed = await call('PUT', '/v1/connections/wrong', { connectionUrl: `${sim.url}/`, site: { cloudId: sim.defaultCloudId }, credential: { type: 'oauth2_client_credentials', clientId: sim.clientId, clientSecret: sim.clientSecret } })
  expect(fixed.status).toBe(200)
  expect((await call('POST', '/v1/connections/wrong/token')).status).toBe(200)
})

it('a revoked refresh token marks the alias refresh_failed; a new consent recovers it', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'revoked', scopes: ['read:page:confluence', 'read:confluence-user'] })
  sim.revokeRefreshTokens()
  sim.expireAllTokens() // the gateway now answers 401: the client refreshes once, which fails
  const err = await t.core.confluence.call('revoked', { method: 'GET', path: '/wiki/rest/api/user/current' }).catch(e => e)
  expect(err).toMatchObject({ code: 'CONNECTION_NOT_AUTHORIZED', statusCode: 409 })
  expect(err.message).toContain('GET /v1/connections/revoked/authorize')
  const view = (await call('GET', '/v1/connections/revoked')).json()
  expect(view.token.status).toBe('refresh_failed')
  expect(view.problems.join(' ')).toContain('authorize')
  // no token request while refresh_failed
  const before = sim.counters().tokenRequests
  await expect(t.core.confluence.call('revoked', { method: 'GET', path: '/wiki/rest/api/user/current' })).rejects.toMatchObject({ code: 'CONNECTION_NOT_AUTHORIZED' })
  expect(sim.counters().tokenRequests).toBe(before)
  expect((await consent(t, sim, 'revoked')).status).toBe(200)
  expect((await t.core.confluence.call('revoked', { method: 'GET', path: '/wiki/rest/api/user/current' })).status).toBe(200)
})

it('never shows a secret or token in a response', async () => {
  const list = await call('GET', '/v1/connections')
  expect(list.status).toBe(200)
  const all = answers.join('\n')
  expect(all).not.toContain(sim.clientSecret)
  expect(all).not.toMatch(/\b(at|rt)_[A-Za-z0-9_-]{20,}/) // simulator token shapes
  expect(t.logs()).not.toContain(sim.clientSecret)
  expect(t.logs()).not.toMatch(/\b(at|rt|ac)_[A-Za-z0-9_-]{20,}/)
  expect(sim.invalidRequests()).toEqual([]) // every request we sent matched the official specs
})
