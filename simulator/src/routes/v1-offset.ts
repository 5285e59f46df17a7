// v1 offset pagination (`start`/`limit`), used by the group and user lists.
import { v1Error, type OpResult } from '../errors'
import { nextUrl } from '../pagination'
import type { OpContext } from './context'

export const V1_MAX_LIMIT = 200

/** The page of `items` at `start`, in the v1 array envelope; `limit` above 200 is a 400 as in Confluence. */
export function offsetPage<T> (ctx: OpContext, items: T[], render: (item: T) => unknown, kind: 'core' | 'identity' = 'identity'): OpResult {
  const start = typeof ctx.query.start === 'number' ? ctx.query.start : 0
  const limit = typeof ctx.query.limit === 'number' ? ctx.query.limit : V1_MAX_LIMIT
  if (limit > V1_MAX_LIMIT) return v1Error(400, `Maximum limit allowed is ${V1_MAX_LIMIT}`, false)
  const slice = items.slice(start, start + limit)
  const relativePath = ctx.sitePath.replace(/^\/wiki/, '')
  const links: Record<string, string> = { base: ctx.site.base, context: '/wiki', self: `${ctx.site.base}${relativePath}` }
  if (start + limit < items.length) links.next = nextUrl(relativePath, ctx.rawQuery, { start: String(start + limit), limit: String(limit) })
  const body: Record<string, unknown> = { results: slice.map(render), start, limit, size: slice.length, _links: links }
  if (ctx.query.shouldReturnTotalSize === true) body.totalSize = items.length
  return { status: 200, body, objects: { [kind]: slice.length } }
}
