// confluence.content.crawl against the simulator's nested permission profile, on a real Redis:
// - exactness: every (user, item) pair decided from the exported acl + exported memberships equals the
//   simulator's own read decision (and how far nearest-wins and id intersection fall from it), on a site
//   with folders (restricted, nested, trashed) in the chains and footer and inline comments with replies at
//   any depth;
// - incremental + permissions pass after scripted mutations = a fresh full crawl (reduced by recordId);
// - a listing page that keeps failing: zero deletions, complete:false, and the next run catches up.
import { startSimulator, type ContentSummary, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submitJob, waitForJob } from '../helpers/jobs'
import { canRead, containerPageOf, expectedItems, exportable, intersection, nearestWins, readSink, reduce, subjects, type Rec } from '../helpers/crawl'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'crawl', permissions: 'nested', size: { pages: 260, spaces: 4, users: 150, groups: 8, blogposts: 30, attachments: 50, comments: 120, inlineComments: 120 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '4000', SPOKE_SITE_BURST: '400' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } } })
}, 30_000)
afterAll(() => closeCheckingContract(sim, t))

let lastJob: any
async function crawl (input: Record<string, unknown>): Promise<any> {
  const id = await submitJob(t, 'confluence.content.crawl', { input })
  const job = lastJob = await waitForJob(t, id, undefined, 50_000)
  if (job.state !== 'completed') throw new Error(`crawl ${id}: ${JSON.stringify(job).slice(0, 800)}`)
  return job.result
}

const contentKinds = new Set(['page', 'blogpost', 'attachment', 'comment'])
const ALL_TYPES = ['page', 'blogpost', 'attachment', 'comment']

