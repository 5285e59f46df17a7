// Triggers against the simulator's mutations, on a real Redis, real BullMQ workers and real HTTP:
// - the routes: problem+json validation, roles, 404s;
// - exactly the expected events after create (a draft published), one edit, two quick edits (two events,
//   n+1 and n+2), a blog post and an attachment edit, a trash, a restore: none missing, none duplicated, in
//   version order per item, every delivery signed the Standard Webhooks way, filters applied;
// - 1 and 10 subscriptions on one site cost the same upstream requests per poll;
// - a receiver that is down: only its own subscription waits (no worker slot held), nothing is lost when it
//   comes back; past the give-up time the events become dead letters, and a replay delivers them in order.
// Polls are run by calling the service's poll (what the site's scheduled job runs) so each test decides
// when a poll happens; deliveries run on the workers.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { webhookHeaders } from '../../src/http/signed-post'
import { until } from '../helpers/until'

const SECRET = 'triggers-secret'
let sim: Simulator
let t: TestSpoke
let alias: string

interface Received { path: string, body: any, signed: boolean, webhookId: string }

/** A receiver on 127.0.0.1: records every accepted POST by path; `down` answers 503. */
class Receiver {
  server!: Server
  url = ''
  got: Received[] = []
  down = new Set<string>()
  attempts = new Map<string, number>()
  async start (): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString()
        const path = req.url ?? '/'
        this.attempts.set(path, (this.attempts.get(path) ?? 0) + 1)
        if (this.down.has(path)) { res.statusCode = 503; res.end(); return }
        const id = String(req.headers['webhook-id'])
        const expected = webhookHeaders(id, raw, SECRET, new Date(Number(req.headers['webhook-timestamp']) * 1000))['webhook-signature']
        this.got.push({ path, body: JSON.parse(raw), signed: req.headers['webhook-signature'] === expected, webhookId: id })
        res.statusCode = 204
        res.end()
      })
    })
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** The events received on a path, in arrival order (batches flattened). */
  events (path: string): any[] {
    return this.got.filter((g) => g.path === path).flatMap((g) => Array.isArray(g.body.events) ? g.body.events : [g.body])
  }
}

const receiver = new Receiver()
/** A page made a never-published draft before any poll, published by a test (a page created). */
let drafted: ReturnType<Simulator['data']['mutate']>
let draftedComments: Array<ReturnType<Simulator['data']['mutate']>>

