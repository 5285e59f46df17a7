// confluence.content.crawl (docs/crawl.md): spaces → for each, its read grant, then its pages and blog posts
// a listing page at a time (ACLs, attachments, records to the sink, a checkpoint), then deletions if the
// space's listing was complete; then groups and users. A rate limit or a cancel propagates (the job pauses
// or stops and resumes from the checkpoint); any other listing failure marks the space incomplete.
import { randomUUID } from 'node:crypto'
import type { ActionHandler, HandlerContext } from '../actions/handlers/types'
import { AppError } from '../errors/app-error'
import { InputInvalidError, InternalError } from '../errors/errors'
import { loadCheckpoint, saveCheckpoint, tally, type CrawlCheckpoint, type SpaceRef } from './checkpoint'
import { fetchSpaceClause, RestrictionReader, segment } from './layers'
import { listPage, type ListPage } from './listing'
import { attachLabels } from './labels'
import { processPage, propagatesFrom, type AclChanged, type PageOutcome, type V2Content } from './items'
import { exportGroups, exportUsers, stageOrgEmails } from './principals'
import { openFileSink, openWebhookSink, type Sink } from './sink'
import { OUTAGE_FIELD, type OutageClock } from './webhook-sink'
import { attachmentComments, CrawlState, scopeOf } from './state'
import { spaceClause, type AclClause } from './acl'
import type { AclChange, CrawlInput, CrawlRecord, CrawlResult } from './types'
import { siteTimeZone, windowCql } from './window'
import { countSpace, progressOf } from './progress'
import type { CrawlMetrics } from '../lib/metrics-spoke'

const LIST_LIMIT = 100

