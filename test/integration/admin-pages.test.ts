// The admin page and the queue dashboard in a browser: sign in with a key, an HttpOnly SameSite=Strict
// session cookie, roles kept, the JSON API still bearer-only, no open redirect, sign-out ends the session.
import { csrfToken } from '../../src/lib/sessions'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'

let spoke: TestSpoke
beforeAll(async () => { spoke = await buildTestSpoke() })
afterAll(async () => { await spoke.close() })

const HTML = { accept: 'text/html,application/xhtml+xml' }

async function signIn (apiKey: string, next = '/admin'): Promise<{ status: number, location?: string, cookie?: string }> {
  const res = await spoke.app.inject({
    method: 'POST', url: '/admin/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ apiKey, next }).toString()
  })
  const setCookie = res.headers['set-cookie']
  return { status: res.statusCode, location: res.headers.location as string | undefined, cookie: typeof setCookie === 'string' ? setCookie : undefined }
}

const cookieOf = (setCookie: string): string => setCookie.split(';')[0]

it('sends a person without a session to the sign-in form, and programs get 401', async () => {
  const page = await spoke.app.inject({ method: 'GET', url: '/admin', headers: HTML })
  expect(page.statusCode).toBe(303)
  expect(page.headers.location).toBe('/admin/login?next=%2Fadmin')
  expect((await spoke.app.inject({ method: 'GET', url: '/admin' })).statusCode).toBe(401)
  const form = await spoke.app.inject({ method: 'GET', url: '/admin/login?next=%2Fadmin' })
  expect(form.statusCode).toBe(200)
  expect(form.body).toContain('name="apiKey"')
})

it('refuses wrong and invoker keys, and never redirects off-site', async () => {
  expect((await signIn('not-a-key-at-all')).location).toMatch(/^\/admin\/login\?failed=invalid/)
  const invoker = await signIn(spoke.keys.invoker)
  expect(invoker.cookie).toBeUndefined()
  expect(invoker.location).toMatch(/^\/admin\/login\?failed=invoker/) // the key is valid; its role is refused
  const told = await spoke.app.inject({ method: 'GET', url: invoker.location! })
  expect(told.body).toContain('role (invoker) cannot use the console')
  const offsite = await signIn(spoke.keys.viewer, '//evil.example/phish')
  expect(offsite.location).toBe('/admin')
})

it('a viewer session sees the page and the dashboard but cannot change anything or use the JSON API', async () => {
  const { status, location, cookie } = await signIn(spoke.keys.viewer)
  expect(status).toBe(303)
  expect(location).toBe('/admin')
  expect(cookie).toMatch(/HttpOnly/)
  expect(cookie).toMatch(/SameSite=Strict/)
  const jar = { cookie: cookieOf(cookie!) }

  const page = await spoke.app.inject({ method: 'GET', url: '/admin', headers: { ...HTML, ...jar } })
  expect(page.statusCode).toBe(200)
  expect(page.body).toContain('confluence_cloud')
  expect(page.body).not.toContain('Edit alias') // changes are an admin's act
  expect(page.body).not.toContain('New alias')
  expect(page.headers['content-security-policy']).toContain("default-src 'none'")
  // The home page names the production checks that are not fine (the test Redis keeps no AOF; keys were generated).
  const report = await spoke.core.preflight.current()
  const open = report.findings.filter(f => f.level === 'warn' || f.level === 'refuse' || f.level === 'unknown')
  expect(open.length).toBeGreaterThan(0)
  expect(page.body).toContain('Production checks')
  for (const f of open) expect(page.body).toContain(`(${f.check})`)

  expect((await spoke.app.inject({ method: 'GET', url: '/admin/queues', headers: { ...HTML, ...jar } })).statusCode).toBe(200)
  const mutating = spoke.app.routeTable.find(r => r.url.startsWith('/admin/queues/api') && ['PUT', 'POST', 'PATCH', 'DELETE'].includes(r.method))!
  const change = await spoke.app.inject({ method: mutating.method as 'PUT', url: mutating.url.replace(/:[A-Za-z]+/g, 'x'), headers: jar })
  expect(change.statusCode).toBe(403)
  expect((await spoke.app.inject({ method: 'GET', url: '/v1/connections', headers: jar })).statusCode).toBe(401)
})

