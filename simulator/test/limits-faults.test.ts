import { startSimulator, type Simulator } from '../src/index'
import { Faults } from '../src/faults'
import { confluence, http } from './helpers'

describe('simulator: rate limits, faults, counters, org admin API', () => {
  let sim: Simulator
  let token: string
  let page: string

  beforeAll(async () => {
    sim = await startSimulator({ size: 30, orgUsersPageSize: 3 })
    token = sim.issueToken().accessToken
    page = `/wiki/api/v2/pages/${sim.data.spaces()[0].homepageId as string}`
  })
  afterAll(async () => { await sim.close() })
  afterEach(() => {
    sim.setRateLimits({})
    sim.reset()
  })

  it('answers 429 with Retry-After past the per-second burst limit', async () => {
    sim.setRateLimits({ burstPerSecond: 3 })
    // align to the start of a second so all four requests share one window
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5))
    const answers = await Promise.all([1, 2, 3, 4].map(async () => await confluence(sim, token, 'GET', page)))
    const limited = answers.filter((a) => a.status === 429)
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3)
    expect(limited).toHaveLength(1)
    expect(limited[0].headers.get('retry-after')).toBe('1')
    expect(limited[0].headers.get('ratelimit-reason')).toBe('confluence-burst-based')
    expect(limited[0].headers.get('x-ratelimit-limit')).toBe('3')
    expect(limited[0].headers.get('x-ratelimit-remaining')).toBe('0')
  })

  it('charges points per object read, warns near the quota and refuses everything once it is spent', async () => {
    sim.setRateLimits({ pointsPerHour: 10, pool: 'tenant' })
    const first = await confluence(sim, token, 'GET', page) // 1 base + 1 page = 2 points
    expect(first.headers.get('beta-ratelimit')).toBeNull()
    await confluence(sim, token, 'GET', page)
    await confluence(sim, token, 'GET', page)
    const near = await confluence(sim, token, 'GET', page) // 8 of 10
    expect(near.status).toBe(200)
    expect(near.headers.get('x-ratelimit-nearlimit')).toBe('true')
    expect(near.headers.get('beta-ratelimit')).toMatch(/^"tenant-app-quota";r=2;t=\d+$/)
    await confluence(sim, token, 'GET', page)
    const refused = await confluence(sim, token, 'GET', '/wiki/rest/api/user/current')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('ratelimit-reason')).toBe('confluence-quota-tenant-based')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(refused.headers.get('x-ratelimit-reset')).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    // another app has its own budget
    const other = sim.issueToken({ clientId: 'another-app' }).accessToken
    expect((await confluence(sim, other, 'GET', page)).status).toBe(200)
  })

  it('injects 5xx, 429 with and without Retry-After, latency and connection resets', async () => {
    sim.faults.next({ kind: 'error', status: 502 })
    expect((await confluence(sim, token, 'GET', page)).status).toBe(502)
    sim.faults.next({ kind: 'rateLimit', retryAfter: 7 })
    const withRetry = await confluence(sim, token, 'GET', page)
    expect([withRetry.status, withRetry.headers.get('retry-after')]).toEqual([429, '7'])
    sim.faults.next({ kind: 'rateLimit', retryAfter: null })
    const without = await confluence(sim, token, 'GET', page)
    expect([without.status, without.headers.get('retry-after')]).toEqual([429, null])
    sim.faults.next({ kind: 'reset' })
    await expect(confluence(sim, token, 'GET', page)).rejects.toThrow()
    sim.faults.set({ latencyMs: 150 })
    const started = Date.now()
    expect((await confluence(sim, token, 'GET', page)).status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    sim.faults.set({ errorRate: 1, errorStatus: 503, operations: ['getSpaces'] })
    expect((await confluence(sim, token, 'GET', '/wiki/api/v2/spaces')).status).toBe(503)
    expect((await confluence(sim, token, 'GET', page)).status).toBe(200)
    const counters = sim.counters()
    expect(counters.byOperationStatus.getPageById).toEqual({ 0: 1, 200: 2, 429: 2, 502: 1 })
    expect(counters.byOperationStatus.getSpaces).toEqual({ 503: 1 })
  })

  it('limits faults to request paths, standing and queued (the query is not part of the path)', async () => {
    const spaces = sim.data.spaces()
    const [a, b] = [spaces[0].homepageId as string, spaces[1].homepageId as string]
    sim.faults.set({ errorRate: 1, errorStatus: 403, operations: ['getPageById'], paths: [`/pages/${a}`] })
    expect((await confluence(sim, token, 'GET', `/wiki/api/v2/pages/${a}?body-format=storage`)).status).toBe(403)
    expect((await confluence(sim, token, 'GET', `/wiki/api/v2/pages/${b}?body-format=storage`)).status).toBe(200)
    sim.faults.clear()
    await http(`${sim.url}/__sim/faults/next`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fault: { kind: 'error', status: 500 }, times: 1, paths: [`/pages/${b}`] })
    })
    expect((await confluence(sim, token, 'GET', `/wiki/api/v2/pages/${a}`)).status).toBe(200)
    expect((await confluence(sim, token, 'GET', `/wiki/api/v2/pages/${b}`)).status).toBe(500)
    expect((await confluence(sim, token, 'GET', `/wiki/api/v2/pages/${b}`)).status).toBe(200)
  })

  it('injects faults into the token endpoint when asked, and counts token requests', async () => {
    await http(`${sim.url}/__sim/faults/next`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fault: { kind: 'error', status: 500 }, times: 2, targets: ['oauth'] })
    })
    const body = JSON.stringify({ grant_type: 'client_credentials', client_id: sim.clientId, client_secret: sim.clientSecret })
    const post = async (): ReturnType<typeof http> => await http(`${sim.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect((await post()).status).toBe(500)
    expect((await post()).status).toBe(500)
    expect((await post()).status).toBe(200)
    const counters = (await http(`${sim.url}/__sim/counters`)).body
    expect(counters.tokenRequests).toBe(3)
    expect(counters.tokensGranted.client_credentials).toBe(1)
    expect(counters.byOperationStatus['oauth.token']).toEqual({ 200: 1, 500: 2 })
  })

  it('resets counters, faults and recorded violations', async () => {
    sim.faults.set({ errorRate: 1 })
    await confluence(sim, token, 'GET', '/wiki/api/v2/pages/x')
    expect(sim.invalidRequests()).toHaveLength(1)
    expect((await http(`${sim.url}/__sim/reset`, { method: 'POST' })).status).toBe(204)
    expect(sim.invalidRequests()).toEqual([])
    expect(sim.counters().requests).toBe(0)
    expect((await confluence(sim, token, 'GET', page)).status).toBe(200)
  })

  it('lists managed users with their emails through the org admin API, cursor-paged', async () => {
    const auth = { authorization: `Bearer ${sim.adminApiKey}` }
    const orgs = await http(`${sim.url}/admin/v1/orgs`, { headers: auth })
    expect(orgs.body.data).toEqual([expect.objectContaining({ id: sim.orgId, type: 'orgs' })])
    const managed = sim.data.users().filter((u) => u.managed)
    const seen: Array<{ account_id: string, email: string }> = []
    let next: string | undefined = `${sim.url}/admin/v1/orgs/${sim.orgId}/users`
    while (next) {
      const res = await http(next, { headers: auth })
      expect(res.status).toBe(200)
      expect(res.body.data.length).toBeLessThanOrEqual(3)
      seen.push(...res.body.data)
      next = res.body.links.next
    }
    expect(seen.map((u) => [u.account_id, u.email])).toEqual(managed.map((u) => [u.accountId, u.email]))
    expect((await http(`${sim.url}/admin/v1/orgs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401)
    expect((await http(`${sim.url}/admin/v1/orgs/other/users`, { headers: auth })).status).toBe(404)
  })
})

it('spreads added latency uniformly over latencyMs … latencyMs + latencyJitterMs', () => {
  const faults = new Faults(7)
  faults.set({ latencyMs: 100, latencyJitterMs: 100 })
  const delays = Array.from({ length: 500 }, () => faults.decide('api', 'getPageById')?.delayMs ?? -1)
  expect(Math.min(...delays)).toBeGreaterThanOrEqual(100)
  expect(Math.max(...delays)).toBeLessThanOrEqual(200)
  expect(delays.filter(d => d < 150).length).toBeGreaterThan(150)
  expect(delays.filter(d => d >= 150).length).toBeGreaterThan(150)
})