export const contentCrawl: ActionHandler = async (given) => {
  const input = given.input as unknown as CrawlInput
  const services = given.services
  if (services === undefined) throw new InternalError('the crawl needs the process services (Redis)')
  if (input.sink.type === 'webhook' && services.callbackSecret === undefined) throw new InputInvalidError('a webhook sink needs SPOKE_CALLBACK_SECRET (batches are always signed)')
  const alias = given.connection.resolved
  const m = services.metrics?.crawl
  const backlog = m === undefined ? undefined : new Backlog(m, alias)
  const ctx = backlog === undefined ? given : withBacklog(given, backlog)
  const site = await ctx.site()
  const runId = ctx.job?.jobId ?? randomUUID()
  const state = new CrawlState(services.redis, services.keyPrefix, scopeOf(alias, input), runId, async (ids) => { await services.privacy?.index.record(alias, ids, `crawl:${runId}`) })
  const cp = await loadCheckpoint(ctx.job?.checkpoint) ?? await startOrLost(ctx, input, state, site.url, alias)
  const sink: Sink = input.sink.type === 'file'
    ? await openFileSink(services.dataDir, input.sink.path, cp.sink)
    : openWebhookSink({
      url: input.sink.url, secret: services.callbackSecret as string, policy: services.callbackPolicy, batchSize: 500, timeoutMs: 10_000, signal: ctx.signal, baseDelayMs: 500, maxDelayMs: 30_000, tracing: services.tracing, traceparent: ctx.traceparent,
      messageIdPrefix: runId, ...webhookPatience(services, ctx), outage: await outageClock(ctx)
    }, cp.sink)
  const emit = async (records: CrawlRecord[]): Promise<void> => {
    await sink.write(records)
    for (const r of records) tally(cp.counts, r.kind)
    if (m !== undefined && records.length > 0) {
      for (const r of records) m.items.labels(r.kind).inc()
      m.lastProgress.labels(alias).setToCurrentTime()
    }
  }
  const save = async (): Promise<void> => { cp.sink = sink.position(); await saveCheckpoint(ctx.job?.checkpoint, cp) }
  const aclChanged = await aclListener(services, { alias, cloudId: site.cloudId }, site.url)
  m?.running.labels(alias).inc()
  m?.lastProgress.labels(alias).setToCurrentTime()
  try {
    ctx.onProgress?.(progressOf(cp, 'listing'))
    if ((cp.removedSpaces ?? []).length > 0) await removeSpaces(ctx, input, cp, state, emit, save)
    for (; cp.spaceIndex < cp.spaces.length; cp.spaceIndex++) {
      // a page's ancestors are in its own space: each space starts with an empty restriction cache, so the
      // cache holds at most one space's layers, never the whole site's
      const restrictions = new RestrictionReader(ctx.call, ctx.signal)
      await crawlSpace(ctx, input, cp, cp.spaces[cp.spaceIndex], { state, restrictions, emit, save, siteUrl: site.url, aclChanged })
    }
    ctx.onProgress?.(progressOf(cp, 'principals'))
    // an incremental run emits only the groups and users that changed since this scope last exported them
    const emitPrincipals = async (records: CrawlRecord[]): Promise<void> => {
      const { changed, hashes } = await state.changedPrincipals(records)
      await emit(cp.since === undefined ? records : changed as CrawlRecord[])
      await state.savePrincipals(hashes)
    }
    if (input.principals && cp.siteLost !== true) await crawlPrincipals(ctx, services, alias, cp, state, emitPrincipals, save)
    const complete = cp.incomplete.length === 0
    // a permissions pass exports no bodies: it must not move the watermark past edits it did not export
    if (cp.siteLost === true) await state.forgetSite()
    else if (complete && input.bodies) {
      await state.setWatermark(cp.startedAt, alias)
      m?.watermark.labels(alias).set(Date.parse(cp.startedAt) / 1000)
    }
    await state.dropRun(cp.spaces.map((s) => s.id))
    cp.phase = 'done'
    await save()
    const result: CrawlResult = {
      complete,
      mode: input.mode,
      counts: cp.counts,
      deletions: cp.deletions,
      unresolvedUsers: { count: cp.users?.unresolved ?? 0, accountIds: cp.users?.unresolvedIds ?? [] },
      errors: cp.errors,
      watermark: complete && input.bodies ? cp.startedAt : await state.watermark(),
      incompleteSpaces: cp.incomplete,
      spaces: cp.spaces.map((sp) => ({ id: sp.id, key: sp.key, complete: !cp.incomplete.includes(sp.id), failed: cp.failedBySpace?.[sp.id] ?? 0 })),
      failed: cp.failed ?? [],
      removedSpaces: cp.removed ?? [],
      ...(cp.siteLost === true ? { siteLost: true as const } : {})
    }
    return result
  } finally {
    m?.running.labels(alias).dec()
    backlog?.end()
    await sink.close()
  }
}

/** How long a down receiver is retried inline (a job gives its slot back after that) and in all (then the job fails). */
function webhookPatience (services: NonNullable<HandlerContext['services']>, ctx: HandlerContext): { holdMs?: number, giveUpMs: number } {
  const giveUpMs = services.webhook?.giveUpMs ?? 3_600_000
  return { holdMs: ctx.job === undefined ? undefined : services.webhook?.holdMs ?? 5_000, giveUpMs }
}


/** The receiver's outage start, in the job's checkpoint hash beside the crawl's position (kept when the job fails). */
async function outageClock (ctx: HandlerContext): Promise<OutageClock | undefined> {
  const cp = ctx.job?.checkpoint
  if (cp === undefined) return undefined
  const saved = (await cp.load()).get(OUTAGE_FIELD)
  let since = saved === undefined || saved === '' ? undefined : Number(saved)
  return {
    since: async () => since,
    start: async (at) => { since = at; await cp.save(OUTAGE_FIELD, String(at)) },
    end: async () => { if (since === undefined) return; since = undefined; await cp.save(OUTAGE_FIELD, '') }
  }
}