it('an admin session may use the dashboard from our own pages only, and sign-out ends it', async () => {
  const { cookie } = await signIn(spoke.keys.admin)
  const jar = { cookie: cookieOf(cookie!) }
  const page = await spoke.app.inject({ method: 'GET', url: '/admin', headers: { ...HTML, ...jar } })
  expect(page.body).toContain('Edit alias') // the shipped aliases need configuration first
  expect(page.body).toContain('New alias')
  const mutating = spoke.app.routeTable.find(r => r.url.startsWith('/admin/queues/api') && ['PUT', 'POST', 'PATCH', 'DELETE'].includes(r.method))!
  const url = mutating.url.replace(/:[A-Za-z]+/g, 'x')
  const crossSite = await spoke.app.inject({ method: mutating.method as 'PUT', url, headers: { ...jar, 'sec-fetch-site': 'cross-site' } })
  expect(crossSite.statusCode).toBe(401)
  const sameSite = await spoke.app.inject({ method: mutating.method as 'PUT', url, headers: { ...jar, 'sec-fetch-site': 'same-origin' } })
  expect([401, 403]).not.toContain(sameSite.statusCode)

  // Only a digest of the session id is stored.
  const keys = await spoke.core.redis.store.keys(`${spoke.config.keyPrefix}:session:*`)
  expect(keys.length).toBeGreaterThan(0)
  expect(keys.join(' ')).not.toContain(jar.cookie.split('=')[1])

  const refused = await spoke.app.inject({ method: 'POST', url: '/admin/logout', headers: jar }) // no CSRF token
  expect(refused.statusCode).toBe(403)
  const out = await spoke.app.inject({
    method: 'POST', url: '/admin/logout', headers: { ...jar, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrfToken(jar.cookie.split('=')[1]) }).toString()
  })
  expect(out.statusCode).toBe(303)
  expect((await spoke.app.inject({ method: 'GET', url: '/admin', headers: jar })).statusCode).toBe(401)
})

it('sign-ins that succeed do not fill the throttle window: a person may sign in again and again', async () => {
  // Every attempt is counted before its key is checked (lib/sign-in-throttle); a good key gives its count back.
  for (let i = 0; i < 15; i++) {
    const res = await spoke.app.inject({ method: 'POST', url: '/admin/login', remoteAddress: '10.70.0.1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ apiKey: spoke.keys.viewer, next: '/admin' }).toString() })
    expect(res.headers['set-cookie']).toBeDefined()
  }
})

// ---- issue 26: HTML for every console error, and a form kept through a session that ended ----
it('answers unknown console paths and the consent link\'s refusals with a page to a person, JSON to a program', async () => {
  const page = await spoke.app.inject({ method: 'GET', url: '/admin/no-such-page', headers: HTML })
  expect(page.statusCode).toBe(404)
  expect(page.headers['content-type']).toMatch(/^text\/html/)
  expect(page.body).toContain('Back to the console')
  const program = await spoke.app.inject({ method: 'GET', url: '/admin/no-such-page' })
  expect(program.statusCode).toBe(404)
  expect(program.headers['content-type']).toMatch(/problem\+json/)
  const { cookie } = await signIn(spoke.keys.viewer)
  const refused = await spoke.app.inject({ method: 'GET', url: '/v1/connections/confluence_cloud/authorize', headers: { ...HTML, cookie: cookieOf(cookie!) } })
  expect(refused.statusCode).toBe(403)
  expect(refused.headers['content-type']).toMatch(/^text\/html/)
  expect(refused.body).toContain('Not allowed')
  const icon = await spoke.app.inject({ method: 'GET', url: '/favicon.ico' })
  expect(icon.statusCode).toBe(200)
})

it('keeps a form posted after the session ended, secrets sealed, and signs in back to it', async () => {
  const payload = new URLSearchParams({ _csrf: 'stale', id: 'kept_alias', name: 'Kept', clientSecret: 'typed-secret-9f1c', then: 'view' }).toString()
  const res = await spoke.app.inject({ method: 'POST', url: '/admin/aliases', headers: { ...HTML, 'content-type': 'application/x-www-form-urlencoded', cookie: 'spoke_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, payload })
  expect(res.statusCode).toBe(401)
  expect(res.body).toContain('nothing you typed is lost')
  expect(res.body).not.toContain('typed-secret-9f1c')
  const next = /name="next" value="([^"]+)"/.exec(res.body)![1].replace(/&#38;/g, '&')
  expect(next).toMatch(/^\/admin\/aliases\/new\?draft=[A-Za-z0-9_-]{43}$/)
  const keys = await spoke.core.redis.store.keys(`${spoke.config.keyPrefix}:console:draft:*`)
  expect(keys.length).toBeGreaterThan(0)
  for (const k of keys) expect(await spoke.core.redis.store.get(k)).not.toContain('typed-secret-9f1c') // sealed
  const draftCookie = cookieOf(String(res.headers['set-cookie']))
  expect(draftCookie).toMatch(/^spoke_draft=/)
  const { cookie } = await signIn(spoke.keys.admin, next)
  // Bound to the browser it was kept for: the same link in another browser opens an empty form.
  const elsewhere = await spoke.app.inject({ method: 'GET', url: next, headers: { ...HTML, cookie: cookieOf(cookie!) } })
  expect(elsewhere.body).not.toContain('value="kept_alias"')
  const form = await spoke.app.inject({ method: 'GET', url: next, headers: { ...HTML, cookie: `${cookieOf(cookie!)}; ${draftCookie}` } })
  expect(form.statusCode).toBe(200)
  expect(form.body).toContain('value="kept_alias"')
  expect(form.body).toContain('the value you typed is kept')
  expect(form.body).toContain(`value="${csrfToken(cookieOf(cookie!).split('=')[1])}"`) // the new session's token
  // A program without a session still gets the 401 problem at once.
  const program = await spoke.app.inject({ method: 'POST', url: '/admin/aliases', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload })
  expect(program.statusCode).toBe(401)
  expect(program.headers['content-type']).toMatch(/problem\+json/)
})
