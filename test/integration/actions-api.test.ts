// The actions HTTP surface that needs no Confluence: listing and describing, roles, /openapi.json with one
// typed operation per action, 404 for unknown ids, request and input validation, async request checks.
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { http } from '../helpers/connect'

let t: TestSpoke
beforeAll(async () => { t = await buildTestSpoke() })
afterAll(async () => { await t.close() })

const exec = (id: string, body: unknown, key = t.keys.invoker, headers: Record<string, string> = {}) =>
  http(t, 'POST', `/v1/actions/${id}/execute`, { key, body, headers })

it('lists every action with its schemas, for every role', async () => {
  for (const key of [t.keys.admin, t.keys.invoker, t.keys.viewer]) {
    const res = await http(t, 'GET', '/v1/actions', { key })
    expect(res.status).toBe(200)
    const ids = res.json().actions.map((a: { id: string }) => a.id)
    expect(ids).toEqual(expect.arrayContaining(['confluence.content.search', 'confluence.page.get', 'confluence.group.member.add', 'confluence.site.list']))
  }
  const one = (await http(t, 'GET', '/v1/actions/confluence.page.get', { key: t.keys.viewer })).json()
  expect(one).toMatchObject({ id: 'confluence.page.get', version: '1.0.0', mode: 'sync', scopes: [['read:page:confluence']] })
  expect(Object.keys(one)).toEqual(expect.arrayContaining(['id', 'version', 'title', 'description', 'mode', 'scopes', 'input', 'output']))
  expect(one.input.required).toEqual(['pageId'])
  expect(one.description).toContain('https://developer.atlassian.com/')
})

it('guards the routes by role', async () => {
  expect((await http(t, 'GET', '/v1/actions')).status).toBe(401)
  const res = await exec('confluence.page.get', { input: { pageId: '1' } }, t.keys.viewer)
  expect(res.status).toBe(403)
  expect(res.json().code).toBe('FORBIDDEN')
})

it('answers unknown actions with 404 ACTION_NOT_FOUND, whatever the body', async () => {
  for (const [method, path, body] of [['GET', '/v1/actions/confluence.nope', undefined], ['POST', '/v1/actions/confluence.nope/execute', { input: 5, bogus: true }]] as const) {
    const res = await http(t, method, path, { key: t.keys.admin, body })
    expect(res.status).toBe(404)
    expect(res.json()).toMatchObject({ code: 'ACTION_NOT_FOUND', retryable: false })
  }
})

it('answers bad input with 400 INPUT_INVALID listing each schema error, without type coercion', async () => {
  const res = await exec('confluence.page.get', { input: { pageId: 123, bodyFormat: 'pdf', extra: true } })
  expect(res.status).toBe(400)
  expect(res.headers['content-type']).toContain('application/problem+json')
  const p = res.json()
  expect(p).toMatchObject({ code: 'INPUT_INVALID', retryable: false, status: 400 })
  expect(p.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/bodyFormat', '/extra', '/pageId'])
  for (const e of p.errors) expect(e.message).toEqual(expect.any(String))
  const missing = (await exec('confluence.content.search', { input: { limit: '5' } })).json()
  expect(missing.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['/limit', '/']))
})

it('answers a malformed envelope with 400 REQUEST_INVALID', async () => {
  const res = await exec('confluence.page.get', { input: { pageId: '1' }, connection: 'Bad Alias!', mode: 'later', extra: 1 })
  expect(res.status).toBe(400)
  const p = res.json()
  expect(p.code).toBe('REQUEST_INVALID')
  expect(p.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/connection', '/extra', '/mode'])
  const badKey = await exec('confluence.page.get', { input: { pageId: '1' } }, t.keys.invoker, { 'idempotency-key': 'has space' })
  expect(badKey.json().code).toBe('REQUEST_INVALID')
})

it('checks an async request before queuing it (callbacks need SPOKE_CALLBACK_SECRET; jobs tests: test/integration/jobs-*)', async () => {
  const res = await exec('confluence.page.get', { input: { pageId: '1' }, mode: 'async', callbackUrl: 'https://hooks.example.com/x' })
  expect(res.status).toBe(400)
  expect(res.json()).toMatchObject({ code: 'REQUEST_INVALID' })
  expect(res.json().detail).toMatch(/SPOKE_CALLBACK_SECRET/)
})

it('reports CONNECTION_NOT_FOUND for an unknown alias', async () => {
  const res = await exec('confluence.user.current', { connection: 'nobody' })
  expect(res.status).toBe(404)
  expect(res.json().code).toBe('CONNECTION_NOT_FOUND')
})

it('publishes one typed operation per action in /openapi.json', async () => {
  const res = await http(t, 'GET', '/openapi.json')
  expect(res.status).toBe(200)
  const doc = res.json()
  expect(doc.openapi).toBe('3.1.0')
  const op = doc.paths['/v1/actions/confluence.page.get/execute'].post
  expect(op.operationId).toBe('confluencePageGet')
  const body = op.requestBody.content['application/json'].schema
  expect(body.properties.input.required).toEqual(['pageId'])
  const output = op.responses['200'].content['application/json'].schema.properties.output
  expect(output.required).toEqual(['body'])
  expect(Object.keys(output.properties)).toEqual(expect.arrayContaining(['id', 'url', 'body']))
  for (const a of t.core.actions.list()) expect(doc.paths[`/v1/actions/${a.id}/execute`]?.post).toBeDefined()
  expect(doc.paths['/v1/actions/{id}/execute'].post).toBeDefined()
  const ids = Object.values(doc.paths).flatMap((p: any) => Object.values(p).map((o: any) => o.operationId)).filter(Boolean)
  expect(new Set(ids).size).toBe(ids.length)
})

it('reports the actions readiness check', async () => {
  const res = await http(t, 'GET', '/readyz')
  expect(res.json().checks.actions).toBe('ok')
})