it('exports ACLs that give exactly the simulator\'s read decision for every (user, item) pair', async () => {
  const started = Date.now()
  const result = await crawl({ types: ALL_TYPES, sink: { type: 'file', path: 'exact/full.ndjson' } })
  const seconds = (Date.now() - started) / 1000
  expect(result.complete).toBe(true)
  expect(result.errors).toEqual({})
  const state = reduce(readSink(t.config.dataDir, 'exact/full.ndjson'))
  const who = subjects(state)
  const items = [...state.values()].filter((r) => contentKinds.has(r.kind))
  // every current item of the site is exported, the archived pages (marked, the default) with theirs, and nothing else
  const expected = expectedItems(sim, true)
  expect(items.filter((r) => r.status === 'archived').length).toBeGreaterThan(0)
  expect(items.filter((r) => r.kind === 'comment').length).toBeGreaterThan(40)
  // folders: pages sit in them, restricted ones add clauses, trashed ones are in chains but add none
  const folders = [...sim.data.folders()]
  const restrictedFolders = new Set(folders.filter((f) => sim.data.site().folders.list[sim.data.site().folders.index(f.id)].restriction?.read !== undefined).map((f) => f.id))
  const trashedFolders = new Set(folders.filter((f) => f.status === 'trashed').map((f) => f.id))
  const inFolder = items.filter((r) => r.kind === 'page' && r.parentType === 'folder')
  const folderClauses = items.filter((r) => r.acl.allOf.some((c: any) => restrictedFolders.has(c.sourceId) && !trashedFolders.has(c.sourceId)))
  const underTrashed = items.filter((r) => (r.ancestorIds ?? []).some((a: string) => trashedFolders.has(a)))
  const inline = items.filter((r) => r.commentType === 'inline')
  const footer = items.filter((r) => r.commentType === 'footer')
  // replies: each names the comment it answers, exported too, of the same kind and container
  const byId = new Map(items.map((r) => [r.id, r]))
  const depth = (r: Rec): number => r.parentCommentId === undefined ? 0 : 1 + depth(byId.get(r.parentCommentId) as Rec)
  const replies = items.filter((r) => r.parentCommentId !== undefined)
  expect(replies.every((r) => byId.get(r.parentCommentId)?.commentType === r.commentType && byId.get(r.parentCommentId)?.parentId === r.parentId)).toBe(true)
  // comments on attachments: the attachment is their container, then its page or blog post and that page's chain
  const onAttachments = items.filter((r) => r.kind === 'comment' && r.containerType === 'attachment')
  const chainOf = (r: Rec): string[] => { const a = byId.get(r.parentId) as Rec; const page = byId.get(a.containerId) as Rec; return [a.id, page.id, ...page.ancestorIds] }
  expect(onAttachments.every((r) => byId.get(r.parentId)?.kind === 'attachment' && JSON.stringify(r.ancestorIds) === JSON.stringify(chainOf(r)))).toBe(true)
  expect(items.filter((r) => r.kind === 'comment' && r.containerType !== 'attachment').every((r) => ['page', 'blogpost'].includes(byId.get(r.parentId)?.kind as string))).toBe(true)
  // those of a restricted page's attachments are readable exactly by the page's readers
  const onRestricted = onAttachments.filter((r) => (byId.get(r.ancestorIds[1]) as Rec).acl.allOf.some((c: any) => c.source === 'restriction' && c.sourceId === r.ancestorIds[1]))
  expect(onRestricted.length).toBeGreaterThan(0)
  for (const r of onRestricted) {
    const readers = sim.data.users().filter((u) => canRead(r.acl, who.get(u.accountId))).map((u) => u.accountId)
    expect(readers).toEqual(sim.data.users().filter((u) => sim.data.canRead(u.accountId, r.ancestorIds[1])).map((u) => u.accountId))
    expect(readers.length).toBeLessThan(sim.data.users().length)
  }
  const folderStats = {
    folders: folders.length, restricted: restrictedFolders.size, trashed: trashedFolders.size, pagesInFolders: inFolder.length, itemsWithFolderClause: folderClauses.length, itemsUnderTrashedFolder: underTrashed.length,
    footer: footer.length, footerReplies: footer.filter((r) => r.parentCommentId !== undefined).length, inline: inline.length, inlineReplies: inline.filter((r) => r.parentCommentId !== undefined).length,
    repliesToReplies: { footer: footer.filter((r) => depth(r) >= 2).length, inline: inline.filter((r) => depth(r) >= 2).length }, deepest: Math.max(...replies.map(depth)),
    onAttachments: onAttachments.length, onAttachmentsReplies: onAttachments.filter((r) => r.parentCommentId !== undefined).length, onRestrictedPagesAttachments: onRestricted.length
  }
  expect(inFolder.length).toBeGreaterThan(10)
  expect(folderClauses.length).toBeGreaterThan(10)
  expect(underTrashed.length).toBeGreaterThan(0)
  expect(underTrashed.every((r) => !r.acl.allOf.some((c: any) => trashedFolders.has(c.sourceId)))).toBe(true)
  expect(folderStats.inlineReplies).toBeGreaterThan(0)
  expect(folderStats.footerReplies).toBeGreaterThan(0)
  expect(folderStats.repliesToReplies.footer).toBeGreaterThan(0)
  expect(folderStats.repliesToReplies.inline).toBeGreaterThan(0)
  expect(folderStats.onAttachments).toBeGreaterThan(10)
  expect(folderStats.onAttachmentsReplies).toBeGreaterThan(0)
  expect(items.filter((r) => r.commentType === 'footer').length).toBeGreaterThan(40)
  // progress on the job: done of a total counted per space before its listing
  // (current ones: the archived pages exported beside them are not in the count)
  const listed = items.filter((r) => (r.kind === 'page' || r.kind === 'blogpost') && r.status !== 'archived').length
  expect(lastJob.progress).toMatchObject({ done: listed, total: listed })
  expect(items.map((r) => r.id.replace(/^att/, '')).sort()).toEqual(expected.map((c) => c.id).sort())
  const users = sim.data.users()
  expect(who.size).toBe(users.length)
  const tally = { ours: [0, 0], nearest: [0, 0], intersection: [0, 0] }
  let pairs = 0
  for (const item of items) {
    for (const u of users) {
      const truth = sim.data.canRead(u.accountId, item.id.replace(/^att/, ''))
      const s = who.get(u.accountId)
      pairs++
      for (const [name, rule] of [['ours', canRead], ['nearest', nearestWins], ['intersection', intersection]] as const) {
        const got = rule(item.acl, s)
        if (got && !truth) tally[name][0]++
        if (!got && truth) tally[name][1]++
      }
    }
  }
  const byKind = JSON.stringify(Object.fromEntries([...contentKinds].map((k) => [k, items.filter((r) => r.kind === k).length])))
  console.log(`crawl exactness over ${pairs} (user, item) pairs (${items.length} items ${byKind}, ${users.length} users), crawl ${seconds.toFixed(1)} s: ` +
    `conjunctive acl ${tally.ours[0]} false grants / ${tally.ours[1]} false denials; nearest-wins ${tally.nearest[0]} / ${tally.nearest[1]}; ` +
    `id intersection ${tally.intersection[0]} / ${tally.intersection[1]}; folders and comments ${JSON.stringify(folderStats)}`)
  expect(pairs).toBeGreaterThan(5000)
  expect(tally.ours).toEqual([0, 0])
  // replies cost exactly one children read per exported comment (no v2 answer says a comment has none), no more
  const ops = sim.counters().byOperation
  const childReads = { footer: ops.getFooterCommentChildren ?? 0, inline: ops.getInlineCommentChildren ?? 0 }
  expect(childReads).toEqual({ footer: footer.length, inline: inline.length })
  // and one listing per exported attachment for its comments
  expect(ops.getAttachmentComments).toBe(items.filter((r) => r.kind === 'attachment').length)
  console.log(`crawl comments: ${footer.length + inline.length} comments exported with ${childReads.footer + childReads.inline} children reads ` +
    `(${JSON.stringify(childReads)}); ${(ops.getPageFooterComments ?? 0) + (ops.getBlogPostFooterComments ?? 0) + (ops.getPageInlineComments ?? 0) + (ops.getBlogPostInlineComments ?? 0)} container listings, ` +
    `${ops.getAttachmentComments as number} attachment comment listings`)
  // emails: org first, then the visible profile, else null and listed
  const userRecords = [...state.values()].filter((r) => r.kind === 'user')
  for (const r of userRecords) {
    const truth = users.find((u) => u.accountId === r.accountId)
    const source = truth?.managed === true ? 'org' : truth?.emailVisible === true && truth.email !== null ? 'profile' : null
    expect([r.accountId, r.emailSource]).toEqual([r.accountId, source])
  }
  expect(result.unresolvedUsers.count).toBe(userRecords.filter((r) => r.email === null).length)
}, 60_000)

