import { startSimulator, type Simulator } from '../src/index'
import { confluence } from './helpers'

describe('simulator: the contract', () => {
  let sim: Simulator
  let token: string
  let pageId: string

  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, size: 60, validateResponses: true })
    token = sim.issueToken().accessToken
    pageId = sim.data.spaces()[0].homepageId as string
  })
  afterAll(async () => { await sim.close() })
  beforeEach(() => { sim.reset() })

  it('accepts a spec-valid request and records nothing', async () => {
    const res = await confluence(sim, token, 'GET', `/wiki/api/v2/pages/${pageId}?body-format=storage&include-labels=true`)
    expect(res.status).toBe(200)
    expect(sim.invalidRequests()).toEqual([])
    expect(sim.responseViolations()).toEqual([])
  })

  it.each([
    ['a non-integer path parameter', 'GET', '/wiki/api/v2/pages/abc', undefined, "path parameter 'id' must be integer"],
    ['an enum violation', 'GET', `/wiki/api/v2/pages/PAGE?body-format=html`, undefined, "query parameter 'body-format' must be equal to one of the allowed values"],
    ['an undeclared query parameter', 'GET', `/wiki/api/v2/pages/PAGE?bodyFormat=storage`, undefined, "query parameter 'bodyFormat' is not defined for getPageById"],
    ['a limit above the maximum', 'GET', '/wiki/api/v2/spaces?limit=251', undefined, "query parameter 'limit' must be <= 250"],
    ['a comma-joined exploded array', 'GET', '/wiki/api/v2/pages?status=current,archived', undefined, "query parameter 'status'[0] must be equal to one of the allowed values"],
    ['a missing required query parameter', 'GET', '/wiki/rest/api/search?limit=5', undefined, "query parameter 'cql' is required"],
    ['a body missing a required field', 'POST', '/wiki/rest/api/group/userByGroupId?groupId=g', { account: 'x' }, "request body must have required property 'accountId'"],
    ['a missing required body', 'POST', '/wiki/rest/api/group/userByGroupId?groupId=g', undefined, 'addUserToGroupByGroupId requires a request body'],
    ['a path outside the specs', 'GET', '/wiki/api/v2/no-such-thing', undefined, 'no operation GET /wiki/api/v2/no-such-thing in the Confluence v1/v2 specs'],
    ['a method the path does not have', 'PATCH', '/wiki/api/v2/pages/PAGE', undefined, 'PATCH is not an operation of /wiki/api/v2/pages/']
  ])('rejects %s with 400 and records it', async (_name, method, path, body, reason) => {
    const res = await confluence(sim, token, method, path.replace('PAGE', pageId), { body })
    expect(res.status).toBe(400)
    expect(JSON.stringify(res.body)).toContain(reason.replace(/"/g, '\\"').slice(0, 40))
    const recorded = sim.invalidRequests()
    expect(recorded).toHaveLength(1)
    expect(recorded[0]).toMatchObject({ method, status: 400 })
    expect(recorded[0].reason).toContain(reason)
  })

  it('answers v1 violations in the v1 envelope and v2 ones in the errors[] shape', async () => {
    const v1 = await confluence(sim, token, 'GET', '/wiki/rest/api/search')
    expect(v1.body).toMatchObject({ statusCode: 400, message: expect.stringContaining("'cql' is required") })
    const v2 = await confluence(sim, token, 'GET', '/wiki/api/v2/pages/x')
    expect(v2.body.errors[0]).toMatchObject({ status: 400, code: 'INVALID_REQUEST_PARAMETER' })
  })

  it('records malformed JSON bodies', async () => {
    const res = await confluence(sim, token, 'POST', '/wiki/rest/api/group/userByGroupId?groupId=g', { body: '{"accountId":' })
    expect(res.status).toBe(400)
    expect(sim.invalidRequests()[0].reason).toMatch(/not valid JSON/)
  })

  it.each([
    ['GET', '/wiki/rest/api/content/PAGE'],
    ['GET', '/wiki/rest/api/content?spaceKey=X'],
    ['GET', '/wiki/rest/api/space'],
    ['GET', '/wiki/rest/api/space/KEY'],
    ['GET', '/wiki/rest/api/group/confluence-users'],
    ['GET', '/wiki/rest/api/group/confluence-users/member'],
    ['GET', '/wiki/rest/api/group/member?name=confluence-users'],
    ['POST', '/wiki/rest/api/group/user?name=confluence-users'],
    ['DELETE', '/wiki/rest/api/group/user?name=confluence-users&accountId=x']
  ])('answers removed v1 endpoint %s %s with 410 GoneException and records it', async (method, path) => {
    const res = await confluence(sim, token, method, path.replace('PAGE', pageId), { body: method === 'POST' ? { accountId: 'x' } : undefined })
    expect(res.status).toBe(410)
    expect(res.body.message).toBe('com.atlassian.confluence.api.service.exceptions.GoneException: This deprecated endpoint has been removed.')
    expect(res.headers.get('deprecation')).toBe('Wed, 1 Mar 2023 00:00:00 GMT')
    expect(sim.invalidRequests()).toEqual([expect.objectContaining({ status: 410 })])
  })

  it('keeps current v1 endpoints that look like removed ones', async () => {
    const search = await confluence(sim, token, 'GET', '/wiki/rest/api/content/search?cql=type%3Dpage&limit=1')
    expect(search.status).toBe(200)
    const group = sim.data.groups()[0]
    const byId = await confluence(sim, token, 'GET', `/wiki/rest/api/group/by-id?id=${group.id}`)
    expect(byId.body).toMatchObject({ id: group.id, name: group.name })
    expect(sim.invalidRequests()).toEqual([])
  })

  it('answers valid but unsimulated operations with 501, not a violation', async () => {
    const res = await confluence(sim, token, 'GET', '/wiki/rest/api/audit')
    expect(res.status).toBe(501)
    expect(sim.invalidRequests()).toEqual([])
  })
})
