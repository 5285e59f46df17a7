// Cursor-paged v2 lists: one page at a time (the crawl checkpoints between pages), following `_links.next`
// only on the same site (the client refuses any other origin).
import type { HandlerContext } from '../actions/handlers/types'
import type { QueryValue } from '../confluence/types'

type Call = HandlerContext['call']

export interface ListPage { results: unknown[], next?: string }

/** One page: `from` is a path with its query, or a `_links.next` value from the previous page. */
export async function listPage (call: Call, from: string, query: Record<string, QueryValue> | undefined, signal?: AbortSignal): Promise<ListPage> {
  const res = await call({ method: 'GET', path: from, query, signal })
  const body = res.body as { results?: unknown[], _links?: { next?: string } } | null
  const next = body?._links?.next
  return { results: Array.isArray(body?.results) ? body.results : [], next: typeof next === 'string' && next !== '' ? siteRelative(next) : undefined }
}

/** v2 `next` links are site-relative (`/wiki/api/v2/...`); the client prefixes the gateway base. */
function siteRelative (next: string): string {
  if (/^https?:\/\//i.test(next)) return next
  return next.startsWith('/wiki/') ? next : `/wiki${next.startsWith('/') ? '' : '/'}${next}`
}

/** Every page, for small lists (space permissions, a container's attachments). */
export async function eachPage (call: Call, path: string, query: Record<string, QueryValue>, signal: AbortSignal | undefined, onPage: (results: unknown[]) => Promise<void>): Promise<void> {
  let page = await listPage(call, path, query, signal)
  for (let n = 0; ; n++) {
    await onPage(page.results)
    if (page.next === undefined || n > 10_000) return
    page = await listPage(call, page.next, undefined, signal)
  }
}
