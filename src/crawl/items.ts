// One listing page of pages or blog posts → records: each item's ACL (space ∧ own ∧ every ancestor, folders
// included), its attachments and comments (footer and inline, and the attachments' own) with the container's ACL, what the run has seen
// (for deletions and the permissions pass) and the accounts the ACLs name. Items run a few at a time; records
// come out in listing order.
import type { HandlerContext } from '../actions/handlers/types'
import { AppError } from '../errors/app-error'
import { composeAcl, namedAccounts, nobody, type Acl, type AclClause, type Layer } from './acl'
import { field, segment, type RestrictionReader } from './layers'
import { aclPartOf, attachmentsOf, commentsOf, sameState, stateHash, type Hashed } from './children'
import type { AttachmentRecord, CommentRecord, ContentRecord, CrawlRecord } from './types'
import { bodyFields, type BodyFormat } from './convert'

const CONCURRENCY = 8

export interface V2Content {
  id: string
  status?: string
  title?: string
  spaceId?: string
  parentId?: string | null
  parentType?: string
  authorId?: string
  createdAt?: string
  version?: { number?: number, createdAt?: string }
  body?: { storage?: { value?: string } }
  _links?: { webui?: string }
}

export interface PageContext {
  call: HandlerContext['call']
  signal?: AbortSignal
  kind: 'page' | 'blogpost'
  space: { id: string, key: string, clause: AclClause }
  siteUrl: string
  restrictions: RestrictionReader
  bodies: boolean
  /** `mark` (the default): archived pages are exported with `status: "archived"` (the records then all carry `status`) */
  archived?: 'mark' | 'delete'
  /** besides storage: plain text and/or Markdown, converted here */
  bodyFormats?: BodyFormat[]
  attachments: boolean
  comments: boolean
  /** footer comments of each exported attachment (with `attachments` and `comments`) */
  attachmentComments: boolean
  /** permissions pass: emit only items whose stored hash differs */
  known?: (ids: string[]) => Promise<Array<string | null>>
  /** any run: the stored values, read only to tell whose effective ACL changed (`aclChanged`); `known` serves for both */
  previous?: (ids: string[]) => Promise<Array<string | null>>
}

/** An exported item whose effective ACL differs from the one this scope stored (a restriction edited, a move). */
export interface AclChanged { record: ContentRecord | AttachmentRecord | CommentRecord, acl: Acl, digests: { before: string, after: string } }

export interface PageOutcome {
  records: CrawlRecord[]
  seen: Array<[string, string]>
  /** listed items found gone (emitted as deleted here: the stored state forgets them at once) */
  gone: string[]
  accounts: string[]
  errors: string[]
  /** items exported fail-closed (or skipped) because something about them could not be read: retried next run */
  failed: Array<{ id: string, kind: string, code: string }>
  /** items processed (emitted or not) by kind */
  processed: Record<string, number>
  /** with `known` or `previous`: items stored with another ACL (never on a scope's first run: nothing stored) */
  aclChanged: AclChanged[]
}

/** What one listed item came to: its records, or gone (its own restriction and a read of it said so). */
type ItemOutcome = { records: Hashed[] } | { gone: true }

/** Whether a failure pauses or stops the run (rate limit, cancel, the connection's authorization) rather than costing one item. */
export function propagatesFrom (err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted === true) return true
  return err instanceof AppError && (err.code === 'UPSTREAM_RATE_LIMITED' || err.code === 'CONNECTION_NOT_AUTHORIZED')
}

export async function processPage (ctx: PageContext, items: V2Content[]): Promise<PageOutcome> {
  const out: PageOutcome = { records: [], seen: [], gone: [], accounts: [], errors: [], failed: [], processed: {}, aclChanged: [] }
  const perItem: ItemOutcome[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length) { const i = next++; perItem[i] = await processOne(ctx, items[i], out) }
  }))
  const gone: CrawlRecord[] = []
  perItem.forEach((p, i) => {
    if ('gone' in p) { gone.push({ recordId: `${ctx.kind}:${items[i].id}`, kind: 'deleted', id: String(items[i].id), contentKind: ctx.kind }); out.gone.push(String(items[i].id)) }
  })
  const flat = perItem.flatMap((p) => 'records' in p ? p.records : [])
  const stored = ctx.known ?? ctx.previous
  const before = stored === undefined ? undefined : await stored(flat.map((r) => (r.record as { id: string }).id))
  const known = ctx.known === undefined ? undefined : before
  const unknown: ContentRecord[] = []
  flat.forEach(({ record, hash }, i) => {
    const id = (record as { id: string }).id
    const was = aclPartOf(before?.[i])
    const now = aclPartOf(hash)
    // an item that failed (exported readable by nobody for now) keeps the ACL digest it had: its next good
    // read is compared with the last ACL known, not with a read error
    out.seen.push([id, now === undefined && was !== undefined ? `${hash}|${was}` : hash])
    if (was !== undefined && now !== undefined && was !== now && 'acl' in record && record.acl !== undefined) out.aclChanged.push({ record: record as AclChanged['record'], acl: record.acl, digests: { before: was, after: now } })
    out.processed[record.kind] = (out.processed[record.kind] ?? 0) + 1
    if (known === undefined || !sameState(known[i], hash)) out.records.push(record)
    // new to the stored state in a pass without bodies (restored, or a restriction lifted: no version bump, so
    // no incremental run saw it): it arrives with its body all the same
    if (known !== undefined && known[i] === null && (record.kind === 'page' || record.kind === 'blogpost' || record.kind === 'comment')) unknown.push(record as ContentRecord)
  })
  for (const record of unknown) await withBody(ctx, record, out)
  out.records.push(...gone)
  return out
}

