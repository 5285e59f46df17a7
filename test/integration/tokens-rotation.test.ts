// Rotation: many refreshes from two spoke instances (separate memory, one Redis); the stored refresh token
// is always the newest of its family, and an old one is never sent (the simulator's leeway is 0 here, so an
// old one would be answered invalid_grant). Plus the one refresh-and-retry on a 401, and on a 403/404 that
// arrives after the stored expiry (and not before).
import { randomBytes } from 'node:crypto'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { keyId } from '../../src/lib/crypto'
import { connectionKeys } from '../../src/connections/keys'

let sim: Simulator
let a: TestSpoke
let b: TestSpoke
let shared: Record<string, string>

beforeAll(async () => {
  sim = await startSimulator({ seed: 9, size: 5, refreshLeewaySeconds: 0 })
  shared = { ...simulatorEnv(sim), SPOKE_KEY_PREFIX: `t${randomBytes(5).toString('hex')}`, SPOKE_MASTER_KEY: randomBytes(32).toString('base64') }
  a = await buildTestSpoke(shared)
  b = await buildTestSpoke(shared)
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  await sim?.close()
})

/** The simulator's record of a refresh token (test-only peek at its private map). */
function simRefresh (token: string): { supersededAt?: number } | undefined {
  return (sim.state.tokens as unknown as { refresh: Map<string, { supersededAt?: number }> }).refresh.get(token)
}

const invalidGrants = () => (sim.counters().byOperationStatus['oauth.token'] ?? {})['403'] ?? 0

it('keeps the newest refresh token through many refreshes from two instances, never sending an old one', async () => {
  await connectSimulatorAlias(a, sim, { alias: 'rot', scopes: ['read:confluence-user', 'offline_access'] })
  const seen = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const spoke = i % 2 === 0 ? a : b
    const res = await http(spoke, 'POST', '/v1/connections/rot/token', { key: spoke.keys.admin })
    expect(res.status).toBe(200)
    const stored = (await a.core.connections.tokens.readTokens('rot')).set!
    expect(seen.has(stored.refreshToken!)).toBe(false)
    seen.add(stored.refreshToken!)
    expect(simRefresh(stored.refreshToken!)).toBeDefined()
    expect(simRefresh(stored.refreshToken!)?.supersededAt).toBeUndefined() // the newest of the family
  }
  // concurrent forced refreshes from both instances: serialized by the lock, each with the newest token
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => {
    const spoke = i % 2 === 0 ? a : b
    return http(spoke, 'POST', '/v1/connections/rot/token', { key: spoke.keys.admin })
  }))
  expect(results.map(r => r.status)).toEqual(Array(10).fill(200))
  const stored = (await b.core.connections.tokens.readTokens('rot')).set!
  expect(simRefresh(stored.refreshToken!)?.supersededAt).toBeUndefined()
  expect(stored.gen).toBeGreaterThanOrEqual(22)
  expect(invalidGrants()).toBe(0) // not one old refresh token was sent
  expect((await b.core.confluence.call('rot', { method: 'GET', path: '/wiki/rest/api/user/current' })).status).toBe(200)
  expect((await http(a, 'GET', '/v1/connections/rot', { key: a.keys.admin })).json().token.status).toBe('active')
})

it('a 401 triggers one refresh and one retry', async () => {
  await connectSimulatorAlias(a, sim, { alias: 'r401', scopes: ['read:confluence-user', 'offline_access'] })
  sim.setGatewayExpiryMode('unauthorized')
  sim.expireAllTokens()
  const before = sim.counters()
  const res = await a.core.confluence.call('r401', { method: 'GET', path: '/wiki/rest/api/user/current' })
  expect(res.status).toBe(200)
  const after = sim.counters()
  expect(after.tokenRequests - before.tokenRequests).toBe(1)
  expect((after.byOperationStatus.getCurrentUser ?? {})['401'] - ((before.byOperationStatus.getCurrentUser ?? {})['401'] ?? 0)).toBe(1)
})

