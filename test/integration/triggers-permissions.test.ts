// `content.permissions.changed` against the simulator (nested permission profile: restricted pages and
// folders, comments, attachments), on a real Redis, real BullMQ workers, real crawl jobs and real HTTP:
// - a first crawl of the scope (nothing stored) queues no permission event;
// - after an ancestor is restricted, a restriction is lifted, a page is moved under a restricted parent and
//   another between unrestricted parents (a new chain, the same ACL), a permissions pass (`bodies: false`) gives the receiver exactly one event per affected item — the
//   subtrees with their attachments and comments — with the new ACL in the crawl's conjunctive form, none for
//   any other item, signed; a trigger filtered by space and type gets its share only; a trigger that does not
//   ask for the type gets nothing;
// - a second pass with no change queues nothing;
// - a restriction put back and found by a full run (bodies) is new events with new ids (not repeats);
// - the same change told twice is queued once (the site remembers the last change queued per item).
import { until as untilBounded } from '../helpers/until'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submitJob, waitForJob } from '../helpers/jobs'
import { readSink, type Rec } from '../helpers/crawl'
import { webhookHeaders } from '../../src/http/signed-post'

const until = async <T>(what: string, probe: () => T | Promise<T>, ms = 20_000): Promise<Exclude<T, undefined | false>> => await untilBounded(what, probe, ms)

const SECRET = 'triggers-permissions-secret'
const TYPE = 'content.permissions.changed'
const ALL_TYPES = ['page', 'blogpost', 'attachment', 'comment']
let sim: Simulator
let t: TestSpoke
let alias: string

/** A receiver on 127.0.0.1: every POST by path, with whether its signature verifies. */
const got: Array<{ path: string, body: any, signed: boolean }> = []
let server: Server
let url = ''

beforeAll(async () => {
  sim = await startSimulator({ seed: 'triggers-acl', permissions: 'nested', size: { pages: 140, spaces: 2, users: 30, groups: 4, blogposts: 8, attachments: 30, comments: 50, inlineComments: 20 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_SECRET: SECRET, SPOKE_CALLBACK_ALLOW_PRIVATE: 'true', SPOKE_SITE_RATE_PER_SECOND: '4000', SPOKE_SITE_BURST: '400' }, { workers: true })
  ;({ alias } = await connectSimulatorAlias(t, sim, { grant: 'client_credentials' }))
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString()
      const expected = webhookHeaders(String(req.headers['webhook-id']), raw, SECRET, new Date(Number(req.headers['webhook-timestamp']) * 1000))['webhook-signature']
      got.push({ path: req.url ?? '/', body: JSON.parse(raw), signed: req.headers['webhook-signature'] === expected })
      res.statusCode = 204
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}, 30_000)
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await closeCheckingContract(sim, t)
})

const events = (path: string): any[] => got.filter((g) => g.path === path).flatMap((g) => Array.isArray(g.body.events) ? g.body.events : [g.body])

async function crawl (input: Record<string, unknown>): Promise<any> {
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: ALL_TYPES, principals: false, ...input } })
  const job = await waitForJob(t, id, undefined, 50_000)
  if (job.state !== 'completed') throw new Error(`crawl ${id}: ${JSON.stringify(job).slice(0, 800)}`)
  return job.result
}

const view = async (id: string): Promise<any> => (await http(t, 'GET', `/v1/triggers/${id}`, { key: t.keys.viewer })).json()

/** Every trigger's queued events acknowledged by the receiver (the events are queued before the crawl job ends). */
async function delivered (ids: string[]): Promise<Record<string, number>> {
  return await until('every queued event delivered', async () => {
    const views = await Promise.all(ids.map(view))
    return views.every((v) => v.pending === 0 && v.delivered === v.detected) ? Object.fromEntries(views.map((v) => [v.id, v.detected])) : undefined
  })
}

async function putTrigger (id: string, body: Record<string, unknown>): Promise<void> {
  const res = await http(t, 'PUT', `/v1/triggers/${id}`, { key: t.keys.admin, body: { connection: alias, every: 30, ...body } })
  if (res.status !== 201) throw new Error(`PUT trigger ${id}: ${res.status} ${res.text}`)
}

/** The id a trigger event gives an item (an attachment without its `att` prefix). */
const eventIdOf = (r: Rec): string => r.kind === 'attachment' ? String(r.id).replace(/^att/, '') : String(r.id)
const ownClause = (r: Rec): any => r.acl.allOf.find((c: any) => c.source === 'restriction' && c.sourceId === r.id)

