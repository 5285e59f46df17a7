// confluence.content.crawl when a restricted folder's restriction cannot be read: the simulator answers the
// folder's v1 restriction read (and only the folder's) with 403, then in a second run with a persistent 500.
// Every item below the folder — its pages, their attachments and comments — must carry a clause with no
// principal (nobody may read it), the error must be counted in the result, and no item below it may fall
// back to the space's readers. Items elsewhere keep the simulator's read decision exactly. And a comment
// whose replies answer 404 (deleted between its listing and the read of its replies) just has none; so has
// an attachment whose comment listing answers 404.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startSimulator, type ContentSummary, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submit, submitJob, waitForJob } from '../helpers/jobs'
import { scopeOf } from '../../src/crawl/state'
import { canRead, exportable, readSink, reduce, subjects, type Rec } from '../helpers/crawl'

let sim: Simulator
let t: TestSpoke
let folder: ContentSummary

beforeAll(async () => {
  sim = await startSimulator({ seed: 'folder-faults', permissions: 'nested', size: { pages: 60, spaces: 1, users: 30, groups: 4, blogposts: 2, attachments: 20, comments: 40, inlineComments: 20 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '4000', SPOKE_SITE_BURST: '400' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } } })
  // a restricted folder holding a page with children (so pages, attachments and comments sit below it)
  const pages = [...sim.data.content('page')]
  const nodes = (): ContentSummary[] => [...sim.data.content('page'), ...sim.data.folders()]
  const subtree = (id: string): string[] => [id, ...nodes().filter((k) => k.parentId === id).flatMap((k) => subtree(k.id))]
  folder = [...sim.data.folders()].find((f) => f.status === 'current') as ContentSummary
  const users = sim.data.users()
  const siteAdmins = sim.data.groups().find((g) => g.name === 'site-admins')?.id as string
  sim.data.mutate({ op: 'restrict', id: folder.id, read: { users: users.slice(2, 8).map((u) => u.accountId), groups: [siteAdmins] } })
  const mover = pages.find((p) => p.status === 'current' && p.parentId !== null && !subtree(p.id).includes(folder.id) &&
    subtree(p.id).filter((id) => sim.data.contentById(id)?.status === 'current').length > 2) as ContentSummary
  sim.data.mutate({ op: 'move', id: mover.id, parentId: folder.id })
}, 30_000)
afterAll(() => closeCheckingContract(sim, t))

const TYPES = ['page', 'blogpost', 'attachment', 'comment']
const contentKinds = new Set(TYPES)

async function crawlWithFault (status: 403 | 500, path: string): Promise<{ result: any, items: Rec[], below: Rec[], state: Map<string, Rec> }> {
  sim.reset()
  // the folder's restriction read only: the pages' own restriction reads answer normally
  sim.faults.set({ errorRate: 1, errorStatus: status, operations: ['getRestrictionsForOperation'], paths: [`/content/${folder.id}/restriction`] })
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, sink: { type: 'file', path } } })
  const job = await waitForJob(t, id, undefined, 50_000)
  sim.faults.clear()
  if (job.state !== 'completed') throw new Error(`crawl ${id}: ${JSON.stringify(job).slice(0, 800)}`)
  expect(sim.counters().byOperationStatus.getRestrictionsForOperation?.[status]).toBeGreaterThan(0)
  const state = reduce(readSink(t.config.dataDir, path))
  const items = [...state.values()].filter((r) => contentKinds.has(r.kind))
  const pagesBelow = new Set(items.filter((r) => r.kind === 'page' && (r.ancestorIds as string[]).includes(folder.id)).map((r) => r.id))
  const below = items.filter((r) => pagesBelow.has(r.id) || pagesBelow.has(r.containerId) || (r.kind === 'comment' && (r.ancestorIds as string[]).includes(folder.id)))
  return { result: job.result, items, below, state }
}