it('a 403/404 after the stored expiry triggers one refresh and retry; before it, it is a real 404', async () => {
  await connectSimulatorAlias(a, sim, { alias: 'r404' })
  const pagePath = `/wiki/api/v2/spaces/${sim.data.spaces(sim.defaultCloudId)[0].id}`
  expect((await a.core.confluence.call('r404', { method: 'GET', path: pagePath })).status).toBe(200)
  sim.setGatewayExpiryMode('atlassian') // an expired token now gets 404 on v2, like the gateway
  sim.expireAllTokens()
  // our stored expiry is still ahead: a 404 is taken at its word
  const before = sim.counters().tokenRequests
  await expect(a.core.confluence.call('r404', { method: 'GET', path: pagePath })).rejects.toMatchObject({ code: 'UPSTREAM_NOT_FOUND', statusCode: 404 })
  expect(sim.counters().tokenRequests).toBe(before)
  // a request whose answer arrives after the stored expiry (simulated by aging the in-memory session)
  const session = a.core.connections.sessions.current('r404')!
  session.expiresAt = Date.now() - 1
  const res = await a.core.confluence.call('r404', { method: 'GET', path: pagePath })
  expect(res.status).toBe(200)
  expect(sim.counters().tokenRequests).toBe(before + 1)
  sim.setGatewayExpiryMode('unauthorized')
})

/** The key ids the stored secrets and token set of `alias` are sealed under (`sv1.<kid>.…`). */
async function sealedKids (alias: string): Promise<string[]> {
  const keys = connectionKeys(shared.SPOKE_KEY_PREFIX)
  const rec = JSON.parse(await a.core.redis.store.get(keys.alias(alias)) as string) as { sealed: Record<string, string> }
  const set = await a.core.redis.store.hget(keys.tokens(alias), 'set') as string
  return [...Object.values(rec.sealed), set].map(v => v.split('.')[1])
}

it('master key rotation: a new key alone cannot open the secrets (409, no 500); with the old one as previous it can, and the start re-seals everything so the old key can go', async () => {
  await connectSimulatorAlias(a, sim, { alias: 'keyrot', scopes: ['read:confluence-user', 'offline_access'] })
  const newKey = randomBytes(32).toString('base64')
  const lost = await buildTestSpoke({ ...shared, SPOKE_MASTER_KEY: newKey })
  try {
    const view = (await http(lost, 'GET', '/v1/connections/keyrot', { key: lost.keys.admin })).json()
    expect(view.ready).toBe(false)
    expect(view.problems.join(' ')).toContain('SPOKE_MASTER_KEY')
    await expect(lost.core.confluence.call('keyrot', { method: 'GET', path: '/wiki/rest/api/user/current' })).rejects.toMatchObject({ code: 'CONNECTION_NOT_AUTHORIZED' })
  } finally {
    await lost.close()
  }
  process.env.SPOKE_MASTER_KEY_PREVIOUS = shared.SPOKE_MASTER_KEY
  try {
    const rotated = await buildTestSpoke({ ...shared, SPOKE_MASTER_KEY: newKey })
    try {
      expect((await rotated.core.confluence.call('keyrot', { method: 'GET', path: '/wiki/rest/api/user/current' })).status).toBe(200)
    } finally {
      await rotated.close()
    }
  } finally {
    delete process.env.SPOKE_MASTER_KEY_PREVIOUS
  }
  // That start moved the client secret and the token set to the new key, so the old key can be dropped.
  expect(await sealedKids('keyrot')).toEqual([keyId(Buffer.from(newKey, 'base64')), keyId(Buffer.from(newKey, 'base64'))])
  const afterRotation = await buildTestSpoke({ ...shared, SPOKE_MASTER_KEY: newKey })
  try {
    expect((await http(afterRotation, 'GET', '/v1/connections/keyrot', { key: afterRotation.keys.admin })).json().ready).toBe(true)
    expect((await afterRotation.core.confluence.call('keyrot', { method: 'GET', path: '/wiki/rest/api/user/current' })).status).toBe(200)
  } finally {
    await afterRotation.close()
  }
})
