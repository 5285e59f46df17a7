import { startSimulator, type Simulator } from '../src/index'
import { confluence, http } from './helpers'

describe('simulator: gateway', () => {
  let sim: Simulator
  let pageId: string

  beforeAll(async () => {
    sim = await startSimulator({ size: 30, sites: 2, validateResponses: true })
    pageId = sim.data.spaces()[0].homepageId as string
  })
  afterAll(async () => { await sim.close() })
  afterEach(() => {
    expect(sim.responseViolations()).toEqual([])
    sim.setGatewayExpiryMode('unauthorized')
  })

  it('answers 401 to a missing or unknown token', async () => {
    const missing = await http(`${sim.url}/ex/confluence/${sim.defaultCloudId}/wiki/api/v2/pages/${pageId}`)
    expect(missing.status).toBe(401)
    expect(missing.body).toEqual({ code: 401, message: 'Unauthorized' })
    expect((await confluence(sim, 'made-up', 'GET', `/wiki/api/v2/pages/${pageId}`)).status).toBe(401)
  })

  it('checks the operation scopes: any one listed set suffices', async () => {
    const classic = sim.issueToken({ scopes: ['search:confluence'] }).accessToken
    const granular = sim.issueToken({ scopes: ['read:content-details:confluence'] }).accessToken
    const none = sim.issueToken({ scopes: ['read:page:confluence'] }).accessToken
    const search = '/wiki/rest/api/search?cql=type%3Dpage&limit=1'
    expect((await confluence(sim, classic, 'GET', search)).status).toBe(200)
    expect((await confluence(sim, granular, 'GET', search)).status).toBe(200)
    const mismatch = await confluence(sim, none, 'GET', search)
    expect(mismatch.status).toBe(401)
    expect(mismatch.body).toEqual({ code: 401, message: 'Unauthorized; scope does not match' })
    expect(mismatch.headers.get('x-failure-category')).toBe('FAILURE_CLIENT_SCOPE_CHECK')
    const members = sim.issueToken({ scopes: ['read:group:confluence'] }).accessToken
    const group = sim.data.groups()[0].id
    // the granular set of getGroupMembersByGroupId needs read:group AND read:user
    expect((await confluence(sim, members, 'GET', `/wiki/rest/api/group/${group}/membersByGroupId`)).status).toBe(401)
  })

  it('answers /me only with read:me', async () => {
    const without = sim.issueToken({ scopes: ['read:page:confluence'] }).accessToken
    const res = await http(`${sim.url}/me`, { headers: { authorization: `Bearer ${without}` } })
    expect(res.status).toBe(401)
    expect(res.body.message).toBe('Unauthorized; scope does not match')
  })

  it('expires every token on demand, with 401 or (Atlassian mode) 403 on v1 and 404 on v2', async () => {
    const { accessToken } = sim.issueToken()
    expect(sim.expireAllTokens()).toBeGreaterThan(0)
    expect((await confluence(sim, accessToken, 'GET', `/wiki/api/v2/pages/${pageId}`)).status).toBe(401)
    sim.setGatewayExpiryMode('atlassian')
    expect((await confluence(sim, accessToken, 'GET', `/wiki/api/v2/pages/${pageId}`)).status).toBe(404)
    const v1 = await confluence(sim, accessToken, 'GET', '/wiki/rest/api/user/current')
    expect(v1.status).toBe(403)
    // unknown tokens stay 401 in either mode
    expect((await confluence(sim, 'made-up', 'GET', `/wiki/api/v2/pages/${pageId}`)).status).toBe(401)
  })

  it('serves each site under its own cloudId and refuses sites outside the token', async () => {
    const [one, two] = sim.sites()
    const both = sim.issueToken().accessToken
    const onlyOne = sim.issueToken({ cloudIds: [one.cloudId] }).accessToken
    const spaceOfTwo = sim.data.spaces(two.cloudId)[0]
    const res = await confluence(sim, both, 'GET', `/wiki/api/v2/spaces/${spaceOfTwo.id}`, { cloudId: two.cloudId })
    expect(res.status).toBe(200)
    expect(res.body._links.base).toBe(`${two.url}/wiki`)
    expect((await confluence(sim, onlyOne, 'GET', `/wiki/api/v2/spaces/${spaceOfTwo.id}`, { cloudId: two.cloudId })).status).toBe(401)
    expect((await confluence(sim, both, 'GET', `/wiki/api/v2/spaces/${spaceOfTwo.id}`, { cloudId: 'no-such-cloud' })).status).toBe(404)
  })

  it('exposes the same controls over HTTP under /__sim', async () => {
    const issued = await http(`${sim.url}/__sim/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scopes: ['read:page:confluence'] }) })
    expect(issued.body.accessToken).toEqual(expect.any(String))
    const expired = await http(`${sim.url}/__sim/expire-tokens`, { method: 'POST' })
    expect(expired.body.expired).toBeGreaterThan(0)
    expect((await confluence(sim, issued.body.accessToken, 'GET', `/wiki/api/v2/pages/${pageId}`)).status).toBe(401)
    const info = await http(`${sim.url}/__sim/info`)
    expect(info.body).toMatchObject({ defaultCloudId: sim.defaultCloudId, adminAccountId: sim.adminAccountId, clientId: 'sandbox-client' })
    const access = await http(`${sim.url}/__sim/sites/${sim.defaultCloudId}/content/${pageId}/read-access`)
    expect(access.body).toEqual(sim.data.effectiveReadAccess(pageId))
  })
})