/**
 * This run's share of spoke_crawl_pending_items: the gauge is the sum over the process's active runs of the
 * alias, so each run adds the change of its own backlog and takes it all back when it ends (two runs of
 * one alias no longer overwrite each other). Full runs only: incremental runs have no count (see docs).
 */
class Backlog {
  private mine = 0
  constructor (private readonly m: CrawlMetrics, private readonly alias: string) {}
  set (value: number): void {
    if (value === this.mine) return
    this.m.pending.labels(this.alias).inc(value - this.mine)
    this.mine = value
  }

  end (): void { this.set(0) }
}

/** The run's progress also moves its share of the backlog gauge: counted minus processed. */
function withBacklog (ctx: HandlerContext, backlog: Backlog): HandlerContext {
  const report = ctx.onProgress
  return {
    ...ctx,
    onProgress: (update) => {
      report?.(update)
      if (update.total !== undefined) backlog.set(Math.max(0, update.total - (update.done ?? 0)))
    }
  }
}

/**
 * A new run; when its space listing fails, whether the alias lost the site: only an answer of accessible-resources
 * that no longer lists it proves that (then every space this scope holds is removed, like a lost space). Anything
 * else — a transient error, an answer that cannot be read, the site still listed — fails the run as before.
 */
async function startOrLost (ctx: HandlerContext, input: CrawlInput, state: CrawlState, siteUrl: string, alias: string): Promise<CrawlCheckpoint> {
  try {
    return await startRun(ctx, input, state, siteUrl)
  } catch (err) {
    const reached = ctx.services?.siteReached
    if (!(err instanceof AppError) || err.code === 'UPSTREAM_RATE_LIMITED' || ctx.signal?.aborted === true || reached === undefined) throw err
    if (await reached(alias).catch(() => true)) throw err
    ctx.services?.metrics?.crawl?.errors.labels('SITE_LOST').inc()
    return {
      v: 1, startedAt: new Date().toISOString(), since: undefined, timeZone: 'UTC', spaces: [], spaceIndex: 0, typeIndex: 0, phase: 'space', groupStart: 0, sink: 0, counts: {}, errors: { SITE_LOST: 1 },
      deletions: 0, incomplete: [], processed: 0, listed: 0, removedSpaces: (await state.storedSpaces()).sort(), removed: [], failed: [], failedBySpace: {}, siteLost: true
    }
  }
}

async function startRun (ctx: HandlerContext, input: CrawlInput, state: CrawlState, siteUrl: string): Promise<CrawlCheckpoint> {
  const since = input.mode === 'incremental' ? input.since ?? await state.watermark() ?? undefined : undefined
  const spaces: SpaceRef[] = []
  const include = input.spaces?.include
  const exclude = new Set(input.spaces?.exclude ?? [])
  let sawUnnamed = false
  let page: ListPage | undefined = await listPage(ctx.call, '/wiki/api/v2/spaces', { limit: 250, status: 'current', ...(include ? { keys: include } : {}) }, ctx.signal)
  while (page !== undefined) {
    for (const s of page.results as Array<{ id?: unknown, key?: unknown, name?: unknown, _links?: { webui?: unknown } } | null>) {
      // (a null entry or one without an id names no space: nothing to crawl, and nothing may be removed this run)
      if (s === null || typeof s !== 'object' || (typeof s.id !== 'string' && typeof s.id !== 'number')) { sawUnnamed = true; continue }
      const key = typeof s.key === 'string' ? s.key : ''
      if (key !== '' && exclude.has(key)) continue
      const webui = typeof s._links?.webui === 'string' ? s._links.webui : key !== '' ? `/spaces/${encodeURIComponent(key)}` : ''
      spaces.push({ id: String(s.id), key, name: typeof s.name === 'string' ? s.name : key, url: `${siteUrl}/wiki${webui}` })
    }
    page = page.next === undefined ? undefined : await listPage(ctx.call, page.next, undefined, ctx.signal)
  }
  // The listing above is complete (any failure of it fails the run before anything is emitted): a space this
  // scope holds records of and the listing no longer shows has left the crawl's view (access lost, archived,
  // deleted) and its records go. A null entry in the listing could be any space: then nothing is removed.
  const listed = new Set(spaces.map((sp) => sp.id))
  const removed = sawUnnamed ? [] : (await state.storedSpaces()).filter((id) => !listed.has(id)).sort()
  if (since === undefined) {
    const kinds = (['page', 'blogpost'] as const).filter((k) => input.types.includes(k))
    for (const s of spaces) { const count = await countSpace(ctx.call, s, kinds, ctx.signal); if (count !== undefined) s.count = count }
  }
  return {
    v: 1, startedAt: new Date().toISOString(), since, timeZone: since === undefined ? 'UTC' : await siteTimeZone(ctx.call, ctx.signal),
    spaces, spaceIndex: 0, typeIndex: 0, phase: 'space', groupStart: 0, sink: 0, counts: {}, errors: {}, deletions: 0, incomplete: [], processed: 0, listed: 0,
    removedSpaces: removed, removed: [], failed: [], failedBySpace: {}
  }
}

