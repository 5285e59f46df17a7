// One listing page of pages or blog posts → records: each item's ACL (space ∧ own ∧ every ancestor), its
// attachments and footer comments with the container's ACL, what the run has seen (for deletions and the permissions pass) and
// the accounts the ACLs name. Items run a few at a time; records come out in listing order.
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
    if (ctx.kind === 'page' && item.parentId !== undefined) ancestorIds = await ancestorsOf(ctx, item.id)
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
    ancestorIds,
    version: item.version?.number ?? 0,
    updatedAt: item.version?.createdAt ?? '',
    ...(ctx.bodies ? { body: { format: 'storage' as const, value: item.body?.storage?.value ?? '' } } : {}),
    acl
  }
  const records = [{ record: record as CrawlRecord, hash: stateHash(ctx.kind, acl, ancestorIds) }]
  if (ctx.attachments) records.push(...await attachmentsOf(ctx, item.id, acl))
  if (ctx.comments) records.push(...await commentsOf(ctx, record, acl))
  return { records }
}

/** Closest first. v2 answers the highest ancestors first; a long chain is read from its closest end. */
async function ancestorsOf (ctx: PageContext, id: string): Promise<string[]> {
  const res = await ctx.call({ method: 'GET', path: `/wiki/api/v2/pages/${id}/ancestors`, query: { limit: 250 }, signal: ctx.signal })
  const results = (res.body as { results?: Array<{ id?: unknown }> } | null)?.results ?? []
  return results.map((r) => String(r.id)).reverse()
}
