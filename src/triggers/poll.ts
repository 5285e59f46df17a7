// One poll of one site (connection alias) for every subscription on it: the same upstream requests whether
// one subscription or a hundred listen. The window is the crawl's (crawl/window.ts): CQL `lastmodified`,
// minute-granular in the site's time zone, its lower bound stepped back by the overlap, its upper bound
// frozen when the poll starts (kept in Redis, so a poll killed midway repeats the same window). What was
// seen before (content id → version) turns the overlap's repeats into nothing and a version jump n → n+2
// into two `updated` events, n+1 and n+2, in version order. Trash is a v2 list of trashed pages and blog
// posts (trashing does not touch `lastmodified`); an id that leaves the trash and is current again is
// `restored`. Comments are the v2 footer and inline comment lists, newest first, read down to the window's
// lower bound. The events, the versions seen and the new watermark are written in one MULTI: a poll either
// happened in full or not at all.
import type { HandlerContext } from '../actions/handlers/types'
import { listPage } from '../crawl/listing'
import { cqlTime, OVERLAP_MS, siteTimeZone } from '../crawl/window'
import type { TriggerStore } from './store'
import { eventId, type ContentKind, type Subscription, type TriggerEvent, type TriggerEventType } from './types'

type Call = HandlerContext['call']

const LIST_LIMIT = 100
/** A page of a listing at most this many times per poll (a runaway cursor ends the poll, it resumes next time). */
const MAX_PAGES = 1_000

export interface PollResult {
  /** Events per subscription (after each one's filter). */
  events: Map<string, TriggerEvent[]>
  /** Items detected as changed (before filtering), and whether this poll only took the site's baseline. */
  detected: number
  baseline: boolean
}

interface Found {
  kind: ContentKind
  id: string
  version: number
  status: string
  when?: string
  created?: string
  title?: string
  spaceId?: string
  spaceKey?: string
  url?: string
  authorId?: string
}

