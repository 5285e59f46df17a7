// A sibling that rotated the refresh token first (one whose lock expired, arranged here through a token
// endpoint that wraps the real one) must not lock the alias out: the loser's refresh gets invalid_grant, re-reads the
// store once, and carries on with the sibling's tokens.
import { request } from 'undici'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'

let sim: Simulator
let t: TestSpoke
/** Runs under the refresh lock right before each refresh_token request of the spoke. */
let beforeRefreshRequest: ((alias: string) => Promise<void>) | undefined

beforeAll(async () => {
  sim = await startSimulator({ seed: 11, size: 5, refreshLeewaySeconds: 0 })
  t = await buildTestSpoke(simulatorEnv(sim), {
    core: {
      wrapTokenEndpoint: (real) => ({
        ...real,
        refresh: async (client, refreshToken) => {
          await beforeRefreshRequest?.(client.alias)
          return await real.refresh(client, refreshToken)
        }
      })
    }
  })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

/** What a sibling process does: refresh with the stored refresh token and store the new set. */
async function siblingRotates (alias: string, opts: { expired?: boolean } = {}): Promise<void> {
  const store = t.core.connections.tokens
  const cur = await store.readTokens(alias)
  const res = await request(`${sim.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'refresh_token', client_id: sim.clientId, client_secret: sim.clientSecret, refresh_token: cur.set!.refreshToken })
  })
  const body = await res.body.json() as { access_token: string, refresh_token: string, expires_in: number, scope: string }
  expect(res.statusCode).toBe(200)
  const now = Date.now()
  const expiresAt = opts.expired ? now - 1000 : now + body.expires_in * 1000
  const set = { accessToken: body.access_token, refreshToken: body.refresh_token, expiresAt, obtainedAt: now - 2000, scopes: body.scope.split(' '), gen: cur.set!.gen + 1 }
  await store.writeTokens(alias, set, { status: 'active', expiresAt, grantedScopes: set.scopes, lastRefreshAt: now, gen: set.gen })
}

const tokenStatuses = () => ({ ...(sim.counters().byOperationStatus['oauth.token'] ?? {}) })

it('recovers by re-reading when a sibling rotated first (its new token still fresh)', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'sib', scopes: ['read:confluence-user', 'offline_access'] })
  let once = true
  beforeRefreshRequest = async (alias: string) => {
    if (once && alias === 'sib') { once = false; await siblingRotates('sib') }
  }
  try {
    const before = tokenStatuses()
    const res = await http(t, 'POST', '/v1/connections/sib/token', { key: t.keys.admin })
    expect(res.status).toBe(200)
    expect(res.json().token.status).toBe('active')
    const after = tokenStatuses()
    expect((after['403'] ?? 0) - (before['403'] ?? 0)).toBe(1) // the loser's stale refresh token was refused once
    expect((await t.core.confluence.call('sib', { method: 'GET', path: '/wiki/rest/api/user/current' })).status).toBe(200)
    expect((await http(t, 'GET', '/v1/connections/sib', { key: t.keys.admin })).json().token.status).toBe('active')
  } finally {
    beforeRefreshRequest = undefined
  }
})

it('recovers when the sibling\'s token is no longer fresh either: refreshes once more with the stored one', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'sib2', scopes: ['read:confluence-user', 'offline_access'] })
  let once = true
  beforeRefreshRequest = async (alias: string) => {
    if (once && alias === 'sib2') { once = false; await siblingRotates('sib2', { expired: true }) }
  }
  try {
    sim.expireAllTokens() // the client's call gets 401 → one refresh (which meets the sibling's rotation)
    const before = sim.counters().tokensGranted.refresh_token
    const res = await t.core.confluence.call('sib2', { method: 'GET', path: '/wiki/rest/api/user/current' })
    expect(res.status).toBe(200)
    expect(sim.counters().tokensGranted.refresh_token - before).toBe(2) // the sibling's and ours (with the sibling's token)
    const stored = (await t.core.connections.tokens.readTokens('sib2')).set!
    expect(stored.expiresAt).toBeGreaterThan(Date.now())
  } finally {
    beforeRefreshRequest = undefined
  }
})

it('without a sibling, invalid_grant after the re-read marks refresh_failed with an actionable message', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'lost', scopes: ['read:confluence-user', 'offline_access'] })
  sim.revokeRefreshTokens()
  const res = await http(t, 'POST', '/v1/connections/lost/token', { key: t.keys.admin })
  expect(res.status).toBe(409)
  expect(res.json()).toMatchObject({ code: 'CONNECTION_NOT_AUTHORIZED', retryable: false })
  expect(res.json().detail).toContain('GET /v1/connections/lost/authorize')
  expect((await http(t, 'GET', '/v1/connections/lost', { key: t.keys.admin })).json().token).toMatchObject({ status: 'refresh_failed', error: expect.stringContaining('invalid_grant') })
})