it('a permissions pass sends one content.permissions.changed per item whose ACL changed, with the new ACL; none on a first crawl or a repeated pass', async () => {
  await putTrigger('perm', { events: [TYPE], delivery: { url: `${url}/perm`, batch: 25 } })
  await putTrigger('edits', { events: ['page.updated'], delivery: { url: `${url}/edits` } })

  // a first crawl of the scope: nothing stored, so no ACL "changed"
  const first = await crawl({ sink: { type: 'file', path: 'perm/full.ndjson' } })
  expect(first.complete).toBe(true)
  expect((await view('perm')).detected).toBe(0)

  // what the first crawl saw: the items, their chains, which pages carry a read restriction of their own
  const records = readSink(t.config.dataDir, 'perm/full.ndjson').filter((r) => ALL_TYPES.includes(r.kind))
  const pages = records.filter((r) => r.kind === 'page' && r.status === 'current')
  const under = (id: string): Rec[] => records.filter((r) => r.id === id || r.ancestorIds.includes(id))
  const apart = (a: Rec, b: Rec): boolean => a.id !== b.id && !a.ancestorIds.includes(b.id) && !b.ancestorIds.includes(a.id)
  const restricted = pages.filter((p) => ownClause(p) !== undefined && ownClause(p).anyOf.length > 0)
  const withChildren = (p: Rec): boolean => under(p.id).some((r) => r.kind === 'page' && r.id !== p.id)
  const lifted = restricted.find(withChildren) ?? restricted[0]
  const parent = restricted.find((p) => apart(p, lifted))
  expect([lifted, parent].every((p) => p !== undefined)).toBe(true)
  const locked = pages.find((p) => ownClause(p) === undefined && withChildren(p) && apart(p, lifted) && apart(p, parent!) &&
    !p.acl.allOf.some((c: any) => c.source === 'restriction'))
  const mover = pages.find((p) => p.parentId !== null && p.spaceId === parent!.spaceId && apart(p, lifted) && apart(p, parent!) && apart(p, locked!) &&
    !under(p.id).some((r) => r.id === parent!.id))
  expect([locked, mover].every((p) => p !== undefined)).toBe(true)
  // and a page moved between two parents with no restriction anywhere above: a new chain, the same ACL (no event)
  const open = (p: Rec): boolean => !p.acl.allOf.some((c: any) => c.source === 'restriction')
  const busy = [lifted, parent!, locked!, mover!]
  const stray = pages.find((p) => p.parentId !== null && open(p) && busy.every((b) => apart(p, b)))
  const host = pages.find((p) => stray !== undefined && p.spaceId === stray.spaceId && p.id !== stray.parentId && open(p) && apart(p, stray) && busy.every((b) => apart(p, b)))
  expect([stray, host].every((p) => p !== undefined)).toBe(true)
  const alice = sim.data.users()[7].accountId
  const siteAdmins = sim.data.groups().find((g) => g.name === 'site-admins')?.id as string
  const liftedRead = { users: ownClause(lifted).anyOf.filter((p: any) => p.type === 'user').map((p: any) => p.accountId), groups: ownClause(lifted).anyOf.filter((p: any) => p.type === 'group').map((p: any) => p.groupId) }
  for (const m of [
    { op: 'restrict', id: locked!.id, read: { users: [alice], groups: [siteAdmins] } },
    { op: 'restrict', id: lifted.id, read: null },
    { op: 'move', id: mover!.id, parentId: parent!.id },
    { op: 'move', id: stray!.id, parentId: host!.id }
  ]) sim.data.mutate(m as any)
  // exactly these: the three subtrees, with the attachments and comments of their pages
  const affected = new Map([...under(locked!.id), ...under(lifted.id), ...under(mover!.id)].map((r) => [`${r.kind}:${eventIdOf(r)}`, r]))

  const passStarted = Date.now()
  const pass = await crawl({ bodies: false, sink: { type: 'file', path: 'perm/pass.ndjson' } })
  expect(pass.complete).toBe(true)
  // (the pass exports the moved page, whose chain changed, but its ACL did not)
  expect(readSink(t.config.dataDir, 'perm/pass.ndjson').some((r) => r.recordId === `page:${stray!.id}`)).toBe(true)
  const counts = await delivered(['perm', 'edits'])
  const passMs = Date.now() - passStarted // (reported, not asserted)
  const sent = events('/perm')
  expect(got.filter((g) => g.path === '/perm').every((g) => g.signed)).toBe(true)
  expect(sent.map((e) => `${String(e.content.kind)}:${String(e.content.id)}`).sort()).toEqual([...affected.keys()].sort())
  expect(new Set(sent.map((e) => e.id)).size).toBe(sent.length)
  expect(counts).toEqual({ perm: affected.size, edits: 0 })
  expect(events('/edits')).toEqual([])
  // the new ACL, as the pass exported it (the crawl's conjunctive form), and what each change did to it
  const passed = new Map(readSink(t.config.dataDir, 'perm/pass.ndjson').map((r) => [r.recordId, r]))
  for (const e of sent) {
    const before = affected.get(`${String(e.content.kind)}:${String(e.content.id)}`) as Rec
    expect(e).toMatchObject({ type: TYPE, subscription: 'perm', id: expect.stringMatching(new RegExp(`^${String(e.content.id)}\\.acl1\\.[\\w-]+\\.${TYPE.replace(/\./g, '\\.')}$`)) })
    expect(e.content).toMatchObject({ id: eventIdOf(before), spaceId: before.spaceId, spaceKey: before.spaceKey, title: before.title, version: before.version })
    expect(e.acl).toEqual(passed.get(before.recordId)?.acl)
    expect(e.acl).not.toEqual(before.acl)
    const sources = e.acl.allOf.map((c: any) => c.sourceId)
    if (before.id === locked!.id || before.ancestorIds.includes(locked!.id)) expect(sources).toContain(locked!.id)
    if (before.id === lifted.id || before.ancestorIds.includes(lifted.id)) expect(sources).not.toContain(lifted.id)
    if (before.id === mover!.id || before.ancestorIds.includes(mover!.id)) expect(sources).toContain(parent!.id)
  }
  const kinds = new Set(sent.map((e) => e.content.kind))
  expect(kinds.has('page') && (kinds.has('attachment') || kinds.has('comment'))).toBe(true)

  // a second pass, nothing changed: nothing queued
  await crawl({ bodies: false, sink: { type: 'file', path: 'perm/pass2.ndjson' } })
  expect((await view('perm')).detected).toBe(affected.size)

  // the lifted restriction put back, found by a full run: new events (the ACL the first crawl saw, under new ids)
  sim.data.mutate({ op: 'restrict', id: lifted.id, read: liftedRead } as any)
  await crawl({ sink: { type: 'file', path: 'perm/full2.ndjson' } })
  await delivered(['perm'])
  const back = events('/perm').slice(sent.length)
  expect(back.map((e) => `${String(e.content.kind)}:${String(e.content.id)}`).sort()).toEqual(under(lifted.id).map((r) => `${r.kind}:${eventIdOf(r)}`).sort())
  for (const e of back) {
    expect(e.id).toMatch(/\.acl2\./)
    expect(e.acl).toEqual((affected.get(`${String(e.content.kind)}:${String(e.content.id)}`) as Rec).acl)
  }
  console.log(`permission events: ${sent.length} after the pass (${under(locked!.id).length} under the restricted ancestor, ${under(lifted.id).length} under the lifted restriction, ` +
    `${under(mover!.id).length} moved under a restricted parent; kinds ${[...kinds].join(', ')}), ${back.length} after the restriction was put back; ` +
    `pass started → last event acknowledged: ${passMs} ms (${records.length} items on the site)`)
}, 120_000)

