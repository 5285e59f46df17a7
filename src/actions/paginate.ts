// Pagination mechanics: reading Confluence's next links, and the opaque cursors handed to clients.
// A "page request" is a gateway path (`/wiki/...`) plus its query. Next links are only ever followed on
// the same path as the first request, so neither Confluence nor a forged cursor can steer a call elsewhere.
import type { QueryValue } from '../confluence/types'
import type { PaginationSpec } from './action-definition'

export type Query = Record<string, QueryValue>

export interface PageRequest { path: string, query: Query }

/** Where the client resumes: a page request, and how many items of that page it has already received. */
export interface ResumePoint { page: PageRequest, skip: number }

/** A response's next link did not make sense (upstream protocol problem). */
export class BadNextLinkError extends Error {
  constructor (message: string) { super(message); this.name = 'BadNextLinkError' }
}

/** A cursor given by the client is not one this action issued. */
export class BadCursorError extends Error {
  constructor (message: string) { super(message); this.name = 'BadCursorError' }
}

/**
 * Links up to this length are followed as given. A longer one (a long CQL, percent-encoded: ~1,300 CJK
 * characters are ~12,000) is followed by its cursor: the request Confluence already accepted, with the link's
 * short parameters (cursor, next, start, limit) applied, so the next URL is never longer than the first.
 */
const MAX_LINK_LENGTH = 8192
/** A parameter value of a long link longer than this is not taken from the link: it must be one we sent. */
const MAX_CURSOR_PARAM_LENGTH = 1024
/** Past this, a link is not parsed at all. */
const MAX_LONG_LINK_LENGTH = 1 << 20

/**
 * The next page of a response, or undefined on the last page. Cursor style: `_links.next`, else the
 * `Link` header's rel="next". Offset style: `start + limit` while `_links.next` says there is more
 * (or `totalSize` does), keeping every other parameter and the page size.
 */
export function nextPage (spec: PaginationSpec, current: PageRequest, body: unknown, headers: Record<string, string>): PageRequest | undefined {
  const links = (body !== null && typeof body === 'object') ? (body as { _links?: unknown })._links : undefined
  const next = (links !== null && typeof links === 'object') ? (links as { next?: unknown }).next : undefined
  if (spec.style === 'offset') {
    const b = body as { start?: unknown, limit?: unknown, totalSize?: unknown }
    const start = typeof b.start === 'number' ? b.start : Number(current.query[spec.startParam ?? 'start'] ?? 0)
    const limit = Number(current.query[spec.limitParam])
    const more = next !== undefined || (typeof b.totalSize === 'number' && b.totalSize > 0 && start + limit < b.totalSize)
    if (!more) return undefined
    if (!Number.isSafeInteger(start) || start < 0) throw new BadNextLinkError('the page has no usable "start"')
    return { path: current.path, query: { ...current.query, [spec.startParam ?? 'start']: start + limit } }
  }
  let link: unknown = next
  if (link === undefined && headers.link !== undefined) link = linkHeaderNext(headers.link)
  if (link === undefined) return undefined
  return parseLink(link, current.path, current.query)
}

/** rel="next" of an RFC 8288 Link header. */
export function linkHeaderNext (header: string): string | undefined {
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part)
    if (m && /(^|;)\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2])) return m[1]
  }
  return undefined
}

/**
 * A next link as a page request on `expectedPath`. v2 links are `/wiki/api/v2/...`; v1 links are relative
 * to the `/wiki` context (`/rest/api/...`); absolute links keep only their path and query.
 */
export function parseLink (link: unknown, expectedPath: string, current?: Query): PageRequest {
  const long = typeof link === 'string' && link.length > MAX_LINK_LENGTH
  if (typeof link !== 'string' || link === '' || link.length > MAX_LONG_LINK_LENGTH || (long && current === undefined)) throw new BadNextLinkError('the next link is not a usable string')
  let url: URL
  try {
    url = /^https?:\/\//i.test(link) ? new URL(link) : new URL(link.startsWith('/') ? link : `/${link}`, 'http://relative.invalid')
  } catch {
    throw new BadNextLinkError('the next link is not a URL')
  }
  let path = url.pathname
  if (!path.startsWith('/wiki/')) path = `/wiki${path}`
  if (normalise(path) !== normalise(expectedPath)) throw new BadNextLinkError(`the next link leaves ${expectedPath}`)
  const query = queryOf(url.searchParams)
  return { path: expectedPath, query: long ? byCursor(query, current as Query) : query }
}

/** A long link's query with every long value taken from the request we sent instead (it must be there). */
function byCursor (linked: Query, sent: Query): Query {
  const out: Query = {}
  for (const [k, v] of Object.entries(linked)) {
    const long = (Array.isArray(v) ? v : [v]).some((x) => String(x).length > MAX_CURSOR_PARAM_LENGTH)
    if (!long) { out[k] = v; continue }
    if (sent[k] === undefined) throw new BadNextLinkError(`the next link adds a long "${k}" the request did not have`)
    out[k] = sent[k]
  }
  if (out.cursor === undefined && out.start === undefined) throw new BadNextLinkError('the long next link has no cursor to follow')
  return out
}

function normalise (path: string): string {
  try { return decodeURIComponent(path).replace(/\/+$/, '') } catch { return path }
}

function queryOf (params: URLSearchParams): Query {
  const query: Query = {}
  for (const [k, v] of params) {
    const prev = query[k]
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return query
}

/** A stable identity of a page request, to spot a cursor that repeats. */
export function pageKey (page: PageRequest): string {
  const text = (v: QueryValue): string => JSON.stringify(Array.isArray(v) ? v.map(String) : String(v))
  return page.path + '?' + Object.keys(page.query).sort().map(k => `${k}=${text(page.query[k])}`).join('&')
}

/** The opaque client cursor: base64url of the page request (and the items already returned from it). */
export function encodeCursor (point: ResumePoint): string {
  const payload: { p: string, q: Query, s?: number } = { p: point.page.path, q: point.page.query }
  if (point.skip > 0) payload.s = point.skip
  return Buffer.from(JSON.stringify(payload)).toString('base64url')
}

/** Decode a client cursor and check it belongs to this action's path and keeps its page size in bounds. */
export function decodeCursor (cursor: string, expectedPath: string, spec: PaginationSpec): ResumePoint {
  let payload: unknown
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url')
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw new BadCursorError('is not a cursor issued by this action')
  }
  const p = payload as { p?: unknown, q?: unknown, s?: unknown }
  if (payload === null || typeof payload !== 'object' || typeof p.p !== 'string' || p.q === null || typeof p.q !== 'object' || Array.isArray(p.q)) {
    throw new BadCursorError('is not a cursor issued by this action')
  }
  if (normalise(p.p) !== normalise(expectedPath)) throw new BadCursorError('belongs to a different request (another action or other path inputs)')
  const query = p.q as Record<string, unknown>
  for (const [k, v] of Object.entries(query)) {
    const ok = (x: unknown): boolean => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean'
    if (!(ok(v) || (Array.isArray(v) && v.every(ok)))) throw new BadCursorError(`has a malformed "${k}"`)
  }
  const limit = Number(query[spec.limitParam])
  if (!Number.isInteger(limit) || limit < 1 || limit > spec.maxLimit) throw new BadCursorError('has an invalid page size')
  const skip = p.s === undefined ? 0 : p.s
  if (typeof skip !== 'number' || !Number.isInteger(skip) || skip < 0 || skip >= limit) throw new BadCursorError('has an invalid position')
  return { page: { path: expectedPath, query: query as Query }, skip }
}
