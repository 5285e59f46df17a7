// One listing page of pages or blog posts → records: each item's ACL (space ∧ own ∧ every ancestor, folders
// included), its attachments and comments (footer and inline, and the attachments' own) with the container's ACL, what the run has seen
// (for deletions and the permissions pass) and the accounts the ACLs name. Items run a few at a time; records
// come out in listing order.
import type { HandlerContext } from '../actions/handlers/types'
import { AppError } from '../errors/app-error'
import { composeAcl, namedAccounts, type AclClause, type Layer } from './acl'
import type { RestrictionReader } from './layers'
import { attachmentsOf, commentsOf, stateHash } from './children'
import type { ContentRecord, CrawlRecord } from './types'

const CONCURRENCY = 8

export interface V2Content {
  id: string
  status?: string
  title?: string
  spaceId?: string
  parentId?: string
  parentType?: string
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
  attachments: boolean
  comments: boolean
  /** footer comments of each exported attachment (with `attachments` and `comments`) */
  attachmentComments: boolean
  /** permissions pass: emit only items whose stored hash differs */
  known?: (ids: string[]) => Promise<Array<string | null>>
}

export interface PageOutcome {
  records: CrawlRecord[]
  seen: Array<[string, string]>
  accounts: string[]
  errors: string[]
  /** items processed (emitted or not) by kind */
  processed: Record<string, number>
}

export async function processPage (ctx: PageContext, items: V2Content[]): Promise<PageOutcome> {
  const out: PageOutcome = { records: [], seen: [], accounts: [], errors: [], processed: {} }
  const perItem: Array<{ records: Array<{ record: CrawlRecord, hash: string }> }> = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length) { const i = next++; perItem[i] = await processItem(ctx, items[i], out) }
  }))
  const flat = perItem.flatMap((p) => p.records)
  const known = ctx.known === undefined ? undefined : await ctx.known(flat.map((r) => (r.record as { id: string }).id))
  flat.forEach(({ record, hash }, i) => {
    const id = (record as { id: string }).id
    out.seen.push([id, hash])
    out.processed[record.kind] = (out.processed[record.kind] ?? 0) + 1
    if (known === undefined || known[i] !== hash) out.records.push(record)
  })
  return out
}

async function processItem (ctx: PageContext, item: V2Content, out: PageOutcome): Promise<{ records: Array<{ record: CrawlRecord, hash: string }> }> {
  let ancestorIds: string[] = []
  const layers: Layer[] = []
  // The item's own restriction, its ancestors and then theirs are read at once, not one after another:
  // a crawl keeps the site's budget busy only with enough requests in flight.
  const own = ctx.restrictions.layer(item.id)
  own.catch(() => {}) // (awaited below; a failure of the ancestors call must not leave it unhandled)
  try {
    if (ctx.kind === 'page' && item.parentId !== undefined) {
      const chain = await ancestorsOf(ctx, item.id)
      if (chain === undefined) layers.push({ id: item.id, state: 'error', code: 'ANCESTORS_TOO_LONG' }); else ancestorIds = chain
    }
  } catch (err) {
    // the chain cannot be known: fail closed, never fall back to the space's readers
    if (!(err instanceof AppError) || err.code === 'UPSTREAM_RATE_LIMITED' || ctx.signal?.aborted === true) throw err
    layers.push({ id: item.id, state: 'error', code: err.code })
  }
  layers.push(...await Promise.all([own, ...ancestorIds.map(async (a) => await ctx.restrictions.layer(a))]))
  const { acl, error } = composeAcl(ctx.space.clause, layers)
  if (error !== undefined) out.errors.push(error.code)
  out.accounts.push(...namedAccounts(acl).filter((a) => !ctx.space.clause.anyOf.some((p) => p.type === 'user' && p.accountId === a)))
  const record: ContentRecord = {
    recordId: `${ctx.kind}:${item.id}`,
    kind: ctx.kind,
    id: item.id,
    spaceId: ctx.space.id,
    spaceKey: ctx.space.key,
    title: item.title ?? '',
    url: `${ctx.siteUrl}/wiki${item._links?.webui ?? ''}`,
    ...(item.parentId !== undefined ? { parentId: item.parentId } : {}),
    ...(item.parentId !== undefined && typeof item.parentType === 'string' ? { parentType: item.parentType } : {}),
    ancestorIds,
    version: item.version?.number ?? 0,
    updatedAt: item.version?.createdAt ?? '',
    ...(ctx.bodies ? { body: { format: 'storage' as const, value: item.body?.storage?.value ?? '' } } : {}),
    acl
  }
  const records = [{ record: record as CrawlRecord, hash: stateHash(ctx.kind, acl, ancestorIds) }]
  const attachments = ctx.attachments ? await attachmentsOf(ctx, item.id, acl) : []
  records.push(...attachments)
  const at = { spaceId: record.spaceId, spaceKey: record.spaceKey }
  if (ctx.comments) records.push(...await commentsOf(ctx, { type: ctx.kind, id: item.id, ...at, ancestorIds }, acl))
  if (ctx.attachmentComments) {
    for (const a of attachments) records.push(...await commentsOf(ctx, { type: 'attachment', id: (a.record as { id: string }).id, ...at, ancestorIds: [item.id, ...ancestorIds] }, acl))
  }
  return { records }
}

const ANCESTORS_LIMIT = 250
/** Where the ancestors of each v2 AncestorType are read (a chain continues from its highest entry). */
const ANCESTORS_OF: Record<string, string> = { page: 'pages', folder: 'folders', whiteboard: 'whiteboards', database: 'databases', embed: 'embeds' }
/** A chain longer than this is not real; stop rather than spin (undefined: the item then fails closed). */
const MAX_ANCESTORS = 5_000

/**
 * Pages and folders above a page, closest first. v2 answers the closest `limit` ancestors, highest first;
 * a longer chain continues from the highest one returned, through the ancestors endpoint of its type
 * (`folders/{id}/ancestors` for a folder).
 */
async function ancestorsOf (ctx: PageContext, id: string): Promise<string[] | undefined> {
  const chain: string[] = []
  for (let from = { id, type: 'page' }; ;) {
    const res = await ctx.call({ method: 'GET', path: `/wiki/api/v2/${ANCESTORS_OF[from.type] ?? 'pages'}/${from.id}/ancestors`, query: { limit: ANCESTORS_LIMIT }, signal: ctx.signal })
    const results = ((res.body as { results?: Array<{ id?: unknown, type?: unknown }> } | null)?.results ?? []).map((r) => ({ id: String(r.id), type: String(r.type ?? 'page') }))
    chain.push(...results.map((r) => r.id).reverse())
    if (results.length < ANCESTORS_LIMIT) return chain
    if (chain.length >= MAX_ANCESTORS) return undefined
    from = results[0]
  }
}