/** Detects the site's changes since its watermark and queues each subscription's events. */
export async function pollSite (store: TriggerStore, alias: string, subs: Subscription[], call: Call, signal?: AbortSignal, beforeCommit?: () => Promise<void>): Promise<PollResult> {
  const redis = store.redis
  const site = await redis.hgetall(store.siteKey(alias))
  const baseline = site.since === undefined
  // The frozen upper bound: a poll that was killed repeats the same window.
  const until = site.until ?? new Date().toISOString()
  if (site.until === undefined) await redis.hset(store.siteKey(alias), 'until', until)
  const since = site.since ?? subs.map((s) => s.startAt).sort()[0] ?? until
  const timeZone = site.tz ?? await siteTimeZone(call, signal)
  const detectedAt = new Date().toISOString()

  // The first poll of a site lists everything once (no lower bound) to learn every item's version: a later
  // edit of any of them is then reported version by version.
  const changed = await listWindow(call, baseline ? undefined : since, until, timeZone, signal)
  const trashed = await listTrash(call, signal)
  const comments = await listNewComments(call, Date.parse(since) - OVERLAP_MS, signal)
  const ids = [...new Set([...changed.map((c) => c.id), ...trashed.map((c) => c.id)])]
  const seenRaw = ids.length === 0 ? [] : await redis.hmget(store.seenKey(alias), ...ids)
  const seen = new Map(ids.map((id, i) => [id, seenRaw[i] === null ? undefined : Number(seenRaw[i])]))
  const wasTrashed = new Set(await redis.smembers(store.trashedKey(alias)))
  const spaceKeys = await redis.hgetall(store.spacesKey(alias))
  const commentSeenRaw = comments.length === 0 ? [] : await redis.hmget(store.seenKey(alias), ...comments.map((c) => `c:${c.id}`))
  const spaceOf = new Map<string, string>()

  const found: Array<{ item: Found, type: TriggerEventType, version: number }> = []
  const versions = new Map<string, number>()
  const nowTrashed = new Set<string>()
  const leftTrash = new Set<string>()
  const sinceMs = Date.parse(since)
  for (const item of changed) {
    if (item.when !== undefined && Date.parse(item.when) > Date.parse(until)) continue // the next poll's
    const before = seen.get(item.id)
    versions.set(item.id, Math.max(item.version, before ?? 0))
    if (item.spaceId !== undefined && item.spaceKey !== undefined) { spaceKeys[item.spaceId] = item.spaceKey; spaceOf.set(item.id, item.spaceId) }
    if (wasTrashed.has(item.id)) { leftTrash.add(item.id); if (!baseline) found.push({ item, type: restoredType(item.kind), version: item.version }) }
    if (before !== undefined && before >= item.version) continue
    const modified = item.when === undefined ? Number.POSITIVE_INFINITY : Date.parse(item.when)
    if (before === undefined && baseline && modified < sinceMs) continue // changed before we started: its version is the baseline
    // Not seen by an earlier poll and created since (or in the overlap, as a publication Confluence's index
    // showed late): new to every subscription.
    const createdAfter = item.created !== undefined && Date.parse(item.created) >= (baseline ? sinceMs : sinceMs - OVERLAP_MS)
    // Never seen: created since we started → created, then each later version; else only its current version
    // (the versions between are not listed without a version history).
    const from = before !== undefined ? before + 1 : createdAfter ? 1 : item.version
    for (let v = from; v <= item.version; v++) {
      const type = v === 1 && before === undefined && createdAfter ? createdType(item.kind) : updatedType(item.kind)
      if (type !== undefined) found.push({ item, type, version: v })
    }
  }
  for (const item of trashed) {
    nowTrashed.add(item.id)
    if (!wasTrashed.has(item.id) && !baseline) found.push({ item: { ...item, spaceKey: item.spaceId === undefined ? undefined : spaceKeys[item.spaceId] }, type: trashedType(item.kind), version: item.version })
  }
  // Left the trash without a new version (a restore does not touch `lastmodified`): current again → restored.
  for (const id of wasTrashed) {
    if (nowTrashed.has(id) || leftTrash.has(id)) continue
    leftTrash.add(id)
    const item = await readCurrent(call, id, signal)
    if (item !== undefined && !baseline) found.push({ item: { ...item, spaceKey: item.spaceId === undefined ? undefined : spaceKeys[item.spaceId] }, type: restoredType(item.kind), version: item.version })
  }

  // Comments: a new id, created after the watermark (with the overlap) and not until after the bound, is
  // `comment.created` — footer and inline, roots and replies, oldest first. Its space is its container's
  // (a reply's container is its thread's, when the thread was seen).
  const commentContainers = new Map<string, string>()
  const untilMs = Date.parse(until)
  const newComments = comments.filter((c, i) => commentSeenRaw[i] === null && Date.parse(c.created) <= untilMs).sort((a, b) => Date.parse(a.created) - Date.parse(b.created))
  const threadIds = [...new Set(newComments.map((c) => c.parentCommentId).filter((p): p is string => p !== undefined))]
  const threadRaw = threadIds.length === 0 ? [] : await redis.hmget(store.seenKey(alias), ...threadIds.map((id) => `c:${id}`))
  const threads = new Map(threadIds.map((id, i) => [id, threadRaw[i] ?? undefined]))
  for (const c of newComments) {
    const container = c.containerId ?? (c.parentCommentId === undefined ? undefined : commentContainers.get(c.parentCommentId) ?? threads.get(c.parentCommentId)) ?? ''
    commentContainers.set(c.id, container)
  }
  const containerIds = [...new Set([...commentContainers.values()].filter((id) => id !== '' && !spaceOf.has(id)))]
  const spaceRaw = containerIds.length === 0 ? [] : await redis.hmget(store.spaceOfKey(alias), ...containerIds)
  containerIds.forEach((id, i) => { if (spaceRaw[i] !== null) spaceOf.set(id, spaceRaw[i] as string) })
  {
    for (const c of newComments) {
      // Only a first version tells its creation: an unseen comment at version 2+ may be an old one edited now
      // (remembered, not reported; a comment created and edited between two polls is missed: docs/triggers.md).
      if (c.version !== 1) continue
      // The baseline reports only what was posted since the start (a backfill, or the moments before it ran).
      if (baseline && Date.parse(c.created) < sinceMs) continue
      const spaceId = spaceOf.get(commentContainers.get(c.id) ?? '')
      found.push({ item: { kind: 'comment', id: c.id, version: c.version, status: 'current', when: c.created, created: c.created, title: c.title, spaceId, spaceKey: spaceId === undefined ? undefined : spaceKeys[spaceId], url: c.url, authorId: c.authorId }, type: 'comment.created', version: c.version })
    }
  }

  const perSub = new Map<string, TriggerEvent[]>()
  for (const sub of subs) {
    const events: TriggerEvent[] = []
    for (const f of found) {
      const event = toEvent(f.item, f.type, f.version, detectedAt, sub.id)
      if (wants(sub, event)) events.push(event)
    }
    perSub.set(sub.id, events)
  }

  await beforeCommit?.()
  const m = redis.multi()
  for (const [id, v] of versions) m.hset(store.seenKey(alias), id, String(v))
  if (nowTrashed.size > 0) m.sadd(store.trashedKey(alias), ...nowTrashed)
  if (leftTrash.size > 0) m.srem(store.trashedKey(alias), ...leftTrash)
  if (Object.keys(spaceKeys).length > 0) m.hset(store.spacesKey(alias), spaceKeys)
  if (spaceOf.size > 0) m.hset(store.spaceOfKey(alias), Object.fromEntries(spaceOf))
  for (const [id, container] of commentContainers) m.hset(store.seenKey(alias), `c:${id}`, container)
  for (const [id, events] of perSub) {
    if (events.length === 0) continue
    m.rpush(store.outKey(id), ...events.map((e) => JSON.stringify(e)))
    m.hincrby(store.statsKey(id), 'detected', events.length)
  }
  m.hset(store.siteKey(alias), 'since', until, 'tz', timeZone, 'lastPollAt', detectedAt)
  m.hdel(store.siteKey(alias), 'until')
  m.hincrby(store.siteKey(alias), 'polls', 1)
  await m.exec()
  return { events: perSub, detected: found.length, baseline }
}

