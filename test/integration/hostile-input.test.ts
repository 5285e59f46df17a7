// Issue #15: one test per finding of the black-box probe (each failed before its fix).
import { connect as netConnect } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, listen, simulatorEnv } from '../helpers/connect'

let sim: Simulator
let t: TestSpoke
beforeAll(async () => {
  sim = await startSimulator({ seed: 'hostile-input', size: 5 })
  t = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_CALLBACK_SECRET: 'hostile-input-callback-secret-0123' })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

const HTML = { accept: 'text/html' }

function expectProblem (res: { statusCode: number, headers: Record<string, unknown>, body: string }, status: number, code: string): void {
  expect([res.statusCode, String(res.headers['content-type']).split(';')[0], JSON.parse(res.body).code]).toEqual([status, 'application/problem+json', code])
}

/** Raw bytes to the listening spoke; resolves with everything it answered before closing (or 2 s). */
async function raw (bytes: string | Buffer): Promise<string> {
  const base = new URL(await listen(t))
  return await new Promise((resolve, reject) => {
    const socket = netConnect(Number(base.port), base.hostname)
    let answer = ''
    const timer = setTimeout(() => { socket.destroy(); resolve(answer) }, 2_000)
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1') })
    socket.on('error', reject)
    socket.on('close', () => { clearTimeout(timer); resolve(answer) })
    socket.write(bytes)
  })
}

describe('1. a malformed session cookie', () => {
  it.each(['%', '%E0%A4%A', '%ZZ'])('is no session (never a 500) on every browser route: %s', async (value) => {
    const cookie = { cookie: `spoke_session=${value}` }
    const page = await t.app.inject({ method: 'GET', url: '/admin', headers: { ...HTML, ...cookie } })
    expect([page.statusCode, page.headers.location]).toEqual([303, '/admin/login?next=%2Fadmin'])
    expectProblem(await t.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: cookie }), 401, 'UNAUTHENTICATED')
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/connections/confluence_cloud/authorize', headers: cookie }), 401, 'UNAUTHENTICATED')
    const out = await t.app.inject({ method: 'POST', url: '/admin/logout', headers: cookie })
    expect([out.statusCode, out.headers.location]).toEqual([303, '/admin/login'])
  })
})

