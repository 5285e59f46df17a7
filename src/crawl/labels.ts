// Labels on page, blog post and attachment records, at the fewest requests: one v1 CQL search per 100
// records (`id in (...)`, `expand=metadata.labels`) gives the labels of every item it finds; an item it does
// not return (search index lag, archived pages, which search does not show) or whose label list is cut short
// is read on its own (v2 `GET /pages|blogposts|attachments/{id}/labels`, paged). Attachment ids are numeric
// there and in CQL (the `att` prefix of v2 attachment ids left off). Labels widen no access, so an item whose labels
// cannot be read completely is still exported, with `labels: null`, and counted LABELS_UNREADABLE.
import type { HandlerContext } from '../actions/handlers/types'
import { AppError } from '../errors/app-error'
import { propagatesFrom } from './items'
import { segment } from './layers'
import { eachPage, listPage, type ListPage } from './listing'
import type { CrawlRecord } from './types'

type Call = HandlerContext['call']
const CHUNK = 100

/** What the v1 answer says of one item's labels: the names, or undefined when the list is not complete and exact. */
function v1Labels (metadata: unknown): string[] | undefined {
  const arr = (metadata as { labels?: unknown } | null | undefined)?.labels as { results?: unknown, size?: unknown, _links?: { next?: unknown } } | null | undefined
  if (arr === null || typeof arr !== 'object' || !Array.isArray(arr.results)) return undefined
  if (typeof arr._links?.next === 'string' && arr._links.next !== '') return undefined
  if (typeof arr.size === 'number' && arr.size !== arr.results.length) return undefined
  return names(arr.results)
}

function names (results: unknown[]): string[] | undefined {
  const out: string[] = []
  for (const l of results) {
    const name = l !== null && typeof l === 'object' ? (l as { name?: unknown }).name : undefined
    if (typeof name !== 'string' || name === '') return undefined
    out.push(name)
  }
  return out
}

/** An id as CQL and the v2 label reads take it (an attachment's without its `att` prefix). */
const plain = (id: string): string => id.replace(/^att/, '')

/** Sets `labels` on the page, blog post and attachment records given; returns how many could not be read (then `labels: null`). */
export async function attachLabels (call: Call, signal: AbortSignal | undefined, records: CrawlRecord[]): Promise<number> {
  const targets = records.filter((r): r is CrawlRecord & { kind: 'page' | 'blogpost' | 'attachment', id: string, labels?: string[] | null } => r.kind === 'page' || r.kind === 'blogpost' || r.kind === 'attachment')
  if (targets.length === 0) return 0
  const found = new Map<string, string[]>()
  for (let i = 0; i < targets.length; i += CHUNK) {
    const ids = targets.slice(i, i + CHUNK).map((r) => plain(r.id)).filter((id) => /^[0-9]+$/.test(id))
    if (ids.length === 0) continue
    try {
      let page: ListPage | undefined = await listPage(call, '/wiki/rest/api/content/search', { cql: `id in (${ids.join(',')})`, expand: ['metadata.labels'], limit: CHUNK }, signal)
      for (let n = 0; page !== undefined && n < 100; n++) {
        for (const c of page.results) {
          const id = c !== null && typeof c === 'object' ? (c as { id?: unknown }).id : undefined
          const labels = v1Labels((c as { metadata?: unknown } | null)?.metadata)
          if ((typeof id === 'string' || typeof id === 'number') && labels !== undefined) found.set(plain(String(id)), labels)
        }
        page = page.next === undefined ? undefined : await listPage(call, page.next, undefined, signal)
      }
    } catch (err) {
      // the search failing costs its items a read each, not their labels
      if (propagatesFrom(err, signal) || !(err instanceof AppError)) throw err
    }
  }
  let unreadable = 0
  for (const r of targets) {
    let labels = found.get(plain(r.id))
    // (the label reads take numeric ids only: an item with another id cannot have its labels read)
    if (labels === undefined && /^[0-9]+$/.test(plain(r.id))) labels = await readLabels(call, signal, `${r.kind === 'blogpost' ? 'blogposts' : `${r.kind}s`}`, plain(r.id))
    if (labels === undefined) unreadable++
    r.labels = labels === undefined ? null : [...new Set(labels)].sort()
  }
  return unreadable
}

/** One item's labels, every page of them; undefined when any answer fails or is not exact. */
async function readLabels (call: Call, signal: AbortSignal | undefined, collection: string, id: string): Promise<string[] | undefined> {
  const out: string[] = []
  let complete = true
  try {
    await eachPage(call, `/wiki/api/v2/${collection}/${segment(id)}/labels`, { limit: 250 }, signal, async (results) => {
      const got = names(results)
      if (got === undefined) complete = false; else out.push(...got)
    })
  } catch (err) {
    if (propagatesFrom(err, signal) || !(err instanceof AppError)) throw err
    return undefined
  }
  return complete ? out : undefined
}
