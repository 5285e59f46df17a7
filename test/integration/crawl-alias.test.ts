// The shipped example alias of the crawl connector: with its client id and secret set and the optional org
// admin key unset, the alias is not `needs_configuration` (emails then come from profiles); it only waits
// for consent.
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { http } from '../helpers/connect'

let t: TestSpoke

beforeAll(async () => {
  // placeholders are resolved from the process environment (this test file runs in its own worker)
  process.env.CRAWL_CLIENT_ID = 'crawl-client'
  process.env.CRAWL_CLIENT_SECRET = 'crawl-secret-value-123456'
  delete process.env.CRAWL_ORG_ID
  delete process.env.CRAWL_ORG_API_KEY
  t = await buildTestSpoke({ LOG_LEVEL: 'warn' })
})
afterAll(async () => { await t.close() })

it('an unset org admin key leaves confluence_crawl waiting for consent, not needing configuration', async () => {
  const res = await http(t, 'GET', '/v1/connections/confluence_crawl', { key: t.keys.viewer })
  expect(res.status).toBe(200)
  const v = res.json()
  expect(v.token.status).toBe('needs_consent')
  expect(v.problems).toEqual(['consent needed: GET /v1/connections/confluence_crawl/authorize'])
  expect(v.credential.scopes).toEqual(expect.arrayContaining(['read:comment:confluence', 'read:folder:confluence', 'read:space.permission:confluence']))
})