/** Reads the body of one record that has none (storage format); a failure leaves it without (counted). */
async function withBody (ctx: PageContext, record: ContentRecord | CommentRecord, out: PageOutcome): Promise<void> {
  const path = record.kind === 'comment'
    ? `/wiki/api/v2/${(record as CommentRecord).commentType}-comments/${segment(record.id)}`
    : `/wiki/api/v2/${record.kind === 'page' ? 'pages' : 'blogposts'}/${segment(record.id)}`
  try {
    const res = await ctx.call({ method: 'GET', path, query: { 'body-format': 'storage' }, signal: ctx.signal })
    const value = field(field(field(res.body, 'body'), 'storage'), 'value')
    Object.assign(record, bodyFields(typeof value === 'string' ? value : '', ctx.bodyFormats))
  } catch (err) {
    if (propagatesFrom(err, ctx.signal)) throw err
    out.errors.push(err instanceof AppError ? err.code : 'INTERNAL')
  }
}

/** One item; whatever fails about it costs this item only (exported readable by nobody, counted, listed). */
async function processOne (ctx: PageContext, listed: V2Content, out: PageOutcome): Promise<ItemOutcome> {
  // a listed entry without an id names nothing we can export or protect: counted, skipped
  if ((typeof listed?.id !== 'string' && typeof listed?.id !== 'number') || listed.id === '') { out.errors.push('ITEM_INCOMPLETE'); return { records: [] } }
  const item = { ...listed, id: String(listed.id) }
  try {
    return await processItem(ctx, item, out)
  } catch (err) {
    if (propagatesFrom(err, ctx.signal)) throw err
    const code = err instanceof AppError ? err.code : 'INTERNAL'
    out.errors.push(code)
    out.failed.push({ id: String(item.id), kind: ctx.kind, code })
    // its children could not all be read: the item is exported readable by nobody, its children are not
    // (a complete listing then deletes those stored; the next run reads them again)
    const acl = nobody(ctx.space.clause, String(item.id))
    const record = contentRecord(ctx, item, { ancestors: [], acl, parent: undefined })
    return { records: [{ record, hash: `${ctx.kind}|failed` }] }
  }
}

async function processItem (ctx: PageContext, item: V2Content, out: PageOutcome): Promise<ItemOutcome> {
  let chain: Ancestor[] = []
  const layers: Layer[] = []
  // The item's own restriction, its ancestors and then theirs are read at once, not one after another:
  // a crawl keeps the site's budget busy only with enough requests in flight.
  const own = ctx.restrictions.layer(item.id, ctx.kind)
  own.catch(() => {}) // (awaited below; a failure of the ancestors call must not leave it unhandled)
  let chainRead = false
  try {
    // a page says `parentId: null` at the root; anything else (a parent, or nothing said: sparse answers)
    // is settled by reading the chain, never by assuming the root
    if (ctx.kind === 'page' && item.parentId !== null) {
      const read = await ancestorsOf(ctx, item.id)
      if (typeof read === 'string') layers.push({ id: item.id, state: 'error', code: read }); else { chain = read; chainRead = true }
    } else chainRead = true
  } catch (err) {
    // the chain cannot be known: fail closed, never fall back to the space's readers
    if (propagatesFrom(err, ctx.signal) || !(err instanceof AppError)) throw err
    layers.push({ id: item.id, state: 'error', code: err.code })
  }
  const ownLayer = await own
  // its own restriction answered 404 and a read of the item confirmed it is gone (trashed, purged, a draft)
  if (ownLayer.state === 'gone' || ownLayer.state === 'missing') return { gone: true }
  layers.unshift(ownLayer)
  layers.push(...await Promise.all(chain.map(async (a) => await ctx.restrictions.layer(a.id, a.type))))
  const { acl, error } = composeAcl(ctx.space.clause, layers)
  if (error !== undefined) out.errors.push(error.code)
  out.accounts.push(...namedAccounts(acl))
  const ancestorIds = chain.map((a) => a.id)
  const parent = ctx.kind !== 'page' ? undefined : chainRead ? chain[0] ?? null : undefined
  const record = contentRecord(ctx, item, { ancestors: ancestorIds, acl, parent })
  // (an archived item's hash differs from its current one, so a permissions pass notices an archive or a restore)
  const records: Hashed[] = [{ record: record as CrawlRecord, hash: stateHash(ctx.kind, acl, record.status === 'archived' ? [...ancestorIds, 'archived'] : ancestorIds) }]
  const attachments = ctx.attachments ? await attachmentsOf(ctx, item.id, acl, { spaceId: record.spaceId, spaceKey: record.spaceKey, containerType: ctx.kind, ancestorIds }) : []
  records.push(...attachments)
  const at = { spaceId: record.spaceId, spaceKey: record.spaceKey }
  if (ctx.comments) records.push(...await commentsOf(ctx, { type: ctx.kind, id: item.id, ...at, ancestorIds }, acl))
  if (ctx.attachmentComments) {
    for (const a of attachments) records.push(...await commentsOf(ctx, { type: 'attachment', id: (a.record as { id: string }).id, ...at, ancestorIds: [item.id, ...ancestorIds] }, acl))
  }
  return { records }
}