describe('2. deep JSON', () => {
  const deep = (n: number): string => `{"input":{"x":${'['.repeat(n)}${']'.repeat(n)}}}`
  it('is a clean 400 with and without an Idempotency-Key, on every JSON route', async () => {
    for (const key of [undefined, 'deep-1']) {
      const res = await t.app.inject({
        method: 'POST', url: '/v1/actions/confluence.user.current/execute', payload: deep(2_300),
        headers: { authorization: `Bearer ${t.keys.invoker}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) }
      })
      expectProblem(res, 400, 'REQUEST_INVALID')
      expect(JSON.parse(res.body).detail).toMatch(/deeper than 64/)
    }
    const alias = await t.app.inject({ method: 'PUT', url: '/v1/connections/deep', payload: deep(100), headers: { authorization: `Bearer ${t.keys.admin}`, 'content-type': 'application/json' } })
    expectProblem(alias, 400, 'REQUEST_INVALID')
  })
})

describe('3. a lone UTF-16 surrogate', () => {
  it.each([{ cql: 'type = page and text ~ "a\ud800b"' }, { text: 'a\ud800b' }, { text: '\udc00' }])('in a query parameter is 400 INPUT_INVALID: %j', async (input) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/actions/confluence.content.search/execute', payload: { input }, headers: { authorization: `Bearer ${t.keys.invoker}` } })
    expectProblem(res, 400, 'INPUT_INVALID')
  })
})

describe('4. the destination after sign-in', () => {
  it.each(['/\t/evil.example', '/\n/evil.example', '/\\evil.example', '\\/evil.example', '//evil.example', '/%09/evil.example', 'https://evil.example/', ' /x', '/\u0000/x', '/.//evil.example', '/..//evil.example', '/admin/..//evil.example'])('stays on the spoke: %j', async (next) => {
    const res = await t.app.inject({
      method: 'POST', url: '/admin/login', remoteAddress: '10.9.9.4',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ apiKey: t.keys.viewer, next }).toString()
    })
    expect(res.statusCode).toBe(303)
    const location = String(res.headers.location)
    expect(new URL(location, 'https://spoke.example').origin).toBe('https://spoke.example')
    expect(location).toMatch(/^\/(?![/\\])[^\s\\]*$/)
    const form = await t.app.inject({ method: 'GET', url: `/admin/login?next=${encodeURIComponent(next)}` })
    const value = /name="next" value="([^"]*)"/.exec(form.body)?.[1]
    expect(value).toMatch(/^\/(?![/\\])[^\s\\]*$/)
  })
  it('keeps a same-origin path with its query', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/admin/login', remoteAddress: '10.9.9.5', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ apiKey: t.keys.viewer, next: '/admin/queues?x=1' }).toString() })
    expect(res.headers.location).toBe('/admin/queues?x=1')
  })
})

describe('5. callback and site URLs', () => {
  const inside = ['http://127.0.0.1:6379/', 'http://[::1]/', 'http://0x7f000001/', 'http://2130706433/', 'http://0177.0.0.1/', 'http://127.1/',
    'http://[::ffff:127.0.0.1]/', 'http://localhost:6379/', 'http://10.0.0.1/', 'http://192.168.0.1/', 'http://100.64.0.1/', 'http://0.0.0.0/', 'http://[fd00::1]/',
    'http://[64:ff9b::a00:1]/', 'http://224.0.0.1/', 'http://169.254.169.254/', 'http://[fe80::1]/']
  it.each(inside)('refuses the callbackUrl %s when the job is accepted', async (callbackUrl) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/actions/confluence.user.current/execute', payload: { input: {}, mode: 'async', callbackUrl }, headers: { authorization: `Bearer ${t.keys.invoker}` } })
    expectProblem(res, 400, 'CALLBACK_URL_FORBIDDEN')
  })
  it('refuses a site.url that is not an https Atlassian site (or an allowed host)', async () => {
    for (const url of ['http://127.0.0.1:6379/', 'https://10.0.0.1/', 'https://evil.example/']) {
      const res = await t.app.inject({ method: 'PUT', url: '/v1/connections/siteurl', payload: { site: { url }, credential: { type: 'oauth2_client_credentials', clientId: 'a', clientSecret: 'b' } }, headers: { authorization: `Bearer ${t.keys.admin}` } })
      expectProblem(res, 400, 'REQUEST_INVALID')
      expect(res.body).toContain('/site/url')
    }
  })
})

describe('6. every error path is problem+json', () => {
  it('the dashboard API', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/queues/api/queues/no-such-queue/1', headers: { authorization: `Bearer ${t.keys.admin}` } })
    expectProblem(res, 404, 'NOT_FOUND')
    expect(res.body).toContain('Queue not found')
  })
  it.each([
    ['a NUL in the path', 'GET /v1/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'REQUEST_INVALID'],
    ['Content-Length with Transfer-Encoding', 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'REQUEST_INVALID'],
    ['a bad chunk', 'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400, 'REQUEST_INVALID'],
    ['a 32 KB header', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`, 431, 'REQUEST_HEADERS_TOO_LARGE'],
    ['Expect: fuzz', 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: fuzz\r\n\r\n', 417, 'EXPECTATION_FAILED']
  ])('raw HTTP: %s', async (_what, bytes, status, code) => {
    const answer = await raw(bytes)
    expect(answer.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
    expect(answer.toLowerCase()).toContain('content-type: application/problem+json')
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status, code })
  })
  it('a validation error on a huge list is truncated to 20 items with a count of the rest', async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => i)
    const res = await t.app.inject({ method: 'POST', url: '/v1/actions/confluence.group.members.bulk/execute', payload: { input: { groupId: 'g', add: items } }, headers: { authorization: `Bearer ${t.keys.invoker}` } })
    expect(res.statusCode).toBe(400)
    const p = JSON.parse(res.body)
    expect(p.errors).toHaveLength(20)
    expect(p.errorsOmitted).toBeGreaterThan(0)
    expect(res.body.length).toBeLessThan(20_000)
  })
})

describe('7. sign-in', () => {
  it('is throttled per client address after 10 failures: 429 problem with Retry-After, and a log line', async () => {
    const attempt = async (remoteAddress: string, apiKey = 'wrong-key-0123456789'): Promise<Awaited<ReturnType<typeof t.app.inject>>> => await t.app.inject({
      method: 'POST', url: '/admin/login', remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ apiKey, next: '/admin' }).toString()
    })
    for (let i = 0; i < 10; i++) expect((await attempt('10.7.7.7')).statusCode).toBe(303)
    const throttled = await attempt('10.7.7.7', t.keys.admin) // even the right key waits
    expectProblem(throttled, 429, 'SIGN_IN_THROTTLED')
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0)
    expect(t.logs()).toMatch(/"level":40[^\n]*sign-in throttled/)
    // Another address is not affected.
    expect((await attempt('10.7.7.8', t.keys.admin)).headers['set-cookie']).toBeDefined()
  })
  it('ignores X-Forwarded-For unless SPOKE_TRUST_PROXY names the proxy: a spoofed header does not dodge the throttle', async () => {
    const login = async (spoke: TestSpoke, remoteAddress: string, forwardedFor: string, apiKey = 'wrong-key-0123456789'): Promise<Awaited<ReturnType<typeof t.app.inject>>> => await spoke.app.inject({
      method: 'POST', url: '/admin/login', remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor }, payload: new URLSearchParams({ apiKey, next: '/admin' }).toString()
    })
    // Not trusted (the default): one socket address, ten different claimed clients, still one throttle.
    for (let i = 0; i < 10; i++) expect((await login(t, '10.9.9.9', `198.51.100.${i}`)).statusCode).toBe(303)
    expectProblem(await login(t, '10.9.9.9', '198.51.100.99', t.keys.admin), 429, 'SIGN_IN_THROTTLED')
    // Behind a trusted proxy: each forwarded client has its own throttle, so one attacker does not lock out the rest.
    const proxied = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_TRUST_PROXY: '10.0.0.5/32' })
    try {
      for (let i = 0; i < 10; i++) expect((await login(proxied, '10.0.0.5', '203.0.113.7')).statusCode).toBe(303)
      expectProblem(await login(proxied, '10.0.0.5', '203.0.113.7', proxied.keys.admin), 429, 'SIGN_IN_THROTTLED')
      expect((await login(proxied, '10.0.0.5', '203.0.113.8', proxied.keys.admin)).headers['set-cookie']).toBeDefined()
    } finally { await proxied.close() }
  })
})