interface SpaceDeps {
  state: CrawlState
  restrictions: RestrictionReader
  emit: (records: CrawlRecord[]) => Promise<void>
  save: () => Promise<void>
  siteUrl: string
  /** when something listens (triggers): items whose effective ACL differs from the stored one */
  aclChanged?: (changed: AclChanged[]) => Promise<void>
}

/**
 * Items found with another ACL than the scope stored go to the handler services' port (triggers), when
 * anything listens on the site; the stored values are then read by every run, not only by a permissions pass.
 */
async function aclListener (services: NonNullable<HandlerContext['services']>, site: { alias: string, cloudId: string }, siteUrl: string): Promise<SpaceDeps['aclChanged']> {
  const port = services.aclChanges
  if (port === undefined || !await port.wanted(site)) return undefined
  const prefix = `${siteUrl}/wiki`
  return async (changed) => {
    await port.publish(site, changed.map(({ record, acl, digests }): AclChange => ({
      kind: record.kind,
      id: record.id,
      spaceId: record.spaceId,
      spaceKey: record.spaceKey,
      title: record.title,
      url: record.url.startsWith(prefix) ? record.url.slice(prefix.length) : record.url,
      version: record.version,
      ...(record.authorId !== undefined ? { authorId: record.authorId } : {}),
      acl,
      digests
    })))
  }
}

/** A failure that should pause or stop the run rather than be counted. */
/** An item or listing skipped: in the run's tally and on /metrics (spoke_crawl_errors_total). */
function crawlError (ctx: HandlerContext, cp: CrawlCheckpoint, code: string): void {
  tally(cp.errors, code)
  ctx.services?.metrics?.crawl?.errors.labels(code).inc()
}

function propagates (err: unknown, ctx: HandlerContext): boolean {
  return !(err instanceof AppError) || err.code === 'UPSTREAM_RATE_LIMITED' || ctx.signal?.aborted === true || err.code === 'CONNECTION_NOT_AUTHORIZED'
}

