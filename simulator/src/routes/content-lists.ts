// Shared machinery of the v2 content lists: candidate orderings, status filters, cursor pages.
import { v2Error, type OpResult } from '../errors'
import { collect, decodeCursor, encodeCursor, nextUrl, v2List } from '../pagination'
import { STATUSES, type ContentStatus, type SiteData } from '../seed'
import { limitOf, type OpContext } from './context'
import { v2Page, type BodyFormat } from '../representations'

export interface Candidates { count: number, at: (position: number) => number }

export const range = (start: number, end: number): Candidates => ({ count: Math.max(0, end - start), at: (p) => start + p })
export const list = (items: ArrayLike<number>): Candidates => ({ count: items.length, at: (p) => items[p] })

/** Applies a v2 `sort` value; id order is the natural order of the candidates. */
export function sorted (site: SiteData, candidates: Candidates, sort: string | undefined): Candidates {
  if (!sort || sort === 'id') return candidates
  if (sort === '-id') return { count: candidates.count, at: (p) => candidates.at(candidates.count - 1 - p) }
  const items = Array.from({ length: candidates.count }, (_, p) => candidates.at(p))
  const desc = sort.startsWith('-')
  const key = desc ? sort.slice(1) : sort
  const compare = key === 'title'
    ? (a: number, b: number) => site.title(a).localeCompare(site.title(b))
    : key === 'created-date'
      ? (a: number, b: number) => site.created[a] - site.created[b] || a - b
      : (a: number, b: number) => site.modified[a] - site.modified[b] || a - b
  items.sort(desc ? (a, b) => compare(b, a) : compare)
  return list(items)
}

export function statusFilter (requested: unknown, defaults: ContentStatus[]): Set<number> {
  const names = Array.isArray(requested) && requested.length > 0 ? requested as ContentStatus[] : defaults
  return new Set(names.map((s) => STATUSES.indexOf(s)))
}

/** One page of a v2 cursor list, with `_links.next` and the `Link` header. */
export function cursorPage (ctx: OpContext, candidates: Candidates, accept: (c: number) => boolean, render: (c: number) => unknown,
  defaultLimit = 25, kind: 'core' | 'identity' = 'core'): OpResult {
  const position = decodeCursor(ctx.query.cursor)
  if (position === undefined) return v2Error(400, 'Invalid cursor')
  const limit = limitOf(ctx.query, defaultLimit, 250)
  const page = collect(candidates.count, candidates.at, accept, position, limit)
  const next = page.next === undefined ? undefined : nextUrl(ctx.sitePath, ctx.rawQuery, { cursor: encodeCursor(page.next) })
  const { body, headers } = v2List(ctx.site.base, page.items.map(render), next)
  return { status: 200, body, headers, objects: { [kind]: page.items.length } }
}

/**
 * GET /pages and /blogposts: the candidates (by `id` when given, else every item of the kind, sorted as asked)
 * and a filter for the `space-id` query parameter.
 */
export function contentOfKind (ctx: OpContext, kind: 'page' | 'blogpost'): { candidates: Candidates, inSpaces: (c: number) => boolean } {
  const site = ctx.site
  const ids = ctx.query.id as number[] | undefined
  const spaceIds = ctx.query['space-id'] as number[] | undefined
  const all = kind === 'page' ? range(0, site.pageCount) : range(site.pageCount, site.pageCount + site.blogCount)
  const chosen = ids ? list(ids.map((id) => site.contentIndex(id, kind)).filter((c) => c !== -1).sort((a, b) => a - b)) : all
  const spaces = spaceIds ? new Set(spaceIds.map((id) => site.spaceById.get(String(id))?.index)) : undefined
  return { candidates: sorted(site, chosen, ctx.query.sort), inSpaces: (c) => !spaces || spaces.has(site.space[c]) }
}

/** A cursor page of v2 pages or blog posts: status (default `defaults`), `title`, `extra`, and read access. */
export function listContent (ctx: OpContext, candidates: Candidates, extra: (c: number) => boolean, defaults: ContentStatus[]): OpResult {
  const site = ctx.site
  const statuses = statusFilter(ctx.query.status, defaults)
  const title = ctx.query.title as string | undefined
  const format = ctx.query['body-format'] as BodyFormat | undefined
  const reader = ctx.reader()
  return cursorPage(ctx, candidates,
    (c) => statuses.has(site.status[c]) && extra(c) && (title === undefined || site.title(c) === title) && reader.canRead(c),
    (c) => v2Page(site, c, format))
}
