// The triggers pages of the console (routes/admin/triggers.ts), on a real Redis, real BullMQ workers, the
// simulator and a real receiver over HTTP:
// - an admin creates a trigger through the form (every problem named at once first, a refused delivery URL
//   named on its field), pauses and resumes it, sends a test event that reaches the receiver signed, sees the
//   deliveries' outcomes, replays dead letters (delivered in order), edits and deletes it;
// - a viewer sees the pages read-only and is refused every change; a form without the session's CSRF token is
//   refused; errors are HTML pages.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { csrfToken } from '../../src/lib/sessions'
import { webhookHeaders } from '../../src/http/signed-post'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { until } from '../helpers/until'

const SECRET = 'admin-triggers-secret'
const HTML = { accept: 'text/html,application/xhtml+xml' }
const FORM = { ...HTML, 'content-type': 'application/x-www-form-urlencoded' }

let sim: Simulator
let t: TestSpoke
let alias: string
let server: Server
let url = ''
let down = false
const got: Array<{ path: string, body: any, signed: boolean }> = []
let admin: { cookie: string, csrf: string }
let viewer: { cookie: string, csrf: string }

async function signIn (apiKey: string): Promise<{ cookie: string, csrf: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/admin/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ apiKey, next: '/admin' }).toString() })
  const cookie = String(res.headers['set-cookie']).split(';')[0]
  return { cookie, csrf: csrfToken(cookie.split('=')[1]) }
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 'admin-triggers', size: { pages: 30, spaces: 2, users: 5, groups: 2, blogposts: 2, attachments: 2, comments: 0, inlineComments: 0 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_SECRET: SECRET, SPOKE_CALLBACK_ALLOW_PRIVATE: 'true', SPOKE_WEBHOOK_GIVE_UP_SECONDS: '1' }, { workers: true })
  ;({ alias } = await connectSimulatorAlias(t, sim, { grant: 'client_credentials' }))
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (down) { res.statusCode = 503; res.end(); return }
      const raw = Buffer.concat(chunks).toString()
      const expected = webhookHeaders(String(req.headers['webhook-id']), raw, SECRET, new Date(Number(req.headers['webhook-timestamp']) * 1000))['webhook-signature']
      got.push({ path: req.url ?? '/', body: JSON.parse(raw), signed: req.headers['webhook-signature'] === expected })
      res.statusCode = 204
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  admin = await signIn(t.keys.admin)
  viewer = await signIn(t.keys.viewer)
}, 30_000)
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await t?.close()
  await sim?.close()
})

const get = async (path: string, who = admin): Promise<{ status: number, body: string, location?: string }> => {
  const res = await t.app.inject({ method: 'GET', url: path, headers: { ...HTML, cookie: who.cookie } })
  return { status: res.statusCode, body: res.body, location: res.headers.location as string | undefined }
}

const post = async (path: string, fields: Array<[string, string]> = [], who = admin, csrf: string | null = who.csrf): Promise<{ status: number, body: string, location?: string, type: string }> => {
  const payload = new URLSearchParams([...(csrf !== null ? [['_csrf', csrf] as [string, string]] : []), ...fields]).toString()
  const res = await t.app.inject({ method: 'POST', url: path, headers: { ...FORM, cookie: who.cookie }, payload })
  return { status: res.statusCode, body: res.body, location: res.headers.location as string | undefined, type: String(res.headers['content-type']) }
}

const trigger = async (id: string): Promise<any> => (await http(t, 'GET', `/v1/triggers/${id}`, { key: t.keys.admin })).json()

function newTriggerFields (id: string, path: string): Array<[string, string]> {
  return [['id', id], ['connection', alias], ['events', 'page.updated'], ['events', 'page.created'], ['types', 'page'], ['url', `${url}${path}`], ['every', '45'], ['spaces', ''], ['batch', ''], ['start', '']]
}