async function crawlSpace (ctx: HandlerContext, input: CrawlInput, cp: CrawlCheckpoint, space: SpaceRef, deps: SpaceDeps): Promise<void> {
  const kinds = (['page', 'blogpost'] as const).filter((k) => input.types.includes(k))
  const clause = await readSpaceClause(ctx, cp, space, deps)
  if (cp.phase === 'space') {
    await deps.emit([{ recordId: `space:${space.id}`, kind: 'space', id: space.id, key: space.key, name: space.name, url: space.url, ...(input.permissions ? { acl: { allOf: [clause] } } : {}) }])
    cp.phase = 'list'; cp.typeIndex = 0; cp.cursor = undefined
    await deps.save()
  }
  for (; cp.phase === 'list' && cp.typeIndex < kinds.length; cp.typeIndex++, cp.cursor = undefined) {
    const kind = kinds[cp.typeIndex]
    for (;;) {
      let page: ListPage
      try {
        page = await fetchListing(ctx, cp, space, kind, input.bodies, input.archived)
      } catch (err) {
        if (propagates(err, ctx)) throw err
        crawlError(ctx, cp, (err as AppError).code)
        if (!cp.incomplete.includes(space.id)) cp.incomplete.push(space.id)
        break
      }
      const items = cp.since === undefined ? page.results as V2Content[] : await fetchChanged(ctx, cp, deps.state, space, kind, page.results, input.bodies)
      await processItems(ctx, input, cp, space, kind, clause, deps, items)
      cp.cursor = page.next
      if (page.next === undefined) break
      await deps.save()
      ctx.onProgress?.(progressOf(cp, `${kind}s`))
      if (ctx.signal?.aborted === true) throw ctx.signal.reason
    }
  }
  if (cp.phase === 'list' && cp.since !== undefined) {
    // an incremental run also reads again what failed in earlier runs (its window would not show it)
    for (const kind of kinds) {
      const ids = (await deps.state.previousFailures(space.id)).filter((f) => f.kind === kind).map((f) => ({ id: f.id }))
      if (ids.length > 0) await processItems(ctx, input, cp, space, kind, clause, deps, await fetchChanged(ctx, cp, deps.state, space, kind, ids, input.bodies))
    }
  }
  if (cp.phase === 'list') {
    // deletions only when every listing request of this space succeeded, and only from a full listing
    if (cp.since === undefined && !cp.incomplete.includes(space.id)) {
      for await (const gone of deps.state.unseen(space.id)) {
        await deps.emit(gone.map((g) => ({ recordId: `${g.kind}:${g.id}`, kind: 'deleted' as const, id: g.id, contentKind: g.kind })))
        cp.deletions += gone.length
      }
    }
    cp.phase = 'commit'
    await deps.save()
  }
  if (cp.since === undefined && !cp.incomplete.includes(space.id)) await deps.state.replaceItems(space.id)
  else await deps.state.mergeItems(space.id, cp.since !== undefined)
  cp.phase = 'space'; cp.typeIndex = 0; cp.cursor = undefined
  cp.spaceIndex++
  await deps.save()
  ctx.onProgress?.(progressOf(cp, 'listing'))
  cp.spaceIndex-- // the caller's loop advances it
}

async function fetchListing (ctx: HandlerContext, cp: CrawlCheckpoint, space: SpaceRef, kind: 'page' | 'blogpost', bodies: boolean, archived?: 'mark' | 'delete'): Promise<ListPage> {
  if (cp.cursor !== undefined) return await listPage(ctx.call, cp.cursor, undefined, ctx.signal)
  if (cp.since !== undefined) {
    return await listPage(ctx.call, '/wiki/rest/api/content/search', { cql: windowCql(space, kind, cp.since, cp.startedAt, cp.timeZone), limit: LIST_LIMIT }, ctx.signal)
  }
  const path = `/wiki/api/v2/spaces/${segment(space.id)}/${kind === 'page' ? 'pages' : 'blogposts'}`
  // archived pages are listed too when they are to be marked (blog posts cannot be archived)
  const status = archived !== 'delete' && kind === 'page' ? ['current', 'archived'] : 'current'
  return await listPage(ctx.call, path, { status, limit: LIST_LIMIT, ...(bodies ? { 'body-format': 'storage' } : {}) }, ctx.signal)
}

/**
 * CQL gives ids; each changed item is read in the v2 form the records are built from. A 404 (deleted or out of
 * view since) skips it; any other failure skips it with an error, and the next run reads it again.
 */