it('a trigger filtered by space and type gets only its share', async () => {
  // (the first test left the scope stored: this one's crawls compare with it)
  const records = readSink(t.config.dataDir, 'perm/full2.ndjson').filter((r) => ALL_TYPES.includes(r.kind))
  const spaces = [...new Set(records.map((r) => r.spaceKey))]
  const target = records.find((r) => r.kind === 'page' && r.status === 'current' && r.spaceKey === spaces[0] && records.some((k) => k.ancestorIds.includes(r.id)) &&
    !r.acl.allOf.some((c: any) => c.source === 'restriction')) as Rec
  const other = records.find((r) => r.kind === 'page' && r.status === 'current' && r.spaceKey === spaces[1] && !r.acl.allOf.some((c: any) => c.source === 'restriction')) as Rec
  expect([target, other].every((r) => r !== undefined)).toBe(true)
  await putTrigger('perm-eng', { events: [TYPE], filter: { spaces: [spaces[0]], types: ['page'] }, delivery: { url: `${url}/perm-eng` } })
  const alice = sim.data.users()[7].accountId
  const siteAdmins = sim.data.groups().find((g) => g.name === 'site-admins')?.id as string
  sim.data.mutate({ op: 'restrict', id: target.id, read: { users: [alice], groups: [siteAdmins] } } as any)
  sim.data.mutate({ op: 'restrict', id: other.id, read: { users: [alice], groups: [siteAdmins] } } as any)
  await crawl({ bodies: false, sink: { type: 'file', path: 'perm/filtered.ndjson' } })
  await delivered(['perm-eng'])
  const expected = records.filter((r) => r.kind === 'page' && (r.id === target.id || r.ancestorIds.includes(target.id))).map((r) => r.id).sort()
  expect(events('/perm-eng').map((e) => e.content.id).sort()).toEqual(expected)
}, 60_000)

it('the same change told twice (a resumed crawl, a second run) is queued once; another change of the item is a new id', async () => {
  await putTrigger('perm-once', { events: [TYPE], delivery: { url: `${url}/perm-once` } })
  const site = { alias, cloudId: sim.defaultCloudId }
  const acl = { allOf: [{ source: 'space' as const, sourceId: '1', anyOf: [] }] }
  const change = { kind: 'page' as const, id: '990001', spaceId: '1', spaceKey: 'X', title: 'T', url: '/x', version: 3, acl, digests: { before: 'aaaa', after: 'bbbb' } }
  await t.core.triggers.aclChanges.publish(site, [change])
  await t.core.triggers.aclChanges.publish(site, [change])
  await t.core.triggers.aclChanges.publish(site, [{ ...change, digests: { before: 'bbbb', after: 'aaaa' } }])
  await delivered(['perm-once'])
  expect(events('/perm-once').map((e) => e.id)).toEqual([`990001.acl1.bbbb.${TYPE}`, `990001.acl2.aaaa.${TYPE}`])
})
