// confluence.content.relabel (async): add and/or remove labels on every page and blog post a CQL query finds,
// with one result per item. Exactly once after a crash, like the bulk membership job: the list of items is
// checkpointed before the first write (so a resumed run works on the same items even though relabelling
// changes what a label query finds), and each item's outcome is checkpointed as it completes, so a resumed run
// skips the items done. An item is one read then only the label writes that change something
// (changeContentLabels), so even an item interrupted between its write and its checkpoint gets no label twice.
// Items outside the alias's managed spaces are results with SPACE_NOT_MANAGED, written nothing.
import { AppError } from '../../errors/app-error'
import { InputInvalidError } from '../../errors/errors'
import type { PaginationSpec } from '../action-definition'
import { buildCql } from '../cql'
import { nextPage, type PageRequest } from '../paginate'
import { changeContentLabels } from './content-write'
import type { HandlerContext, HandlerModule, PrecheckContext } from './types'

interface RelabelInput { cql: string, add?: string[], remove?: string[], maxItems?: number, dryRun?: boolean }
interface Item { id: string, kind: 'page' | 'blogpost' }
interface ItemResult { contentId: string, type: 'page' | 'blogpost', spaceId?: string, added: string[], removed: string[], changed: boolean, error?: { code: string, message: string } }

const SEARCH: PaginationSpec = { style: 'cursor', limitParam: 'limit', defaultLimit: 100, maxLimit: 100 }
const CONCURRENCY = 4
/** Failures that belong to one item; anything else (the connection, Redis) stops the job. */
const PER_ITEM_CODES = new Set(['UPSTREAM_NOT_FOUND', 'UPSTREAM_INVALID', 'UPSTREAM_FORBIDDEN', 'SPACE_NOT_MANAGED'])
const PLAN = 'plan'

function precheck (ctx: PrecheckContext): void {
  const { add = [], remove = [] } = ctx.input as unknown as RelabelInput
  if (add.length + remove.length === 0) throw new InputInvalidError('Give labels to add and/or remove', { errors: [{ path: '', message: 'add or remove must name a label', keyword: 'relabel', params: {} }] })
  const adding = new Set(add.map(l => l.toLowerCase()))
  const both = remove.find(l => adding.has(l.toLowerCase()))
  if (both !== undefined) throw new InputInvalidError(`Label ${both} is both added and removed`, { errors: [{ path: '/remove', message: 'a label may not be added and removed', keyword: 'relabelOverlap', params: { label: both } }] })
}

/** Every page and blog post the CQL finds, up to maxItems (v1 search, cursor pages of 100). */
async function findItems (ctx: HandlerContext, cql: string, maxItems: number): Promise<Item[]> {
  const query = buildCql({ cql, types: ['page', 'blogpost'] }) as string
  const items: Item[] = []
  const seen = new Set<string>()
  let page: PageRequest | undefined = { path: '/wiki/rest/api/search', query: { cql: query, limit: SEARCH.defaultLimit } }
  for (let pages = 0; page !== undefined && items.length < maxItems && pages < 500; pages++) {
    const res = await ctx.call({ method: 'GET', path: page.path, query: page.query, operation: 'searchByCQL' })
    const results = (res.body as { results?: Array<{ content?: { id?: unknown, type?: unknown } } | null> } | null)?.results ?? []
    for (const r of results) {
      const id = r?.content?.id
      const type = r?.content?.type
      if ((typeof id !== 'string' && typeof id !== 'number') || (type !== 'page' && type !== 'blogpost') || seen.has(String(id))) continue
      seen.add(String(id))
      items.push({ id: String(id), kind: type })
      if (items.length >= maxItems) break
    }
    page = results.length === 0 ? undefined : nextPage(SEARCH, page, res.body, res.headers)
  }
  return items
}

async function relabel (ctx: HandlerContext): Promise<unknown> {
  const { cql, add = [], remove = [], maxItems = 1000, dryRun = false } = ctx.input as unknown as RelabelInput
  const job = ctx.job
  const done = job === undefined ? new Map<string, string>() : await job.checkpoint.load()
  let items: Item[]
  const planned = done.get(PLAN)
  if (planned !== undefined) {
    items = JSON.parse(planned) as Item[]
  } else {
    items = await findItems(ctx, cql, maxItems)
    await job?.checkpoint.save(PLAN, JSON.stringify(items))
  }

  const results = new Array<ItemResult>(items.length)
  let finished = 0
  let next = 0
  let stop: unknown
  const runOne = async (i: number): Promise<void> => {
    const item = items[i]
    const saved = done.get(`item:${item.id}`)
    if (saved !== undefined) { results[i] = JSON.parse(saved) as ItemResult; finished++; return }
    let result: ItemResult
    try {
      const o = await changeContentLabels(ctx, { contentId: item.id, kind: item.kind, add, remove, dryRun })
      result = { contentId: item.id, type: item.kind, spaceId: o.spaceId, added: o.added, removed: o.removed, changed: o.changed }
    } catch (err) {
      if (!(err instanceof AppError) || (err.retryable && job !== undefined && !job.finalAttempt) || (!err.retryable && !PER_ITEM_CODES.has(err.code))) { stop ??= err; return }
      result = { contentId: item.id, type: item.kind, added: [], removed: [], changed: false, error: { code: err.code, message: err.message } }
    }
    results[i] = result
    await job?.checkpoint.save(`item:${item.id}`, JSON.stringify(result))
    finished++
    ctx.onProgress?.({ done: finished, total: items.length })
  }
  // Like the membership runner: a failure stops every runner and waits for the items in flight.
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length && stop === undefined && ctx.signal?.aborted !== true) {
      try { await runOne(next++) } catch (err) { stop ??= err }
    }
  }))
  if (ctx.signal?.aborted === true) throw ctx.signal.reason
  if (stop !== undefined) throw stop
  let changed = 0
  let failed = 0
  for (const r of results) { if (r.error !== undefined) failed++; else if (r.changed) changed++ }
  return { results, summary: { total: results.length, changed, unchanged: results.length - changed - failed, failed, dryRun } }
}

export const contentRelabel: HandlerModule = {
  params: { type: 'object', additionalProperties: false },
  precheck,
  run: relabel
}