async function fetchChanged (ctx: HandlerContext, cp: CrawlCheckpoint, state: CrawlState, space: SpaceRef, kind: 'page' | 'blogpost', results: unknown[], bodies: boolean): Promise<V2Content[]> {
  const out: V2Content[] = []
  const failed: Array<{ id: string, kind: string, code: string }> = []
  for (const r of results) {
    const id = r !== null && typeof r === 'object' ? (r as { id?: unknown }).id : undefined
    if (typeof id !== 'string' && typeof id !== 'number') { crawlError(ctx, cp, 'ITEM_INCOMPLETE'); continue }
    try {
      const res = await ctx.call({ method: 'GET', path: `/wiki/api/v2/${kind === 'page' ? 'pages' : 'blogposts'}/${segment(String(id))}`, query: bodies ? { 'body-format': 'storage' } : undefined, signal: ctx.signal })
      if (res.body !== null && typeof res.body === 'object') out.push(res.body as V2Content)
    } catch (err) {
      if (propagatesFrom(err, ctx.signal) || !(err instanceof AppError)) throw err
      if (err.code !== 'UPSTREAM_NOT_FOUND') failed.push({ id: String(id), kind, code: err.code })
    }
  }
  if (failed.length > 0) await recordFailures(ctx, cp, state, space, failed)
  return out
}

/** One listing page's items (or an incremental run's changed ones) → records in the sink, state, tallies. */
async function processItems (ctx: HandlerContext, input: CrawlInput, cp: CrawlCheckpoint, space: SpaceRef, kind: 'page' | 'blogpost', clause: AclClause, deps: SpaceDeps, items: V2Content[]): Promise<void> {
  const kept = items.filter((i) => i !== null && typeof i === 'object' && (i.status === undefined || i.status === 'current' || (i.status === 'archived' && input.archived !== 'delete')))
  const outcome: PageOutcome = await processPage({
    call: ctx.call, signal: ctx.signal, kind, space: { id: space.id, key: space.key, clause }, siteUrl: deps.siteUrl, restrictions: deps.restrictions,
    bodies: input.bodies, bodyFormats: input.bodyFormats, archived: input.archived, attachments: input.types.includes('attachment'), comments: input.types.includes('comment'),
    attachmentComments: attachmentComments(input),
    known: input.bodies ? undefined : async (ids) => await deps.state.known(space.id, ids),
    previous: deps.aclChanged === undefined ? undefined : async (ids) => await deps.state.known(space.id, ids)
  }, kept)
  if (!input.permissions) for (const r of outcome.records) delete (r as { acl?: unknown }).acl
  const unlabelled = await attachLabels(ctx.call, ctx.signal, outcome.records)
  for (let n = 0; n < unlabelled; n++) crawlError(ctx, cp, 'LABELS_UNREADABLE')
  await deps.emit(outcome.records)
  // (before the position is saved: a run that fails here repeats this page, and the listener drops what it had)
  if (deps.aclChanged !== undefined && outcome.aclChanged.length > 0) await deps.aclChanged(outcome.aclChanged)
  await deps.state.markSeen(space.id, outcome.seen, outcome.accounts)
  await deps.state.forget(space.id, outcome.gone)
  cp.deletions += outcome.gone.length
  // (an item's failure is counted with its own code among outcome.errors)
  for (const code of outcome.errors) crawlError(ctx, cp, code)
  if (outcome.failed.length > 0) await recordFailures(ctx, cp, deps.state, space, outcome.failed, false)
  cp.processed += outcome.seen.length
  // progress counts current items (the total is a CQL count, which sees no archived page)
  const archived = kept.filter((i) => i.status === 'archived').length
  cp.listed = (cp.listed ?? 0) + Math.max(0, (outcome.processed.page ?? 0) + (outcome.processed.blogpost ?? 0) - archived)
}

const FAILED_LISTED = 1000

