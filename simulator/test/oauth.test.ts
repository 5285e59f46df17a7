import { startSimulator, type Simulator } from '../src/index'
import { confluence, http } from './helpers'

const REDIRECT = 'http://localhost:3000/v1/oauth/callback'
const SCOPES = 'read:page:confluence search:confluence read:me offline_access'

function authorizeUrl (sim: Simulator, overrides: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    audience: 'api.atlassian.com', client_id: sim.clientId, scope: SCOPES, redirect_uri: REDIRECT,
    state: 'st-1', response_type: 'code', prompt: 'consent', ...overrides
  })
  return `${sim.url}/authorize?${params.toString()}`
}

async function token (sim: Simulator, body: Record<string, string>, form = false): ReturnType<typeof http> {
  return await http(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(body).toString() : JSON.stringify(body)
  })
}

describe('simulator: OAuth server', () => {
  describe('consent page (auto-consent off)', () => {
    let sim: Simulator
    beforeAll(async () => { sim = await startSimulator({ size: 20, sites: 2 }) })
    afterAll(async () => { await sim.close() })

    it('shows a consent page whose Approve redirects back with a code bound to the state', async () => {
      const page = await http(authorizeUrl(sim))
      expect(page.status).toBe(200)
      expect(page.text).toContain('Approve')
      const requestId = /name="request" value="([^"]+)"/.exec(page.text)?.[1] as string
      const approved = await http(`${sim.url}/authorize/consent`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request: requestId, decision: 'approve', account: sim.adminAccountId }).toString()
      })
      expect(approved.status).toBe(302)
      const location = new URL(approved.headers.get('location') as string)
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT)
      expect(location.searchParams.get('state')).toBe('st-1')
      const code = location.searchParams.get('code') as string

      const exchanged = await token(sim, { grant_type: 'authorization_code', client_id: sim.clientId, client_secret: sim.clientSecret, code, redirect_uri: REDIRECT })
      expect(exchanged.status).toBe(200)
      expect(exchanged.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: SCOPES })
      expect(exchanged.body.refresh_token).toEqual(expect.any(String))

      const reused = await token(sim, { grant_type: 'authorization_code', client_id: sim.clientId, client_secret: sim.clientSecret, code, redirect_uri: REDIRECT })
      expect(reused.status).toBe(403)
      expect(reused.body.error).toBe('invalid_grant')

      const resources = await http(`${sim.url}/oauth/token/accessible-resources`, { headers: { authorization: `Bearer ${exchanged.body.access_token as string}` } })
      expect(resources.status).toBe(200)
      expect(resources.body).toEqual(sim.sites().map((s) => expect.objectContaining({ id: s.cloudId, url: s.url, name: s.name, scopes: ['read:page:confluence', 'search:confluence'] })))
      expect(resources.body).toHaveLength(2)

      const me = await http(`${sim.url}/me`, { headers: { authorization: `Bearer ${exchanged.body.access_token as string}` } })
      expect(me.body).toMatchObject({ account_id: sim.adminAccountId, email: 'admin@acme.example', account_status: 'active' })
    })

    it('redirects a denial with access_denied', async () => {
      const page = await http(authorizeUrl(sim))
      const requestId = /name="request" value="([^"]+)"/.exec(page.text)?.[1] as string
      const denied = await http(`${sim.url}/authorize/consent`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request: requestId, decision: 'deny' }).toString()
      })
      const location = new URL(denied.headers.get('location') as string)
      expect(location.searchParams.get('error')).toBe('access_denied')
      expect(location.searchParams.get('state')).toBe('st-1')
    })

    it.each([
      ['an unknown client', { client_id: 'nope' }, 400],
      ['a redirect URI outside the prefix', { redirect_uri: 'https://evil.example/cb' }, 400]
    ])('refuses %s with an error page', async (_name, overrides, status) => {
      const res = await http(authorizeUrl(sim, overrides))
      expect(res.status).toBe(status)
    })

    it.each([
      ['a wrong audience', { audience: 'example.com' }, 'invalid_request'],
      ['a wrong response_type', { response_type: 'token' }, 'unsupported_response_type'],
      ['an unknown scope', { scope: 'read:everything' }, 'invalid_scope']
    ])('redirects %s back with an error', async (_name, overrides, error) => {
      const res = await http(authorizeUrl(sim, overrides))
      expect(res.status).toBe(302)
      expect(new URL(res.headers.get('location') as string).searchParams.get('error')).toBe(error)
    })
  })

  describe('tokens (auto-consent on, short lifetimes)', () => {
    let sim: Simulator
    beforeAll(async () => { sim = await startSimulator({ size: 20, autoConsent: true, refreshLeewaySeconds: 1, accessTokenTtlSeconds: 2 }) })
    afterAll(async () => { await sim.close() })

    async function consent (): Promise<{ access_token: string, refresh_token: string }> {
      const res = await http(authorizeUrl(sim))
      expect(res.status).toBe(302)
      const code = new URL(res.headers.get('location') as string).searchParams.get('code') as string
      const exchanged = await token(sim, { grant_type: 'authorization_code', client_id: sim.clientId, client_secret: sim.clientSecret, code, redirect_uri: REDIRECT })
      return exchanged.body
    }

    it('rotates refresh tokens: the old one works within the leeway, then invalid_grant', async () => {
      const first = await consent()
      const refresh = (rt: string): ReturnType<typeof token> => token(sim, { grant_type: 'refresh_token', client_id: sim.clientId, client_secret: sim.clientSecret, refresh_token: rt })
      const second = await refresh(first.refresh_token)
      expect(second.status).toBe(200)
      expect(second.body.refresh_token).not.toBe(first.refresh_token)
      expect(second.body.expires_in).toBe(2)
      const withinLeeway = await refresh(first.refresh_token)
      expect(withinLeeway.status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 1200))
      const afterLeeway = await refresh(first.refresh_token)
      expect(afterLeeway.status).toBe(403)
      expect(afterLeeway.body).toEqual({ error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' })
      const newest = await refresh(second.body.refresh_token)
      expect(newest.status).toBe(200)
      expect(sim.counters().tokensGranted).toMatchObject({ authorization_code: 1, refresh_token: 3 })
    })

    it('expires access tokens after their lifetime', async () => {
      const { access_token: at } = await consent()
      const page = sim.data.spaces()[0].homepageId as string
      expect((await confluence(sim, at, 'GET', `/wiki/api/v2/pages/${page}`)).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 2100))
      expect((await confluence(sim, at, 'GET', `/wiki/api/v2/pages/${page}`)).status).toBe(401)
    })

    it('grants client credentials from JSON and form bodies, with or without audience', async () => {
      const base = { grant_type: 'client_credentials', client_id: sim.clientId, client_secret: sim.clientSecret }
      for (const [body, form] of [[base, false], [{ ...base, audience: 'api.atlassian.com' }, false], [base, true], [{ ...base, audience: 'api.atlassian.com', scope: 'read:confluence-groups read:me' }, true]] as const) {
        const res = await token(sim, body, form)
        expect(res.status).toBe(200)
        expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 2 })
        expect(res.body.refresh_token).toBeUndefined()
        const me = await http(`${sim.url}/me`, { headers: { authorization: `Bearer ${res.body.access_token as string}` } })
        expect(me.body.account_id).toBe(sim.serviceAccountId)
      }
      expect((await token(sim, { ...base, audience: 'example.com' })).body.error).toBe('invalid_request')
    })

    it('refuses a wrong client secret with 401 access_denied and an unknown grant type with 400', async () => {
      const bad = await token(sim, { grant_type: 'client_credentials', client_id: sim.clientId, client_secret: 'wrong' })
      expect(bad.status).toBe(401)
      expect(bad.body).toEqual({ error: 'access_denied', error_description: 'Unauthorized' })
      const unsupported = await token(sim, { grant_type: 'password', client_id: sim.clientId, client_secret: sim.clientSecret })
      expect(unsupported.status).toBe(400)
      expect(unsupported.body.error).toBe('unsupported_grant_type')
    })
  })
})