it('incremental run + permissions pass after mutations leaves the sink equal to a fresh full crawl', async () => {
  const base = { spaces: {}, types: ALL_TYPES }
  const firstRunSecond = Math.floor(Date.now() / 1000)
  await crawl({ ...base, sink: { type: 'file', path: 'inc/a.ndjson' } })
  const all = (): ContentSummary[] => [...sim.data.content('page')]
  // the tree holds pages and folders; a subtree lists both (folders export no record of their own)
  const nodes = (): ContentSummary[] => [...all(), ...sim.data.folders()]
  const subtree = (id: string): string[] => [id, ...nodes().filter((k) => k.parentId === id).flatMap((k) => subtree(k.id))]
  const current = (id: string): boolean => sim.data.contentById(id)?.status === 'current' && sim.data.contentById(id)?.kind === 'page'
  const pages = all().filter((p) => p.status === 'current')
  const draft = all().find((p) => p.status === 'draft') as ContentSummary
  const [edited1, edited2, archived, trashed] = [pages[3], pages[40], pages[20], pages[30]]
  const others = new Set([edited1, edited2, archived, trashed, draft].flatMap((p) => subtree(p.id)))
  const restrictedOf = (id: string): boolean => (sim.data.site().restrictions.get(sim.data.site().contentIndex(id))?.read?.users.length ?? 0) > 0
  const restrictedParent = pages.find((p) => restrictedOf(p.id) && !others.has(p.id)) as ContentSummary
  // a page with current children moves under the restricted parent: its subtree gains that clause and a new chain
  const mover = pages.find((p) => p.spaceId === restrictedParent.spaceId && p.parentId !== restrictedParent.id && p.parentId !== null &&
    !subtree(p.id).includes(restrictedParent.id) && subtree(p.id).filter(current).length > 1 && !subtree(p.id).some((k) => others.has(k))) as ContentSummary
  // another subtree gets a new read restriction naming alice and site-admins (the crawl account stays able to read it)
  const restricted = pages.find((p) => p.parentId !== null && p.id !== restrictedParent.id && subtree(p.id).filter(current).length > 1 &&
    !subtree(p.id).some((k) => others.has(k) || subtree(mover.id).includes(k))) as ContentSummary
  // a page moves into a restricted folder; an open folder gets a restriction (neither bumps a version)
  const taken = new Set([...others, ...subtree(mover.id), ...subtree(restricted.id), ...subtree(restrictedParent.id)])
  const folders = [...sim.data.folders()].filter((f) => f.status === 'current')
  const folderRead = (id: string): boolean => sim.data.site().folders.list[sim.data.site().folders.index(id)].restriction?.read !== undefined
  const lockedFolder = folders.find((f) => folderRead(f.id) && !taken.has(f.id)) as ContentSummary
  const intoFolder = pages.find((p) => p.spaceId === lockedFolder?.spaceId && p.parentId !== lockedFolder.id && !subtree(p.id).includes(lockedFolder.id) &&
    subtree(p.id).filter(current).length > 1 && !subtree(p.id).some((k) => taken.has(k))) as ContentSummary
  const openFolder = folders.find((f) => !folderRead(f.id) && subtree(f.id).filter(current).length > 0 &&
    !subtree(f.id).some((k) => taken.has(k) || subtree(intoFolder.id).includes(k) || k === lockedFolder.id)) as ContentSummary
  // a reply that has replies of its own is deleted (its page untouched): it and every reply below it go
  const comments = [...sim.data.comments()]
  const below = (id: string): string[] => comments.filter((c) => c.parentCommentId === id && c.status === 'current').flatMap((c) => [c.id, ...below(c.id)])
  const busy = new Set([...taken, ...subtree(intoFolder.id), ...subtree(openFolder.id)])
  const thread = comments.find((c) => c.status === 'current' && c.containerType === undefined && c.parentCommentId !== undefined && below(c.id).length > 0 &&
    sim.data.contentById(c.parentId as string)?.status === 'current' && !busy.has(c.parentId as string)) as ContentSummary
  // and a comment on an attachment that has replies (the attachment and its page untouched): it and its replies go
  const onFile = comments.find((c) => c.containerType === 'attachment' && below(c.id).length > 0 && exportable(sim, c) && !busy.has(containerPageOf(sim, c))) as ContentSummary
  expect([restrictedParent, mover, restricted, lockedFolder, intoFolder, openFolder, thread, onFile].every((p) => p !== undefined)).toBe(true)
  const goneReplies = [thread.id, ...below(thread.id)].map((id) => `comment:${id}`)
  const goneOnFile = [onFile.id, ...below(onFile.id)].map((id) => `comment:${id}`)
  const alice = sim.data.users()[7].accountId
  const siteAdmins = sim.data.groups().find((g) => g.name === 'site-admins')?.id as string
  // the mutations' timestamps (whole seconds) fall after the first run's start, so the CQL window matters
  while (Math.floor(Date.now() / 1000) <= firstRunSecond) await new Promise((resolve) => setTimeout(resolve, 20))
  for (const m of [
    { op: 'edit', id: edited1.id },
    { op: 'edit', id: edited2.id },
    { op: 'move', id: mover.id, parentId: restrictedParent.id },
    { op: 'restrict', id: restricted.id, read: { users: [alice], groups: [siteAdmins] } },
    { op: 'move', id: intoFolder.id, parentId: lockedFolder.id },
    { op: 'restrict', id: openFolder.id, read: { users: [alice], groups: [siteAdmins] } },
    { op: 'archive', id: archived.id },
    { op: 'delete', id: trashed.id },
    { op: 'publish', id: draft.id },
    { op: 'delete', id: thread.id },
    { op: 'delete', id: onFile.id }
  ] as const) sim.data.mutate(m as any)
  // what the permissions pass must emit: every current item of the moved and the restricted subtrees, with
  // their attachments and comments (none of them bumped a version), and the archived page marked (the
  // default; its attachments and comments stay as they were); what it must delete: the trashed page with theirs
  const withChildren = (ids: Set<string>): string[] => [
    ...[...ids].filter(current).map((id) => `page:${id}`),
    ...[...sim.data.content('attachment')].filter((a) => a.status === 'current' && ids.has(a.parentId as string) && current(a.parentId as string)).map((a) => `attachment:att${a.id}`),
    ...[...sim.data.comments()].filter((c) => exportable(sim, c) && ids.has(containerPageOf(sim, c)) && current(containerPageOf(sim, c))).map((c) => `comment:${c.id}`)
  ].sort()
  const changed = [...withChildren(new Set([...subtree(mover.id), ...subtree(restricted.id), ...subtree(intoFolder.id), ...subtree(openFolder.id)])), `page:${archived.id}`].sort()
  const gone = new Set([trashed.id])
  const goneIds = [
    ...[...gone].map((id) => `page:${id}`),
    ...[...sim.data.content('attachment')].filter((a) => a.status === 'current' && gone.has(a.parentId as string)).map((a) => `attachment:att${a.id}`),
    ...[...sim.data.comments()].filter((c) => c.status === 'current' && gone.has(containerPageOf(sim, c)) &&
      (c.containerType !== 'attachment' || sim.data.contentById(c.parentId as string)?.status === 'current')).map((c) => `comment:${c.id}`),
    ...goneReplies,
    ...goneOnFile
  ].sort()
  const inc = await crawl({ ...base, mode: 'incremental', sink: { type: 'file', path: 'inc/a2.ndjson' } })
  const perms = await crawl({ ...base, bodies: false, sink: { type: 'file', path: 'inc/b.ndjson' } })
  expect(inc.complete && perms.complete).toBe(true)
  expect(inc.counts.page).toBeGreaterThanOrEqual(3)
  const permsRecords = readSink(t.config.dataDir, 'inc/b.ndjson')
  expect(permsRecords.filter((r) => contentKinds.has(r.kind)).map((r) => r.recordId).sort()).toEqual(changed)
  expect(permsRecords.filter((r) => r.kind === 'deleted').map((r) => r.recordId).sort()).toEqual(goneIds)
  expect(permsRecords.find((r) => r.recordId === `page:${archived.id}`)?.status).toBe('archived')
  expect(permsRecords.filter((r) => contentKinds.has(r.kind)).every((r) => r.body === undefined)).toBe(true)
  const merged = reduce(readSink(t.config.dataDir, 'inc/b.ndjson'), reduce(readSink(t.config.dataDir, 'inc/a2.ndjson'), reduce(readSink(t.config.dataDir, 'inc/a.ndjson'))))
  await crawl({ ...base, sink: { type: 'file', path: 'inc/fresh.ndjson' } })
  const fresh = reduce(readSink(t.config.dataDir, 'inc/fresh.ndjson'))
  const content = (m: Map<string, Rec>): Rec[] => [...m.values()].filter((r) => contentKinds.has(r.kind) || r.kind === 'space').sort((a, b) => a.recordId.localeCompare(b.recordId))
  expect(content(merged)).toEqual(content(fresh))
  console.log(`crawl incremental: ${JSON.stringify(inc.counts)}; permissions pass: ${JSON.stringify(perms.counts)}, ${perms.deletions as number} deletions ` +
    `(expected exactly: ${changed.length} changed items of the moved subtree of ${subtree(mover.id).length} nodes, the restricted subtree of ${subtree(restricted.id).length}, ` +
    `the subtree of ${subtree(intoFolder.id).length} moved into a restricted folder and the ${subtree(openFolder.id).length - 1} nodes in a newly restricted folder, ${goneIds.length} deletions, ` +
    `${goneReplies.length} of them a deleted reply and the replies below it, ${goneOnFile.length} a deleted comment on an attachment and its replies)`)
}, 60_000)

it('a listing page that keeps failing gives zero deletions and complete:false; the next run catches up', async () => {
  const base = { types: ['page'], principals: false }
  await crawl({ ...base, sink: { type: 'file', path: 'del/1.ndjson' } })
  const victim = [...sim.data.content('page')].filter((p) => p.status === 'current')[60]
  sim.data.mutate({ op: 'delete', id: victim.id })
  // every attempt at the second listing page of any space fails (the engine retries 5xx: outlast it)
  sim.faults.next({ kind: 'error', status: 500 }, 12, { operations: ['getPagesInSpace'] })
  const failed = await crawl({ ...base, sink: { type: 'file', path: 'del/2.ndjson' } })
  sim.faults.clear()
  expect(failed.complete).toBe(false)
  expect(failed.deletions).toBe(0)
  expect(readSink(t.config.dataDir, 'del/2.ndjson').filter((r) => r.kind === 'deleted')).toEqual([])
  const next = await crawl({ ...base, sink: { type: 'file', path: 'del/3.ndjson' } })
  expect(next.complete).toBe(true)
  expect(readSink(t.config.dataDir, 'del/3.ndjson').filter((r) => r.kind === 'deleted').map((r) => r.id)).toEqual([victim.id])
}, 60_000)
