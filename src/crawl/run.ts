// confluence.content.crawl (docs/crawl.md): spaces → for each, its read grant, then its pages and blog posts
// a listing page at a time (ACLs, attachments, records to the sink, a checkpoint), then deletions if the
// space's listing was complete; then groups and users. A rate limit or a cancel propagates (the job pauses
// or stops and resumes from the checkpoint); any other listing failure marks the space incomplete.
import { randomUUID } from 'node:crypto'
import type { ActionHandler, HandlerContext } from '../actions/handlers/types'
import { AppError } from '../errors/app-error'
import { InputInvalidError, InternalError } from '../errors/errors'
import { loadCheckpoint, saveCheckpoint, tally, type CrawlCheckpoint, type SpaceRef } from './checkpoint'
import { fetchSpaceClause, RestrictionReader } from './layers'
import { listPage, type ListPage } from './listing'
import { processPage, type V2Content } from './items'
import { exportGroups, exportUsers, stageOrgEmails } from './principals'
import { openFileSink, openWebhookSink, type Sink } from './sink'
import { OUTAGE_FIELD, type OutageClock } from './webhook-sink'
import { attachmentComments, CrawlState, scopeOf } from './state'
import type { CrawlInput, CrawlRecord, CrawlResult } from './types'
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
  const cp = await loadCheckpoint(ctx.job?.checkpoint) ?? await startRun(ctx, input, state, site.url)
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
  m?.running.labels(alias).inc()
  m?.lastProgress.labels(alias).setToCurrentTime()
  try {
    ctx.onProgress?.(progressOf(cp, 'listing'))
    for (; cp.spaceIndex < cp.spaces.length; cp.spaceIndex++) {
      // a page's ancestors are in its own space: each space starts with an empty restriction cache, so the
      // cache holds at most one space's layers, never the whole site's
      const restrictions = new RestrictionReader(ctx.call, ctx.signal)
      await crawlSpace(ctx, input, cp, cp.spaces[cp.spaceIndex], { state, restrictions, emit, save, siteUrl: site.url })
    }
    ctx.onProgress?.(progressOf(cp, 'principals'))
    if (input.principals) await crawlPrincipals(ctx, services, alias, cp, state, emit, save)
    const complete = cp.incomplete.length === 0
    // a permissions pass exports no bodies: it must not move the watermark past edits it did not export
    if (complete && input.bodies) {
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
      incompleteSpaces: cp.incomplete
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

async function startRun (ctx: HandlerContext, input: CrawlInput, state: CrawlState, siteUrl: string): Promise<CrawlCheckpoint> {
  const since = input.mode === 'incremental' ? input.since ?? await state.watermark() ?? undefined : undefined
  const spaces: SpaceRef[] = []
  const include = input.spaces?.include
  const exclude = new Set(input.spaces?.exclude ?? [])
  let page: ListPage | undefined = await listPage(ctx.call, '/wiki/api/v2/spaces', { limit: 250, status: 'current', ...(include ? { keys: include } : {}) }, ctx.signal)
  while (page !== undefined) {
    for (const s of page.results as Array<{ id: string, key: string, name?: string, _links?: { webui?: string } }>) {
      if (!exclude.has(s.key)) spaces.push({ id: String(s.id), key: s.key, name: s.name ?? s.key, url: `${siteUrl}/wiki${s._links?.webui ?? `/spaces/${s.key}`}` })
    }
    page = page.next === undefined ? undefined : await listPage(ctx.call, page.next, undefined, ctx.signal)
  }
  if (since === undefined) {
    const kinds = (['page', 'blogpost'] as const).filter((k) => input.types.includes(k))
    for (const s of spaces) { const count = await countSpace(ctx.call, s.key, kinds, ctx.signal); if (count !== undefined) s.count = count }
  }
  return {
    v: 1, startedAt: new Date().toISOString(), since, timeZone: since === undefined ? 'UTC' : await siteTimeZone(ctx.call, ctx.signal),
    spaces, spaceIndex: 0, typeIndex: 0, phase: 'space', groupStart: 0, sink: 0, counts: {}, errors: {}, deletions: 0, incomplete: [], processed: 0, listed: 0
  }
}

interface SpaceDeps {
  state: CrawlState
  restrictions: RestrictionReader
  emit: (records: CrawlRecord[]) => Promise<void>
  save: () => Promise<void>
  siteUrl: string
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
  const clause = await fetchSpaceClause(ctx.call, space.id, ctx.signal)
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
        page = await fetchListing(ctx, cp, space, kind, input.bodies)
      } catch (err) {
        if (propagates(err, ctx)) throw err
        crawlError(ctx, cp, (err as AppError).code)
        if (!cp.incomplete.includes(space.id)) cp.incomplete.push(space.id)
        break
      }
      const items = cp.since === undefined ? page.results as V2Content[] : await fetchChanged(ctx, kind, page.results, input.bodies)
      const outcome = await processPage({
        call: ctx.call, signal: ctx.signal, kind, space: { id: space.id, key: space.key, clause }, siteUrl: deps.siteUrl, restrictions: deps.restrictions,
        bodies: input.bodies, attachments: input.types.includes('attachment'), comments: input.types.includes('comment'),
        attachmentComments: attachmentComments(input),
        known: input.bodies ? undefined : async (ids) => await deps.state.known(space.id, ids)
      }, items.filter((i) => i.status === undefined || i.status === 'current'))
      if (!input.permissions) for (const r of outcome.records) delete (r as { acl?: unknown }).acl
      await deps.emit(outcome.records)
      await deps.state.markSeen(space.id, outcome.seen, outcome.accounts)
      for (const code of outcome.errors) crawlError(ctx, cp, code)
      cp.processed += outcome.seen.length
      cp.listed = (cp.listed ?? 0) + (outcome.processed.page ?? 0) + (outcome.processed.blogpost ?? 0)
      cp.cursor = page.next
      if (page.next === undefined) break
      await deps.save()
      ctx.onProgress?.(progressOf(cp, `${kind}s`))
      if (ctx.signal?.aborted === true) throw ctx.signal.reason
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
  else await deps.state.mergeItems(space.id)
  cp.phase = 'space'; cp.typeIndex = 0; cp.cursor = undefined
  cp.spaceIndex++
  await deps.save()
  ctx.onProgress?.(progressOf(cp, 'listing'))
  cp.spaceIndex-- // the caller's loop advances it
}

async function fetchListing (ctx: HandlerContext, cp: CrawlCheckpoint, space: SpaceRef, kind: 'page' | 'blogpost', bodies: boolean): Promise<ListPage> {
  if (cp.cursor !== undefined) return await listPage(ctx.call, cp.cursor, undefined, ctx.signal)
  if (cp.since !== undefined) {
    return await listPage(ctx.call, '/wiki/rest/api/content/search', { cql: windowCql(space.key, kind, cp.since, cp.startedAt, cp.timeZone), limit: LIST_LIMIT }, ctx.signal)
  }
  const path = `/wiki/api/v2/spaces/${space.id}/${kind === 'page' ? 'pages' : 'blogposts'}`
  return await listPage(ctx.call, path, { status: 'current', limit: LIST_LIMIT, ...(bodies ? { 'body-format': 'storage' } : {}) }, ctx.signal)
}

/** CQL gives ids; each changed item is read in the v2 form the records are built from. */
async function fetchChanged (ctx: HandlerContext, kind: 'page' | 'blogpost', results: unknown[], bodies: boolean): Promise<V2Content[]> {
  const out: V2Content[] = []
  for (const r of results as Array<{ id?: string }>) {
    try {
      const res = await ctx.call({ method: 'GET', path: `/wiki/api/v2/${kind === 'page' ? 'pages' : 'blogposts'}/${String(r.id)}`, query: bodies ? { 'body-format': 'storage' } : undefined, signal: ctx.signal })
      out.push(res.body as V2Content)
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'UPSTREAM_NOT_FOUND') throw err
    }
  }
  return out
}

async function crawlPrincipals (ctx: HandlerContext, services: NonNullable<HandlerContext['services']>, alias: string, cp: CrawlCheckpoint, state: CrawlState,
  emit: (records: CrawlRecord[]) => Promise<void>, save: () => Promise<void>): Promise<void> {
  if (cp.phase === 'space') { cp.phase = 'groups'; cp.groupStart = 0; await save() }
  while (cp.phase === 'groups') {
    const next = await exportGroups(ctx.call, state, cp.groupStart, emit, ctx.signal)
    if (next === undefined) cp.phase = 'users'; else cp.groupStart = next
    await save()
  }
  if (cp.phase === 'users') {
    try { await stageOrgEmails(ctx, state) } catch { crawlError(ctx, cp, 'ORG_API_UNAVAILABLE') }
    const users = await exportUsers(ctx.call, state, emit, ctx.signal)
    cp.users = { unresolved: users.unresolved, unresolvedIds: users.unresolvedIds }
  }
}