function createdType (kind: ContentKind): TriggerEventType | undefined {
  return kind === 'page' ? 'page.created' : kind === 'blogpost' ? 'blogpost.created' : kind === 'attachment' ? 'attachment.created' : kind === 'comment' ? 'comment.created' : undefined
}
function updatedType (kind: ContentKind): TriggerEventType | undefined {
  return kind === 'page' ? 'page.updated' : kind === 'blogpost' ? 'blogpost.updated' : kind === 'attachment' ? 'attachment.updated' : undefined
}
// Blog posts have no trashed/restored event of their own in the contract: they are reported as pages'.
function trashedType (_kind: ContentKind): TriggerEventType { return 'page.trashed' }
function restoredType (_kind: ContentKind): TriggerEventType { return 'page.restored' }

function toEvent (item: Found, type: TriggerEventType, version: number, detectedAt: string, subscription: string): TriggerEvent {
  const occurredAt = type === 'page.trashed' || type === 'page.restored' ? detectedAt : item.when ?? detectedAt
  return {
    id: eventId(item.id, version, type),
    type,
    occurredAt,
    detectedAt,
    subscription,
    content: { kind: item.kind, id: item.id, spaceId: item.spaceId, spaceKey: item.spaceKey, title: item.title, url: item.url, version, authorId: item.authorId }
  }
}

/** The subscription's events, kinds and spaces; and nothing that occurred before its start. */
export function wants (sub: Subscription, e: TriggerEvent): boolean {
  if (!sub.events.includes(e.type)) return false
  if (sub.filter?.types !== undefined && !sub.filter.types.includes(e.content.kind)) return false
  const spaces = sub.filter?.spaces
  if (spaces !== undefined && !spaces.includes(e.content.spaceKey ?? '') && !spaces.includes(e.content.spaceId ?? '')) return false
  // To the second: the simulator (and some Confluence fields) keep whole seconds.
  return Date.parse(e.occurredAt) >= Math.floor(Date.parse(sub.startAt) / 1000) * 1000
}

/** Pages, blog posts and attachments modified in the window (all up to `until` without `since`), oldest first (v1 CQL search, one cursor). */
async function listWindow (call: Call, since: string | undefined, until: string, timeZone: string, signal?: AbortSignal): Promise<Found[]> {
  const to = cqlTime(new Date(until), timeZone)
  const lower = since === undefined ? '' : ` and lastmodified >= "${cqlTime(new Date(Date.parse(since) - OVERLAP_MS), timeZone)}"`
  const cql = `type in (page, blogpost, attachment)${lower} and lastmodified <= "${to}" order by lastmodified asc`
  const out: Found[] = []
  // `/rest/api/search` (searchByCQL): its cursor links are in the v1 spec (content/search's `next=true` is not).
  let page = await listPage(call, '/wiki/rest/api/search', { cql, limit: LIST_LIMIT, expand: 'content.space,content.version,content.history', excerpt: 'none' }, signal)
  for (let n = 0; ; n++) {
    for (const r of page.results) { const f = fromV1((r as { content?: unknown }).content); if (f !== undefined) out.push(f) }
    if (page.next === undefined || n >= MAX_PAGES) break
    page = await listPage(call, page.next, undefined, signal)
  }
  return out
}