/** Items that failed: in the result (the first 1,000), per space, and in Redis for the next run to read again. */
async function recordFailures (ctx: HandlerContext, cp: CrawlCheckpoint, state: CrawlState, space: SpaceRef, failed: Array<{ id: string, kind: string, code: string }>, count = true): Promise<void> {
  cp.failed ??= []
  cp.failedBySpace ??= {}
  for (const f of failed) {
    if (count) crawlError(ctx, cp, f.code)
    if (cp.failed.length < FAILED_LISTED) cp.failed.push({ ...f, spaceId: space.id })
    cp.failedBySpace[space.id] = (cp.failedBySpace[space.id] ?? 0) + 1
  }
  await state.markFailed(space.id, failed)
}

/** The space's read grant; one that cannot be read makes every item of the space readable by nobody (counted). */
async function readSpaceClause (ctx: HandlerContext, cp: CrawlCheckpoint, space: SpaceRef, deps: SpaceDeps): Promise<AclClause> {
  try {
    const clause = await fetchSpaceClause(ctx.call, space.id, ctx.signal)
    // every account the grant names gets a user record, like those the restrictions name
    await deps.state.addAccounts(clause.anyOf.flatMap((p) => p.type === 'user' ? [p.accountId] : []))
    return clause
  } catch (err) {
    if (propagatesFrom(err, ctx.signal) || !(err instanceof AppError)) throw err
    crawlError(ctx, cp, err.code)
    return spaceClause(space.id, [], [], []) // (no principal: nobody satisfies it)
  }
}

/**
 * Spaces this scope holds records of that the run's (complete) space listing no longer shows: each stored item
 * gets a `deleted` record (or, with `removedSpaces: "mark"`, a record marking it unavailable and readable by
 * nobody), the space too, and the stored state of the space is dropped.
 */
async function removeSpaces (ctx: HandlerContext, input: CrawlInput, cp: CrawlCheckpoint, state: CrawlState,
  emit: (records: CrawlRecord[]) => Promise<void>, save: () => Promise<void>): Promise<void> {
  const mark = input.removedSpaces === 'mark'
  for (const spaceId of cp.removedSpaces ?? []) {
    const closed = { allOf: [{ source: 'space' as const, sourceId: spaceId, anyOf: [] }] }
    for await (const chunk of state.storedItems(spaceId)) {
      await emit(chunk.map((g): CrawlRecord => mark
        ? { recordId: `${g.kind}:${g.id}`, kind: 'unavailable', id: g.id, contentKind: g.kind, spaceId, acl: closed }
        : { recordId: `${g.kind}:${g.id}`, kind: 'deleted', id: g.id, contentKind: g.kind }))
      if (!mark) cp.deletions += chunk.length
    }
    await emit([mark
      ? { recordId: `space:${spaceId}`, kind: 'unavailable', id: spaceId, contentKind: 'space', spaceId, acl: closed }
      : { recordId: `space:${spaceId}`, kind: 'deleted', id: spaceId, contentKind: 'space' }])
    if (!mark) cp.deletions++
    await state.dropSpace(spaceId)
    cp.removed ??= []
    cp.removed.push(spaceId)
  }
  cp.removedSpaces = []
  await save()
}

async function crawlPrincipals (ctx: HandlerContext, services: NonNullable<HandlerContext['services']>, alias: string, cp: CrawlCheckpoint, state: CrawlState,
  emit: (records: CrawlRecord[]) => Promise<void>, save: () => Promise<void>): Promise<void> {
  if (cp.phase === 'space') { cp.phase = 'groups'; cp.groupStart = 0; await save() }
  while (cp.phase === 'groups') {
    const next = await exportGroups(ctx.call, state, cp.groupStart, emit, ctx.signal, (code) => { crawlError(ctx, cp, code) })
    if (next === undefined) cp.phase = 'users'; else cp.groupStart = next
    await save()
  }
  if (cp.phase === 'users') {
    try { await stageOrgEmails(ctx, state) } catch { crawlError(ctx, cp, 'ORG_API_UNAVAILABLE') }
    const users = await exportUsers(ctx.call, state, emit, ctx.signal)
    cp.users = { unresolved: users.unresolved, unresolvedIds: users.unresolvedIds }
  }
}