it('an admin creates a trigger through the form, after every problem is named at once', async () => {
  const page = await get('/admin/triggers')
  expect(page.status).toBe(200)
  expect(page.body).toContain('<h1>Triggers</h1>')
  expect(page.body).toContain('New trigger')
  expect(page.body).toContain('href="/admin/triggers"') // the nav

  // nothing filled in (and a bad batch and start): every problem at once, by its field's label, nothing saved
  const empty = await post('/admin/triggers', [['id', ''], ['connection', ''], ['url', ''], ['every', '10'], ['batch', '0'], ['start', 'yesterday']])
  expect(empty.status).toBe(400)
  expect(empty.body).toContain('Not saved: 7 problems to fix.')
  for (const label of ['Trigger id', 'Connection', 'Events', 'Delivery URL', 'Events per request', 'Poll every (seconds)', 'Start']) expect(empty.body).toContain(`>${label}</a>:`)
  expect(empty.body).toContain('(required)')
  expect((await http(t, 'GET', '/v1/triggers', { key: t.keys.admin })).json().triggers).toEqual([])

  // the service's own refusal (the callback address policy: link-local is not allowed here) is named on its field, the form kept
  const refused = await post('/admin/triggers', [...newTriggerFields('ui', '/ui').filter(([k]) => k !== 'url'), ['url', 'http://169.254.169.254/latest']])
  expect(refused.status).toBe(400)
  expect(refused.body).toMatch(/>Delivery URL<\/a>: delivery\.url may not be called/)
  expect(refused.body).toContain('value="http://169.254.169.254/latest"')
  expect(refused.body).toContain('value="page.updated" checked')
  expect(refused.body).not.toContain('<td><a href="/admin/triggers/ui">') // not in the list

  const created = await post('/admin/triggers', newTriggerFields('ui', '/ui'))
  expect(created.status).toBe(303)
  expect(created.location).toBe('/admin/triggers/ui?done=trigger-saved')
  expect(await trigger('ui')).toMatchObject({ id: 'ui', connection: alias, events: ['page.updated', 'page.created'], filter: { types: ['page'] }, delivery: { url: `${url}/ui` }, every: 45, state: 'active' })
  const again = await post('/admin/triggers', newTriggerFields('ui', '/other'))
  expect(again.status).toBe(400)
  expect(again.body).toContain('a trigger &#34;ui&#34; exists already')

  const list = await get('/admin/triggers')
  expect(list.body).toContain('<a href="/admin/triggers/ui"><code>ui</code></a>')
  expect(list.body).toMatch(/<td class="ok">active<\/td><td>none pending<\/td><td><span class="muted">none yet<\/span><\/td>/)
  const detail = await get(created.location!)
  expect(detail.status).toBe(200)
  expect(detail.body).toContain('Trigger saved.')
  for (const button of ['Pause', 'Send a test event', 'Delete', 'Save changes']) expect(detail.body).toContain(`>${button}</button>`)
})

it('pause and resume from the page; a test event reaches the receiver signed and shows as the last delivery', async () => {
  const paused = await post('/admin/triggers/ui/pause')
  expect(paused.location).toBe('/admin/triggers/ui?done=trigger-paused')
  expect((await trigger('ui')).state).toBe('paused')
  const pausedPage = await get(paused.location!)
  expect(pausedPage.body).toContain('>Resume</button>')
  expect(pausedPage.body).not.toContain('>Pause</button>')
  expect((await get('/admin/triggers')).body).toContain('<td class="warn">paused</td>')

  const resumed = await post('/admin/triggers/ui/resume')
  expect(resumed.location).toBe('/admin/triggers/ui?done=trigger-resumed')
  expect((await trigger('ui')).state).toBe('active')

  const tested = await post('/admin/triggers/ui/test')
  expect(tested.location).toBe('/admin/triggers/ui?done=test-delivered')
  const event = got.find((g) => g.path === '/ui' && g.body.type === 'trigger.test')
  expect(event).toMatchObject({ signed: true, body: { subscription: 'ui' } })
  const page = await get(tested.location!)
  expect(page.body).toContain('Test event delivered')
  expect(page.body).toContain(`<code>${String(event!.body.id)}</code>`)
  expect(page.body).toContain('<span class="ok">delivered (204)</span> · test event')

  // a receiver that refuses: the outcome says so, in the flash and the table
  down = true
  const failed = await post('/admin/triggers/ui/test')
  down = false
  expect(failed.location).toBe('/admin/triggers/ui?done=test-failed')
  const failedPage = await get(failed.location!)
  expect(failedPage.body).toMatch(/class="flash error"/)
  expect(failedPage.body).toMatch(/<span class="bad">failed: [^<]*503/)
})

