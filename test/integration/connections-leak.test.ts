// Secret-leak scan: after consents, refreshes, client-credential tokens, an org admin key and failures,
// no client secret, access token, refresh token or API key appears in any response of the connection
// routes, in the log output (debug level), or in plain text anywhere in Redis under the test's prefix.
import { Redis } from 'ioredis'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, consent, http, simulatorEnv } from '../helpers/connect'

let sim: Simulator
let t: TestSpoke
const responses: string[] = []

beforeAll(async () => {
  sim = await startSimulator({ seed: 13, size: 5, sites: 2 })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'debug' })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

async function record (method: string, path: string, body?: unknown, key = t.keys.admin) {
  const res = await http(t, method, path, { key, body })
  responses.push(`${res.status} ${JSON.stringify(res.headers)} ${res.text}`)
  return res
}

it('no secret or token in responses, logs, or Redis', async () => {
  const secrets = new Set<string>([sim.clientSecret, sim.adminApiKey])
  const collect = async (alias: string) => {
    const set = (await t.core.connections.tokens.readTokens(alias)).set
    if (set?.accessToken) secrets.add(set.accessToken)
    if (set?.refreshToken) secrets.add(set.refreshToken)
  }

  // 3LO with an org admin key, several refreshes, a test, groups
  await connectSimulatorAlias(t, sim, { alias: 'leak3lo', doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } } })
  await collect('leak3lo')
  for (let i = 0; i < 3; i++) { await record('POST', '/v1/connections/leak3lo/token'); await collect('leak3lo') }
  await record('POST', '/v1/connections/leak3lo/test')
  await record('GET', '/v1/connections/leak3lo/groups/available')
  // a consent that ends with two sites to choose from
  await record('PUT', '/v1/connections/leakmulti', { connectionUrl: `${sim.url}/`, credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: ['read:confluence-user'] } })
  const done = await consent(t, sim, 'leakmulti')
  responses.push(done.text)
  await collect('leakmulti')
  // client credentials, and a 401 → refresh → retry
  await connectSimulatorAlias(t, sim, { alias: 'leakcc', grant: 'client_credentials' })
  await collect('leakcc')
  sim.expireAllTokens()
  await t.core.confluence.call('leakcc', { method: 'GET', path: '/wiki/rest/api/user/current' })
  await collect('leakcc')
  // failures: wrong secret, revoked refresh token
  await record('PUT', '/v1/connections/leakbad', { connectionUrl: `${sim.url}/`, site: { cloudId: sim.defaultCloudId }, credential: { type: 'oauth2_client_credentials', clientId: sim.clientId, clientSecret: 'wrong-secret-value-xyz' } })
  secrets.add('wrong-secret-value-xyz')
  await record('POST', '/v1/connections/leakbad/token')
  sim.revokeRefreshTokens()
  await record('POST', '/v1/connections/leak3lo/token')
  // every read route
  await record('GET', '/v1/connections')
  await record('GET', '/v1/connections', undefined, t.keys.viewer)
  for (const id of ['leak3lo', 'leakmulti', 'leakcc', 'leakbad']) await record('GET', `/v1/connections/${id}`)
  await record('GET', '/v1/connections/leak3lo/groups')

  expect(secrets.size).toBeGreaterThan(8)
  const all = responses.join('\n')
  const logs = t.logs()
  expect(logs.length).toBeGreaterThan(1000)

  // Redis: every key under the prefix, every value
  const redis = new Redis(t.config.redisUrl)
  const dump: string[] = []
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${t.config.keyPrefix}:*`, 'COUNT', 500)
      cursor = next
      for (const key of keys) {
        const type = await redis.type(key)
        dump.push(key)
        if (type === 'string') dump.push(String(await redis.get(key)))
        else if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(key)))
        else if (type === 'set') dump.push(JSON.stringify(await redis.smembers(key)))
        else if (type === 'list') dump.push(JSON.stringify(await redis.lrange(key, 0, -1)))
        else if (type === 'zset') dump.push(JSON.stringify(await redis.zrange(key, 0, -1)))
        else if (type === 'stream') dump.push(JSON.stringify(await redis.xrange(key, '-', '+')))
      }
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
  const stored = dump.join('\n')
  expect(dump.length).toBeGreaterThan(10)
  expect(stored).toContain('sv1.') // sealed values are there...

  for (const s of secrets) {
    expect({ where: 'responses', found: all.includes(s) }).toEqual({ where: 'responses', found: false })
    expect({ where: 'logs', found: logs.includes(s) }).toEqual({ where: 'logs', found: false })
    expect({ where: 'redis', found: stored.includes(s) }).toEqual({ where: 'redis', found: false })
  }
  // ... and no token-shaped string anywhere (the simulator's tokens are at_/rt_/ac_ + 32 chars)
  for (const [where, text] of [['responses', all], ['logs', logs], ['redis', stored]] as const) {
    expect({ where, match: /\b(at|rt|ac)_[A-Za-z0-9_-]{30,}/.exec(text)?.[0] ?? null }).toEqual({ where, match: null })
  }
})