function check (status: 403 | 500, code: string, run: Awaited<ReturnType<typeof crawlWithFault>>): void {
  const { result, items, below, state } = run
  const who = subjects(state)
  const users = sim.data.users()
  const pagesBelow = below.filter((r) => r.kind === 'page')
  const kinds = Object.fromEntries(TYPES.map((k) => [k, below.filter((r) => r.kind === k).length]))
  expect(pagesBelow.length).toBeGreaterThan(2)
  expect(kinds.attachment + kinds.comment).toBeGreaterThan(0)
  // the error is counted, once per page or blog post whose ACL it decided
  expect(result.errors).toEqual({ [code]: pagesBelow.length })
  const noPrincipal = (r: Rec): boolean => r.acl.allOf.some((c: any) => c.sourceId === folder.id && c.anyOf.length === 0)
  expect(below.filter((r) => !noPrincipal(r)).map((r) => r.recordId)).toEqual([])
  // nobody reads them: not the space's readers, not the folder's own (unreadable) principals
  const readable = below.filter((r) => users.some((u) => canRead(r.acl, who.get(u.accountId))))
  expect(readable.map((r) => r.recordId)).toEqual([])
  // everything else is exact against the simulator
  const wrong = { grants: 0, denials: 0 }
  const others = items.filter((r) => !below.includes(r))
  for (const item of others) {
    expect(noPrincipal(item)).toBe(false)
    for (const u of users) {
      const truth = sim.data.canRead(u.accountId, item.id.replace(/^att/, ''))
      const got = canRead(item.acl, who.get(u.accountId))
      if (got && !truth) wrong.grants++
      if (!got && truth) wrong.denials++
    }
  }
  expect(wrong).toEqual({ grants: 0, denials: 0 })
  console.log(`crawl, folder restriction answering ${status}: ${below.length} items below the folder ${JSON.stringify(kinds)} with a no-principal clause, ` +
    `readable by 0 of ${users.length} users; errors ${JSON.stringify(result.errors)}; ${others.length} other items, ${wrong.grants} false grants / ${wrong.denials} false denials`)
}

it('a folder whose restriction answers 403: the items below it get no readers and the error is counted', async () => {
  check(403, 'UPSTREAM_FORBIDDEN', await crawlWithFault(403, 'folder-403.ndjson'))
}, 60_000)

it('a folder whose restriction keeps answering 500: the items below it get no readers and the error is counted', async () => {
  const run = await crawlWithFault(500, 'folder-500.ndjson')
  // the engine retried it before giving up (once per space: the failed layer is cached like any other)
  expect(sim.counters().byOperationStatus.getRestrictionsForOperation[500]).toBeGreaterThan(1)
  check(500, 'UPSTREAM_UNAVAILABLE', run)
}, 60_000)

it('a comment whose replies answer 404 (deleted meanwhile) is exported without them; the run has no error', async () => {
  const comments = [...sim.data.comments()]
  const below = (id: string): string[] => comments.filter((c) => c.parentCommentId === id && c.status === 'current').flatMap((c) => [c.id, ...below(c.id)])
  const thread = comments.find((c) => c.commentType === 'footer' && c.status === 'current' && below(c.id).length > 0 &&
    sim.data.contentById(c.parentId as string)?.status === 'current') as ContentSummary
  expect(thread).toBeDefined()
  sim.reset()
  sim.faults.set({ errorRate: 1, errorStatus: 404, operations: ['getFooterCommentChildren'], paths: [`/footer-comments/${thread.id}/children`] })
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, sink: { type: 'file', path: 'replies-404.ndjson' } } })
  const job = await waitForJob(t, id, undefined, 50_000)
  sim.faults.clear()
  expect([job.state, job.result?.complete, job.result?.errors]).toEqual(['completed', true, {}])
  expect(sim.counters().byOperationStatus.getFooterCommentChildren?.[404]).toBe(1)
  const exported = new Set(readSink(t.config.dataDir, 'replies-404.ndjson').filter((r) => r.kind === 'comment').map((r) => r.id))
  const expected = comments.filter((c) => exportable(sim, c)).map((c) => c.id)
  expect(exported.has(thread.id)).toBe(true)
  expect(expected.filter((c) => !exported.has(c)).sort()).toEqual(below(thread.id).sort())
}, 60_000)