/**
 * A page's or blog post's record. `parent`: the closest ancestor from the chain, null at the root (sent as
 * null, so a receiver that merges drops a stale parent), undefined when the chain is unknown (the answer's
 * own parentId then, or null).
 */
function contentRecord (ctx: PageContext, item: V2Content, at: { ancestors: string[], acl: Acl, parent: Ancestor | null | undefined }): ContentRecord {
  const parentId = at.parent === undefined ? (typeof item.parentId === 'string' ? item.parentId : null) : at.parent?.id ?? null
  const parentType = at.parent === undefined ? (typeof item.parentType === 'string' ? item.parentType : undefined) : at.parent?.type
  return {
    recordId: `${ctx.kind}:${item.id}`,
    kind: ctx.kind,
    id: String(item.id),
    spaceId: ctx.space.id,
    spaceKey: ctx.space.key,
    title: typeof item.title === 'string' ? item.title : '',
    url: `${ctx.siteUrl}/wiki${typeof item._links?.webui === 'string' ? item._links.webui : ''}`,
    ...(ctx.kind === 'page' ? { parentId } : {}),
    ...(ctx.kind === 'page' && parentId !== null && parentType !== undefined ? { parentType } : {}),
    ancestorIds: at.ancestors,
    ...(ctx.archived !== 'delete' ? { status: item.status === 'archived' ? 'archived' as const : 'current' as const } : {}),
    version: typeof item.version?.number === 'number' ? item.version.number : 0,
    updatedAt: typeof item.version?.createdAt === 'string' ? item.version.createdAt : '',
    ...(typeof item.authorId === 'string' ? { authorId: item.authorId } : {}),
    ...(typeof item.createdAt === 'string' ? { createdAt: item.createdAt } : {}),
    ...(ctx.bodies ? bodyFields(typeof item.body?.storage?.value === 'string' ? item.body.storage.value : '', ctx.bodyFormats) : {}),
    acl: at.acl
  }
}

const ANCESTORS_LIMIT = 250
/** Where the ancestors of each v2 AncestorType are read (a chain continues from its highest entry). */
const ANCESTORS_OF: Record<string, string> = { page: 'pages', folder: 'folders', whiteboard: 'whiteboards', database: 'databases', embed: 'embeds' }
/** A chain longer than this is not real; stop rather than spin (undefined: the item then fails closed). */
const MAX_ANCESTORS = 5_000

interface Ancestor { id: string, type: string }

/**
 * Pages and folders above a page, closest first (or the code of why the chain cannot be known). v2 answers the closest `limit` ancestors, highest first;
 * a longer chain continues from the highest one returned, through the ancestors endpoint of its type
 * (`folders/{id}/ancestors` for a folder).
 */
async function ancestorsOf (ctx: PageContext, id: string): Promise<Ancestor[] | string> {
  const chain: Ancestor[] = []
  for (let from = { id, type: 'page' }; ;) {
    const res = await ctx.call({ method: 'GET', path: `/wiki/api/v2/${ANCESTORS_OF[from.type] ?? 'pages'}/${segment(from.id)}/ancestors`, query: { limit: ANCESTORS_LIMIT }, signal: ctx.signal })
    const list = field(res.body, 'results')
    if (!Array.isArray(list)) return 'ANCESTORS_INCOMPLETE'
    const results: Ancestor[] = []
    for (const r of list) {
      const rid = field(r, 'id')
      const type = field(r, 'type')
      // an entry without its id (or a null) is a link of the chain we cannot name: the chain is not exact
      if ((typeof rid !== 'string' && typeof rid !== 'number') || rid === '') return 'ANCESTORS_INCOMPLETE'
      results.push({ id: String(rid), type: typeof type === 'string' ? type : 'page' })
    }
    chain.push(...[...results].reverse())
    if (results.length < ANCESTORS_LIMIT) return chain
    if (chain.length >= MAX_ANCESTORS) return 'ANCESTORS_TOO_LONG'
    from = results[0]
  }
}
