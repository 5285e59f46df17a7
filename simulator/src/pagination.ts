// Confluence's three pagination styles: v2 cursors (`Link` header + `_links.next`), v1 search cursors
// (`_links.next` relative to `_links.base`) and v1 offsets (`start`/`limit`). Cursors are opaque to callers
// and encode a position in the ordered candidate list.

const CURSOR_PREFIX = 'sim1:'

export function encodeCursor (position: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${position}`).toString('base64url')
}

/** Position encoded in a cursor; undefined when the cursor is not one of ours. */
export function decodeCursor (cursor: string | undefined): number | undefined {
  if (cursor === undefined) return 0
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!text.startsWith(CURSOR_PREFIX)) return undefined
  const position = Number(text.slice(CURSOR_PREFIX.length))
  return Number.isInteger(position) && position >= 0 ? position : undefined
}

/**
 * Walks candidates from `position`, keeping the first `limit` accepted ones. `next` is the position to resume
 * from, present only when at least one more accepted candidate exists (so the last page has no next link).
 */
export function collect (count: number, at: (position: number) => number, accept: (item: number) => boolean, position: number, limit: number): { items: number[], next?: number } {
  const items: number[] = []
  let p = position
  for (; p < count && items.length < limit; p++) {
    const item = at(p)
    if (accept(item)) items.push(item)
  }
  for (let q = p; q < count; q++) if (accept(at(q))) return { items, next: p }
  return { items }
}

/** Relative URL of the same request with the cursor replaced, as v2 puts in `_links.next`. */
export function nextUrl (sitePath: string, query: URLSearchParams, changes: Record<string, string>): string {
  const params = new URLSearchParams(query)
  for (const [k, v] of Object.entries(changes)) params.set(k, v)
  return `${sitePath}?${params.toString()}`
}

/** The v2 list envelope and its `Link` header. */
export function v2List (base: string, results: unknown[], next: string | undefined): { body: unknown, headers: Record<string, string> } {
  const links = next ? `<${next}>; rel="next", <${base}>; rel="base"` : `<${base}>; rel="base"`
  return { body: { results, _links: next ? { next, base } : { base } }, headers: { Link: links } }
}