it('an attachment whose comment listing answers 404 (deleted meanwhile) has no comments; the run has no error', async () => {
  const comments = [...sim.data.comments()].filter((c) => exportable(sim, c))
  const onFile = comments.find((c) => c.containerType === 'attachment' && comments.some((r) => r.parentCommentId === c.id)) as ContentSummary
  expect(onFile).toBeDefined()
  const att = onFile.parentId as string
  sim.reset()
  sim.faults.set({ errorRate: 1, errorStatus: 404, operations: ['getAttachmentComments'], paths: [`/attachments/att${att}/footer-comments`] })
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, sink: { type: 'file', path: 'attachment-comments-404.ndjson' } } })
  const job = await waitForJob(t, id, undefined, 50_000)
  sim.faults.clear()
  expect([job.state, job.result?.complete, job.result?.errors]).toEqual(['completed', true, {}])
  expect(sim.counters().byOperationStatus.getAttachmentComments?.[404]).toBe(1)
  const records = readSink(t.config.dataDir, 'attachment-comments-404.ndjson')
  const exported = new Set(records.filter((r) => r.kind === 'comment').map((r) => r.id))
  // the attachment itself is exported; its comments (roots and replies) are not, every other comment is
  expect(records.some((r) => r.id === `att${att}`)).toBe(true)
  const onIt = comments.filter((c) => c.containerType === 'attachment' && c.parentId === att).map((c) => c.id)
  expect(onIt.length).toBeGreaterThan(1)
  expect(comments.map((c) => c.id).filter((c) => !exported.has(c)).sort()).toEqual(onIt.sort())
  // the listing was complete without them: the comments an earlier run exported go as deleted (the attachment is gone)
  expect(records.filter((r) => r.kind === 'deleted').map((r) => r.id).sort()).toEqual(onIt.sort())
}, 60_000)

it('a token holding exactly the scopes the crawl declares reads every endpoint it calls, the attachments\' comments included', async () => {
  const declared = (JSON.parse(readFileSync(join(__dirname, '../../actions/confluence.content.crawl.json'), 'utf8')) as { scopes: string[][] }).scopes[0]
  // a consent grants what the alias asks for (the spoke asks client credentials for no scope, so they get every one)
  await connectSimulatorAlias(t, sim, { alias: 'crawl_declared', grant: 'authorization_code', scopes: [...declared, 'offline_access'] })
  sim.reset()
  const id = await submitJob(t, 'confluence.content.crawl', { connection: 'crawl_declared', input: { types: TYPES, principals: true, sink: { type: 'file', path: 'declared.ndjson' } } })
  const job = await waitForJob(t, id, undefined, 50_000)
  expect([job.state, job.result?.complete, job.result?.errors]).toEqual(['completed', true, {}])
  const statuses = sim.counters().byOperationStatus
  expect(statuses.getAttachmentComments?.[200]).toBeGreaterThan(0)
  // nothing refused (a scope the token lacks answers 401 at the gateway)
  expect(Object.entries(statuses).filter(([, by]) => Object.keys(by).some((s) => s !== '200')).map(([op]) => op)).toEqual([])
}, 60_000)

it('attachmentComments: false reads no attachment comments (a state of its own); a value that is not a boolean is refused', async () => {
  const refused = await submit(t, 'confluence.content.crawl', { input: { types: TYPES, attachmentComments: 'no', sink: { type: 'file', path: 'off.ndjson' } } })
  expect(refused.status).toBe(400)
  sim.reset()
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, attachmentComments: false, sink: { type: 'file', path: 'off.ndjson' } } })
  const job = await waitForJob(t, id, undefined, 50_000)
  expect([job.state, job.result?.complete]).toEqual(['completed', true])
  expect(sim.counters().byOperation.getAttachmentComments ?? 0).toBe(0)
  const comments = readSink(t.config.dataDir, 'off.ndjson').filter((r) => r.kind === 'comment')
  expect(comments.filter((r) => r.containerType === 'attachment')).toEqual([])
  expect(comments.map((r) => r.id).sort()).toEqual([...sim.data.comments()].filter((c) => exportable(sim, c) && c.containerType === undefined).map((c) => c.id).sort())
  // its stored state is not the default run's: nothing exported with them on is deleted by it
  expect(job.result.deletions).toBe(0)
  expect(scopeOf('a', { types: ['page', 'attachment', 'comment'] })).toBe(scopeOf('a', { types: ['page', 'attachment', 'comment'], attachmentComments: true }))
  expect(scopeOf('a', { types: ['page', 'attachment', 'comment'] })).not.toBe(scopeOf('a', { types: ['page', 'attachment', 'comment'], attachmentComments: false }))
  expect(scopeOf('a', { types: ['page', 'comment'] })).toBe(scopeOf('a', { types: ['page', 'comment'], attachmentComments: false }))
}, 60_000)
