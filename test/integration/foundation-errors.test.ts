import { buildTestSpoke, bearer, type TestSpoke } from '../helpers/spoke'

let spoke: TestSpoke
beforeAll(async () => {
  spoke = await buildTestSpoke({}, {
    extend: (app) => {
      app.post('/v1/test-echo', {
        config: { access: ['admin'] },
        schema: { body: { type: 'object', required: ['input'], properties: { input: { type: 'object' } }, additionalProperties: false } }
      }, async (req) => req.body)
      app.get('/v1/test-crash', { config: { access: ['admin'] } }, async () => { throw new Error('boom with secret details') })
    }
  })
})
afterAll(async () => { await spoke.close() })

const PROBLEM_FIELDS = ['type', 'title', 'status', 'detail', 'code', 'retryable', 'requestId']

function expectProblem (res: { statusCode: number, headers: Record<string, unknown>, json: () => any }, status: number, code: string): any {
  expect(res.statusCode).toBe(status)
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/)
  const body = res.json()
  for (const f of PROBLEM_FIELDS) expect(body).toHaveProperty(f)
  expect(body).toMatchObject({ status, code })
  expect(body.requestId).toBe(res.headers['x-request-id'])
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/) // never a stack trace
  return body
}

describe('errors leave as problem+json', () => {
  it('unknown route → 404 NOT_FOUND', async () => {
    const res = await spoke.app.inject({ method: 'GET', url: '/v1/nothing-here' })
    expectProblem(res, 404, 'NOT_FOUND')
  })

  it('no key → 401 UNAUTHENTICATED with WWW-Authenticate; a wrong key too', async () => {
    const none = await spoke.app.inject({ method: 'GET', url: '/metrics' })
    expectProblem(none, 401, 'UNAUTHENTICATED')
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
    const wrong = await spoke.app.inject({ method: 'GET', url: '/metrics', headers: bearer('not-a-key-at-all-000') })
    expectProblem(wrong, 401, 'UNAUTHENTICATED')
    const notBearer = await spoke.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Basic ${spoke.keys.admin}` } })
    expectProblem(notBearer, 401, 'UNAUTHENTICATED')
  })

  it('a role without access → 403 FORBIDDEN', async () => {
    const res = await spoke.app.inject({ method: 'GET', url: '/metrics', headers: bearer(spoke.keys.invoker) })
    expectProblem(res, 403, 'FORBIDDEN')
  })

  const post = (payload: string, contentType = 'application/json') => spoke.app.inject({
    method: 'POST', url: '/v1/test-echo', headers: { ...bearer(spoke.keys.admin), 'content-type': contentType }, payload
  })

  it('malformed JSON → 400 REQUEST_INVALID', async () => {
    expectProblem(await post('{"input": '), 400, 'REQUEST_INVALID')
    expectProblem(await post(''), 400, 'REQUEST_INVALID')
  })

  it('a body that fails the route schema → 400 REQUEST_INVALID listing every error', async () => {
    const body = expectProblem(await post('{"input": 5, "extra": true}'), 400, 'REQUEST_INVALID')
    expect(body.errors.length).toBeGreaterThanOrEqual(2)
    expect(body.errors[0]).toHaveProperty('message')
  })

  it('oversized body → 413, unknown content type → 415', async () => {
    expectProblem(await post(JSON.stringify({ input: { big: 'x'.repeat(3 * 1024 * 1024) } })), 413, 'PAYLOAD_TOO_LARGE')
    expectProblem(await post('<xml/>', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE')
  })

  it('a malformed URL or an over-long path parameter → 400 REQUEST_INVALID, not the router\'s own JSON', async () => {
    expectProblem(await spoke.app.inject({ method: 'GET', url: '/v1/actions/%zz', headers: bearer(spoke.keys.admin) }), 400, 'REQUEST_INVALID')
    expectProblem(await spoke.app.inject({ method: 'GET', url: `/v1/actions/${'a'.repeat(300)}`, headers: bearer(spoke.keys.admin) }), 400, 'REQUEST_INVALID')
  })

  it('an unexpected error → 500 INTERNAL without its message or stack', async () => {
    const res = await spoke.app.inject({ method: 'GET', url: '/v1/test-crash', headers: bearer(spoke.keys.admin) })
    const body = expectProblem(res, 500, 'INTERNAL')
    expect(JSON.stringify(body)).not.toContain('boom')
  })

  it('a caller-supplied request id is echoed when well formed, replaced when not', async () => {
    const ok = await spoke.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'wf-run-42' } })
    expect(ok.headers['x-request-id']).toBe('wf-run-42')
    const bad = await spoke.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\u0000c' } })
    expect(bad.headers['x-request-id']).not.toBe('a b\u0000c')
  })
})
