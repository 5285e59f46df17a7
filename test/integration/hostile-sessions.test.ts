// Console sessions bound to the key that opened them (issue 24, item 2). A session kept the role it was opened
// with for 8 hours: removing its key from SPOKE_API_KEYS (or lowering its role) and restarting left it working.
// Here a second spoke on the same Redis prefix with other SPOKE_API_KEYS is "the restart"; each request now
// re-checks the session's key against the keys configured, and an admin can sign every session of a key out.
import { randomBytes, randomUUID } from 'node:crypto'
import { csrfToken } from '../../src/lib/sessions'
import { keyFingerprint } from '../../src/lib/api-keys'
import { buildTestSpoke, bearer, type TestSpoke } from '../helpers/spoke'

const HTML = { accept: 'text/html,application/xhtml+xml' }
const prefix = `t${randomBytes(5).toString('hex')}`
const masterKey = randomBytes(32).toString('base64')
const admin = `adm_${randomUUID()}`
const viewer = `vwr_${randomUUID()}`
const other = `adm_${randomUUID()}`
const spokes: TestSpoke[] = []

/** A spoke process on the shared prefix with these keys (a restart with another SPOKE_API_KEYS). */
async function spokeWith (keys: string): Promise<TestSpoke> {
  const s = await buildTestSpoke({ SPOKE_KEY_PREFIX: prefix, SPOKE_MASTER_KEY: masterKey, SPOKE_API_KEYS: keys })
  spokes.push(s)
  return s
}
afterEach(async () => { for (const s of spokes.splice(0)) await s.close() })

async function signIn (s: TestSpoke, apiKey: string): Promise<string> {
  const res = await s.app.inject({ method: 'POST', url: '/admin/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ apiKey, next: '/admin' }).toString() })
  const set = res.headers['set-cookie']
  if (typeof set !== 'string') throw new Error(`sign-in refused: ${res.statusCode} ${String(res.headers.location)}`)
  return set.split(';')[0]
}
const sessionId = (cookie: string): string => cookie.split('=')[1]
const console_ = async (s: TestSpoke, cookie: string): Promise<{ status: number, body: string, location?: string }> => {
  const res = await s.app.inject({ method: 'GET', url: '/admin', headers: { ...HTML, cookie } })
  return { status: res.statusCode, body: res.body, location: res.headers.location as string | undefined }
}
const pauseQueue = async (s: TestSpoke, cookie: string): Promise<number> =>
  (await s.app.inject({ method: 'PUT', url: '/admin/queues/api/queues/run-action/pause', headers: { cookie, 'sec-fetch-site': 'same-origin' } })).statusCode

it('a key removed from SPOKE_API_KEYS ends its sessions at the next request (after a restart)', async () => {
  const before = await spokeWith(`admin:${admin},viewer:${viewer}`)
  const cookie = await signIn(before, admin)
  expect((await console_(before, cookie)).body).toContain('Signed in as admin')
  const after = await spokeWith(`admin:${other},viewer:${viewer}`)
  const page = await console_(after, cookie)
  expect(page.status).toBe(303)
  expect(page.location).toMatch(/^\/admin\/login/)
  expect(await pauseQueue(after, cookie)).toBe(401)
  expect(after.logs()).toMatch(/"audit":"session ended"[^\n]*"reason":"key no longer configured"/)
  // Ended, not just refused: putting the key back does not bring the session back.
  const restored = await spokeWith(`admin:${admin},viewer:${viewer}`)
  expect((await console_(restored, cookie)).status).toBe(303)
})

it('a key whose role was lowered to viewer gets a read-only session: no Bull Board change, no console change', async () => {
  const before = await spokeWith(`admin:${admin},viewer:${viewer}`)
  const cookie = await signIn(before, admin)
  const lowered = await spokeWith(`viewer:${admin},admin:${other}`)
  const page = await console_(lowered, cookie)
  expect(page.status).toBe(200)
  expect(page.body).toContain('Signed in as viewer')
  expect(page.body).not.toContain('Signed in as admin')
  expect(await pauseQueue(lowered, cookie)).toBe(403)
  const del = await lowered.app.inject({ method: 'POST', url: '/admin/aliases/anything/delete', headers: { ...HTML, cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${csrfToken(sessionId(cookie))}` })
  expect(del.statusCode).toBe(403)
  expect(lowered.logs()).toMatch(/"audit":"session role lowered"[^\n]*"to":"viewer"/)
  // Lowered for good: giving the key its admin role back does not raise the session again.
  const restored = await spokeWith(`admin:${admin},viewer:${viewer}`)
  expect((await console_(restored, cookie)).body).toContain('Signed in as viewer')
  expect(await pauseQueue(restored, cookie)).toBe(403)
})

it('a key whose role was lowered to invoker (which may not use the console) ends its sessions', async () => {
  const before = await spokeWith(`admin:${admin},viewer:${viewer}`)
  const cookie = await signIn(before, viewer)
  const lowered = await spokeWith(`admin:${admin},invoker:${viewer}`)
  expect((await console_(lowered, cookie)).status).toBe(303)
})

it('an admin signs every session of a key out: by a POST with an admin key, and by the console button', async () => {
  const s = await spokeWith(`admin:${admin},viewer:${viewer},admin:${other}`)
  const sessions = [await signIn(s, viewer), await signIn(s, viewer)]
  const bystander = await signIn(s, other)
  for (const c of sessions) expect((await console_(s, c)).status).toBe(200)
  const res = await s.app.inject({ method: 'POST', url: '/admin/sessions/sign-out', headers: { ...bearer(admin), 'content-type': 'application/x-www-form-urlencoded' }, payload: `keyId=${keyFingerprint(viewer)}` })
  expect(res.statusCode).toBe(200)
  expect(res.json()).toEqual({ keyId: keyFingerprint(viewer), sessionsEnded: 2 })
  for (const c of sessions) expect((await console_(s, c)).status).toBe(303)
  expect((await console_(s, bystander)).status).toBe(200) // another key's session stays
  expect(s.logs()).toMatch(/"audit":"signed out every session of a key"[^\n]*"sessionsEnded":2/)

  // The console: the sessions page lists the key with its open session and a button that ends it.
  const again = await signIn(s, viewer)
  const adminCookie = await signIn(s, admin)
  const list = await s.app.inject({ method: 'GET', url: '/admin/sessions', headers: { ...HTML, cookie: adminCookie } })
  expect(list.statusCode).toBe(200)
  expect(list.body).toContain(`name="keyId" value="${keyFingerprint(viewer)}"`)
  const button = await s.app.inject({ method: 'POST', url: '/admin/sessions/sign-out', headers: { ...HTML, cookie: adminCookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: csrfToken(sessionId(adminCookie)), keyId: keyFingerprint(viewer) }).toString() })
  expect([button.statusCode, button.headers.location]).toEqual([303, '/admin/sessions?done=signedout'])
  expect((await console_(s, again)).status).toBe(303)
  // Viewers may not: the page and the POST are admin-only.
  const viewerCookie = await signIn(s, viewer)
  expect((await s.app.inject({ method: 'GET', url: '/admin/sessions', headers: { ...HTML, cookie: viewerCookie } })).statusCode).toBe(403)
})