beforeAll(async () => {
  sim = await startSimulator({ seed: 'triggers', size: { pages: 120, spaces: 3, users: 20, groups: 3, blogposts: 15, attachments: 20, comments: 40, inlineComments: 20 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_SECRET: SECRET, SPOKE_CALLBACK_ALLOW_PRIVATE: 'true', SPOKE_SITE_RATE_PER_SECOND: '1000', SPOKE_SITE_BURST: '200' }, { workers: true })
  ;({ alias } = await connectSimulatorAlias(t, sim, { grant: 'client_credentials' }))
  await receiver.start()
  drafted = sim.data.mutate({ op: 'draft', id: [...sim.data.content('page')].filter((p) => p.status === 'current')[8].id })
  // comments posted later by a test: a footer comment, a reply, an inline comment (on current pages)
  const onCurrent = (c: any): boolean => c.status === 'current' && c.containerType === undefined && sim.data.contentById(c.parentId)?.status === 'current' && c.parentId !== drafted.id
  const all = [...sim.data.comments()].filter(onCurrent)
  const pick = [all.find((c) => c.commentType === 'footer' && c.parentCommentId === undefined), all.find((c) => c.commentType === 'footer' && c.parentCommentId !== undefined), all.find((c) => c.commentType === 'inline' && c.parentCommentId === undefined)]
  if (pick.some((c) => c === undefined)) throw new Error('the seed has no comment of each kind')
  draftedComments = pick.map((c) => sim.data.mutate({ op: 'draft', id: c!.id }))
}, 30_000)
afterAll(async () => {
  await new Promise((resolve) => receiver.server?.close(resolve))
  await closeCheckingContract(sim, t)
})

/** A poll of the site now (what its scheduled job runs), once any poll under way has finished. */
async function poll (): Promise<any> {
  return await until('a poll of the site', async () => await t.core.triggers.poll(alias))
}

/** No trigger job queued or running (the scheduled first poll of a new trigger, deliveries). */
async function settled (): Promise<void> {
  await until('an idle trigger queue', async () => {
    const c = await t.core.triggers.queue.getJobCounts('active', 'waiting', 'prioritized')
    return c.active + c.waiting + c.prioritized === 0
  })
}

const ALL_EVENTS = ['page.created', 'page.updated', 'page.trashed', 'page.restored', 'blogpost.created', 'blogpost.updated', 'comment.created', 'attachment.created', 'attachment.updated']

async function putTrigger (id: string, body: Record<string, unknown>): Promise<any> {
  const res = await http(t, 'PUT', `/v1/triggers/${id}`, { key: t.keys.admin, body: { connection: alias, every: 30, ...body } })
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT trigger ${id}: ${res.status} ${res.text}`)
  return res.json()
}

/** Deletes every trigger, so each test starts with the site's subscriptions it makes. */
afterEach(async () => {
  for (const tr of (await http(t, 'GET', '/v1/triggers', { key: t.keys.admin })).json().triggers) await http(t, 'DELETE', `/v1/triggers/${String(tr.id)}`, { key: t.keys.admin })
  receiver.down.clear()
})

it('validates subscriptions as problem+json, admins write, viewers read', async () => {
  const base = { connection: alias, events: ['page.updated'], delivery: { url: `${receiver.url}/v` }, every: 30 }
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ ...base, every: 10 }, 400, 'REQUEST_INVALID'],
    [{ ...base, events: ['page.moved'] }, 400, 'REQUEST_INVALID'],
    [{ ...base, delivery: { url: 'ftp://example.com/x' } }, 400, 'REQUEST_INVALID'],
    [{ ...base, delivery: { url: 'http://u:p@example.com/x' } }, 400, 'REQUEST_INVALID'],
    [{ ...base, start: 'yesterday' }, 400, 'REQUEST_INVALID'],
    [{ ...base, connection: 'nope' }, 404, 'CONNECTION_NOT_FOUND']
  ]
  for (const [body, status, code] of cases) {
    const res = await http(t, 'PUT', '/v1/triggers/v1', { key: t.keys.admin, body })
    expect([res.status, res.headers['content-type'], res.json().code]).toEqual([status, expect.stringContaining('application/problem+json'), code])
  }
  expect((await http(t, 'PUT', '/v1/triggers/v1', { key: t.keys.viewer, body: base })).status).toBe(403)
  expect((await http(t, 'PUT', '/v1/triggers/v1', { key: t.keys.admin, body: base })).status).toBe(201)
  expect((await http(t, 'PUT', '/v1/triggers/v1', { key: t.keys.admin, body: base })).status).toBe(200)
  const view = await http(t, 'GET', '/v1/triggers/v1', { key: t.keys.viewer })
  expect(view.json()).toMatchObject({ id: 'v1', state: 'active', pending: 0, lagSeconds: 0, lastDeliveries: [] })
  expect((await http(t, 'GET', '/v1/triggers/nope', { key: t.keys.viewer })).json().code).toBe('NOT_FOUND')
  expect((await http(t, 'POST', '/v1/triggers/v1/pause', { key: t.keys.viewer })).status).toBe(403)
  expect((await http(t, 'POST', '/v1/triggers/v1/pause', { key: t.keys.admin })).json().state).toBe('paused')
  expect((await http(t, 'POST', '/v1/triggers/v1/resume', { key: t.keys.admin })).json().state).toBe('active')
  // the site's poll is a scheduled job at the trigger's interval
  const schedulers = await t.core.triggers.queue.getJobSchedulers()
  expect(schedulers.map((s) => [s.key, s.every])).toEqual([[`poll.${alias}`, 30_000]])
  // a test event, signed, and recorded among the last deliveries
  const test = await http(t, 'POST', '/v1/triggers/v1/test', { key: t.keys.admin })
  expect(test.json()).toMatchObject({ ok: true, status: 204, test: true })
  expect(receiver.got.filter((g) => g.path === '/v').map((g) => [g.body.type, g.signed])).toEqual([['trigger.test', true]])
  expect((await http(t, 'GET', '/v1/triggers/v1', { key: t.keys.admin })).json().lastDeliveries[0]).toMatchObject({ ok: true, test: true })
  expect((await http(t, 'DELETE', '/v1/triggers/v1', { key: t.keys.admin })).status).toBe(204)
  expect(await t.core.triggers.queue.getJobSchedulers()).toEqual([])
})

it('delivers exactly the expected events, in version order per item, signed, filtered per subscription', async () => {
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current')
  const [edited, twice, trashed] = pages.slice(5, 8)
  const blog = [...sim.data.content('blogpost')].find((b) => b.status === 'current')!
  const attachment = [...sim.data.content('attachment')].find((a) => a.status === 'current')!
  await putTrigger('all', { events: ALL_EVENTS, delivery: { url: `${receiver.url}/all` } })
  await putTrigger('onlyspace', { events: ['page.updated'], filter: { spaces: [twice.spaceKey] }, delivery: { url: `${receiver.url}/space`, batch: 10 } })
  // the site's first poll (scheduled at once, or this one) takes the baseline: no events
  await poll()

  sim.data.mutate({ op: 'edit', id: edited.id })
  sim.data.mutate({ op: 'edit', id: twice.id })
  sim.data.mutate({ op: 'edit', id: twice.id })
  sim.data.mutate({ op: 'edit', id: blog.id })
  sim.data.mutate({ op: 'edit', id: attachment.id })
  sim.data.mutate({ op: 'delete', id: trashed.id })
  sim.data.mutate({ op: 'publish', id: drafted.id })
  for (const c of draftedComments) sim.data.mutate({ op: 'publish', id: c.id })
  await poll()
  sim.data.mutate({ op: 'restore', id: trashed.id })
  await poll()
  // a poll with nothing new (the window overlaps the last one): nothing more
  await poll()

  const expected = [
    `${edited.id}.${edited.version + 1}.page.updated`,
    `${twice.id}.${twice.version + 1}.page.updated`,
    `${twice.id}.${twice.version + 2}.page.updated`,
    `${blog.id}.${blog.version + 1}.blogpost.updated`,
    `${attachment.id.replace(/^att/, '')}.${attachment.version + 1}.attachment.updated`,
    `${trashed.id}.${trashed.version}.page.trashed`,
    `${drafted.id}.1.page.created`,
    `${trashed.id}.${trashed.version}.page.restored`,
    ...draftedComments.map((c) => `${c.id}.1.comment.created`)
  ]
  await until('all events', () => receiver.events('/all').length >= expected.length).catch((err) => { throw new Error(`${String(err)}: got ${JSON.stringify(receiver.events('/all').map((e) => e.id))}, expected ${JSON.stringify(expected)}`) })
  const got = receiver.events('/all')
  expect(got.map((e) => e.id).sort()).toEqual([...expected].sort())
  expect(new Set(got.map((e) => e.id)).size).toBe(got.length)
  expect(receiver.got.filter((g) => g.path === '/all').every((g) => g.signed)).toBe(true)
  // version order per item, and the restore after the trash
  const order = (id: string): string[] => got.filter((e) => e.content.id === id).map((e) => e.id)
  expect(order(twice.id)).toEqual([`${twice.id}.${twice.version + 1}.page.updated`, `${twice.id}.${twice.version + 2}.page.updated`])
  expect(order(trashed.id)).toEqual([`${trashed.id}.${trashed.version}.page.trashed`, `${trashed.id}.${trashed.version}.page.restored`])
  const created = got.find((e) => e.type === 'page.created')
  expect(created).toMatchObject({ subscription: 'all', content: { kind: 'page', id: drafted.id, spaceKey: drafted.spaceKey, title: drafted.title, version: 1 } })
  expect(typeof created.occurredAt).toBe('string')
  // comments: footer, reply, inline — each once; a root comment carries its page's space
  const root = got.find((e) => e.content.id === draftedComments[0].id)
  const container = sim.data.contentById(draftedComments[0].parentId as string)!
  expect(root).toMatchObject({ type: 'comment.created', content: { kind: 'comment', version: 1, spaceId: container.spaceId, spaceKey: container.spaceKey } })
  expect(typeof created.detectedAt).toBe('string')

  // the filtered subscription: page.updated in one space only, batched
  const inSpace = expected.filter((id) => id.endsWith('.page.updated') && [edited, twice].some((p) => id.startsWith(`${p.id}.`) && p.spaceKey === twice.spaceKey))
  await until('space events', () => receiver.events('/space').length >= inSpace.length)
  expect(receiver.events('/space').map((e) => e.id)).toEqual(inSpace)
  const view = (await http(t, 'GET', '/v1/triggers/all', { key: t.keys.viewer })).json()
  expect(view).toMatchObject({ pending: 0, detected: expected.length, delivered: expected.length, failures: 0, deadLetters: 0 })
  const metrics = (await http(t, 'GET', '/metrics', { key: t.keys.admin })).text
  expect(metrics).toMatch(new RegExp(`spoke_trigger_events_delivered_total\\{subscription="all"\\} ${expected.length}`))
})

it('one poll serves every subscription of a site: 1, 10 and 100 subscriptions cost the same upstream requests', async () => {
  const page = [...sim.data.content('page')].filter((p) => p.status === 'current')[20]
  const perPoll: number[] = []
  for (const n of [1, 10, 100]) {
    for (let i = 0; i < n; i++) await putTrigger(`cost${n}-${i}`, { events: ['page.updated'], delivery: { url: `${receiver.url}/cost${n}-${i}` } })
    await poll()
    sim.data.mutate({ op: 'edit', id: page.id })
    await settled()
    const before = sim.counters().requests
    await poll()
    perPoll.push(sim.counters().requests - before)
    await until(`the ${n} deliveries`, () => Array.from({ length: n }, (_, i) => receiver.events(`/cost${n}-${i}`).length).every((c) => c === 1))
    for (let i = 0; i < n; i++) await http(t, 'DELETE', `/v1/triggers/cost${n}-${i}`, { key: t.keys.admin })
  }
  console.log(`upstream requests per poll: 1 subscription ${perPoll[0]}, 10 subscriptions ${perPoll[1]}, 100 subscriptions ${perPoll[2]}`)
  expect(perPoll[1]).toBe(perPoll[0])
  expect(perPoll[2]).toBe(perPoll[0])
}, 60_000)

it('a receiver that is down delays only its own subscription, holds no worker slot, and loses nothing', async () => {
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current').slice(30, 34)
  await putTrigger('down', { events: ['page.updated'], delivery: { url: `${receiver.url}/down` } })
  await putTrigger('up', { events: ['page.updated'], delivery: { url: `${receiver.url}/up` } })
  await poll()
  receiver.down.add('/down')
  for (const p of pages) sim.data.mutate({ op: 'edit', id: p.id })
  await poll()
  // the healthy receiver gets its four events while the other keeps failing
  await until('the healthy receiver', () => receiver.events('/up').length === 4)
  await until('a few failed attempts', () => (receiver.attempts.get('/down') ?? 0) >= 2)
  // no worker slot waits for the down receiver: nothing active, its retry is a delayed job
  await until('no active trigger job', async () => (await t.core.triggers.queue.getActiveCount()) === 0 && (await t.core.triggers.queue.getDelayedCount()) >= 1)
  expect(receiver.events('/down')).toEqual([])
  const waiting = (await http(t, 'GET', '/v1/triggers/down', { key: t.keys.admin })).json()
  expect(waiting).toMatchObject({ pending: 4, delivered: 0 })
  expect(waiting.failures).toBeGreaterThanOrEqual(2)
  expect(waiting.lastDeliveries[0]).toMatchObject({ ok: false })
  // back: every event arrives, once, in the order detected
  receiver.down.delete('/down')
  await until('the recovered receiver', () => receiver.events('/down').length === 4, 20_000)
  expect(receiver.events('/down').map((e) => e.id)).toEqual(receiver.events('/up').map((e) => e.id))
  expect((await http(t, 'GET', '/v1/triggers/down', { key: t.keys.admin })).json()).toMatchObject({ pending: 0, delivered: 4, lagSeconds: 0 })
}, 40_000)