function fromV1 (raw: unknown): Found | undefined {
  const r = raw as { id?: unknown, type?: unknown, status?: unknown, title?: unknown, space?: { id?: unknown, key?: unknown }, version?: { number?: unknown, when?: unknown, by?: { accountId?: unknown } }, history?: { createdDate?: unknown }, _links?: { webui?: unknown } }
  const kind = r.type
  if (typeof r.id !== 'string' || (kind !== 'page' && kind !== 'blogpost' && kind !== 'attachment') || typeof r.version?.number !== 'number') return undefined
  return {
    kind,
    id: r.id.replace(/^att/, ''),
    version: r.version.number,
    status: typeof r.status === 'string' ? r.status : 'current',
    when: str(r.version.when),
    created: str(r.history?.createdDate),
    title: str(r.title),
    spaceId: r.space?.id === undefined ? undefined : String(r.space.id),
    spaceKey: str(r.space?.key),
    url: str(r._links?.webui),
    authorId: str(r.version.by?.accountId)
  }
}

function fromV2 (raw: unknown, kind: 'page' | 'blogpost'): Found | undefined {
  const r = raw as { id?: unknown, status?: unknown, title?: unknown, spaceId?: unknown, version?: { number?: unknown, createdAt?: unknown, authorId?: unknown }, _links?: { webui?: unknown } }
  if (typeof r.id !== 'string') return undefined
  return {
    kind,
    id: r.id,
    version: typeof r.version?.number === 'number' ? r.version.number : 0,
    status: str(r.status) ?? 'current',
    when: str(r.version?.createdAt),
    title: str(r.title),
    spaceId: str(r.spaceId),
    url: str(r._links?.webui),
    authorId: str(r.version?.authorId)
  }
}

const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined

/** Trashed pages and blog posts (v2 lists, `status=trashed`). */
async function listTrash (call: Call, signal?: AbortSignal): Promise<Found[]> {
  const out: Found[] = []
  for (const kind of ['page', 'blogpost'] as const) {
    let page = await listPage(call, `/wiki/api/v2/${kind === 'page' ? 'pages' : 'blogposts'}`, { status: 'trashed', limit: 250 }, signal)
    for (let n = 0; ; n++) {
      for (const r of page.results) { const f = fromV2(r, kind); if (f !== undefined) out.push(f) }
      if (page.next === undefined || n >= MAX_PAGES) break
      page = await listPage(call, page.next, undefined, signal)
    }
  }
  return out
}

interface NewComment { id: string, version: number, created: string, title?: string, url?: string, authorId?: string, containerId?: string, parentCommentId?: string }

/**
 * Footer and inline comments created since `fromMs` (v2 site-wide lists, newest created first). A comment's
 * `version.createdAt` is its last change, never before its creation: the first one older than `fromMs` ends
 * the walk, as everything after it was created earlier still.
 */
async function listNewComments (call: Call, fromMs: number, signal?: AbortSignal): Promise<NewComment[]> {
  const out: NewComment[] = []
  for (const path of ['/wiki/api/v2/footer-comments', '/wiki/api/v2/inline-comments']) {
    let page = await listPage(call, path, { sort: '-created-date', limit: 250 }, signal)
    walk: for (let n = 0; ; n++) {
      for (const raw of page.results) {
        const r = raw as { id?: unknown, title?: unknown, pageId?: unknown, blogPostId?: unknown, attachmentId?: unknown, parentCommentId?: unknown, version?: { number?: unknown, createdAt?: unknown, authorId?: unknown }, _links?: { webui?: unknown } }
        const changed = str(r.version?.createdAt)
        if (typeof r.id !== 'string' || changed === undefined) continue
        if (Date.parse(changed) < fromMs) break walk
        const version = typeof r.version?.number === 'number' ? r.version.number : 1
        const container = str(r.pageId) ?? str(r.blogPostId) ?? str(r.attachmentId)?.replace(/^att/, '')
        out.push({ id: r.id, version, created: changed, title: str(r.title), url: str(r._links?.webui), authorId: str(r.version?.authorId), containerId: container, parentCommentId: str(r.parentCommentId) })
      }
      if (page.next === undefined || n >= MAX_PAGES) break
      page = await listPage(call, page.next, undefined, signal)
    }
  }
  return out
}

/** A page or blog post that left the trash: current again (restored), or gone for good (undefined). */
async function readCurrent (call: Call, id: string, signal?: AbortSignal): Promise<Found | undefined> {
  for (const kind of ['page', 'blogpost'] as const) {
    const res = await call({ method: 'GET', path: `/wiki/api/v2/${kind === 'page' ? 'pages' : 'blogposts'}/${id}`, signal }, { okStatuses: [404] })
    if (res.status === 404) continue
    const f = fromV2(res.body, kind)
    return f?.status === 'current' ? f : undefined
  }
  return undefined
}
