// confluence.content.crawl when a restricted folder's restriction cannot be read: the simulator answers the
// folder's v1 restriction read (and only the folder's) with 403, then in a second run with a persistent 500.
// Every item below the folder — its pages, their attachments and comments — must carry a clause with no
// principal (nobody may read it), the error must be counted in the result, and no item below it may fall
// back to the space's readers. Items elsewhere keep the simulator's read decision exactly. And a comment
// whose replies answer 404 (deleted between its listing and the read of its replies) just has none.
import { startSimulator, type ContentSummary, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submitJob, waitForJob } from '../helpers/jobs'
import { canRead, readSink, reduce, subjects, type Rec } from '../helpers/crawl'

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
  const expected = comments.filter((c) => c.status === 'current' && sim.data.contentById(c.parentId as string)?.status === 'current').map((c) => c.id)
  expect(exported.has(thread.id)).toBe(true)
  expect(expected.filter((c) => !exported.has(c)).sort()).toEqual(below(thread.id).sort())
}, 60_000)