it('dead letters are listed with a Replay button that delivers them in order; edit and delete', async () => {
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current').slice(2, 4)
  await until('a first poll', async () => await t.core.triggers.poll(alias))
  down = true
  for (const p of pages) sim.data.mutate({ op: 'edit', id: p.id })
  await until('a poll', async () => await t.core.triggers.poll(alias))
  await until('dead letters', async () => (await trigger('ui')).deadLetters === 2)
  const expected = pages.map((p) => `${p.id}.${p.version + 1}.page.updated`)
  const page = await get('/admin/triggers/ui')
  expect(page.body).toContain('Dead letters (2)')
  for (const id of expected) expect(page.body).toContain(`<code>${id}</code>`)
  expect(page.body).toContain('>Replay all 2 dead letters</button>')

  down = false
  const replayed = await post('/admin/triggers/ui/replay')
  expect(replayed.location).toBe('/admin/triggers/ui?done=replayed')
  await until('the replayed events', () => got.filter((g) => g.path === '/ui' && g.body.type === 'page.updated').length === 2)
  expect(got.filter((g) => g.path === '/ui' && g.body.type === 'page.updated').map((g) => g.body.id).sort()).toEqual([...expected].sort())
  expect(got.every((g) => g.signed)).toBe(true)
  const after = await get('/admin/triggers/ui')
  expect(after.body).toContain('Dead letters (0)')
  expect(after.body).toMatch(/<span class="ok">delivered \(204\)<\/span><\/td><td>1 event<\/td>/)

  // edit: the id stays, a problem is named, then a save changes what the JSON API shows
  const bad = await post('/admin/triggers/ui/edit', [['connection', alias], ['url', `${url}/ui2`], ['every', 'soon']])
  expect(bad.status).toBe(400)
  expect(bad.body).toContain('Not saved: 2 problems to fix.')
  expect((await trigger('ui')).delivery.url).toBe(`${url}/ui`)
  const edited = await post('/admin/triggers/ui/edit', [['connection', alias], ['events', 'page.trashed'], ['url', `${url}/ui2`], ['every', '60'], ['batch', '5'], ['spaces', 'ABC, DEF']])
  expect(edited.location).toBe('/admin/triggers/ui?done=trigger-saved')
  expect(await trigger('ui')).toMatchObject({ events: ['page.trashed'], delivery: { url: `${url}/ui2`, batch: 5 }, every: 60, filter: { spaces: ['ABC', 'DEF'] } })

  const asked = await post('/admin/triggers/ui/delete')
  expect(asked.status).toBe(200)
  expect(asked.body).toContain('Delete trigger <code>ui</code>?')
  expect(asked.body).toContain('name="confirm" value="delete"')
  expect((await trigger('ui')).id).toBe('ui') // not yet
  const deleted = await post('/admin/triggers/ui/delete', [['confirm', 'delete']])
  expect(deleted.location).toBe('/admin/triggers?done=trigger-deleted')
  expect((await http(t, 'GET', '/v1/triggers/ui', { key: t.keys.admin })).status).toBe(404)
}, 40_000)

it('a viewer sees the pages read-only and every change is refused; no CSRF token, no change; errors are HTML pages', async () => {
  await http(t, 'PUT', '/v1/triggers/ro', { key: t.keys.admin, body: { connection: alias, events: ['page.created'], delivery: { url: `${url}/ro` }, every: 30 } })
  const list = await get('/admin/triggers', viewer)
  expect(list.status).toBe(200)
  expect(list.body).toContain('<a href="/admin/triggers/ro">')
  expect(list.body).not.toContain('New trigger')
  expect(list.body).not.toContain('action="/admin/triggers"')
  const detail = await get('/admin/triggers/ro', viewer)
  expect(detail.status).toBe(200)
  expect(detail.body).toContain('Last deliveries')
  for (const button of ['Pause', 'Send a test event', 'Delete', 'Save changes']) expect(detail.body).not.toContain(`>${button}</button>`)
  for (const op of ['pause', 'test', 'delete', 'replay', 'edit']) {
    const refused = await post(`/admin/triggers/ro/${op}`, [], viewer)
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('<code>FORBIDDEN</code>')
  }
  expect((await post('/admin/triggers', newTriggerFields('viewer-made', '/v'), viewer)).status).toBe(403)

  // an admin's cookie without the session's token (none, or not this session's): refused, as a page, nothing changed
  for (const csrf of [null, 'forged']) {
    const forged = await post('/admin/triggers/ro/pause', [], admin, csrf)
    expect(forged.status).toBe(403)
    expect(forged.type).toContain('text/html')
    expect(forged.body).toContain('CSRF token missing or wrong')
  }
  expect((await trigger('ro')).state).toBe('active')
  expect(got.filter((g) => g.path === '/ro')).toEqual([])

  const missing = await get('/admin/triggers/nope')
  expect(missing.status).toBe(404)
  expect(missing.body).toContain('<!doctype html>')
  expect(missing.body).toContain('<code>NOT_FOUND</code>')
  expect(missing.body).toContain('No trigger &#34;nope&#34;')
  const gone = await post('/admin/triggers/nope/test')
  expect(gone.status).toBe(404)
  expect(gone.body).toContain('<!doctype html>')
  await http(t, 'DELETE', '/v1/triggers/ro', { key: t.keys.admin })
})
