// Fetches the layers an ACL is made of: a space's read grant (v2 permissions with operation read/space,
// plus role assignments, whose every role includes viewing the space, including access classes) and a
// content item's read restriction (v1 byOperation/read, paged with start/limit until both lists run
// short). Restrictions are cached per space (ancestors are shared by many items, never across spaces), in
// a bounded LRU map.
import { AppError } from '../errors/app-error'
import type { HandlerContext } from '../actions/handlers/types'
import { spaceClause, type AclClause, type Layer, type ReadRestriction } from './acl'
import { eachPage } from './listing'

const RESTRICTION_PAGE = 100
const CACHE_LIMIT = 20_000
/** A restriction longer than this many pages is not real; stop rather than spin (and fail closed). */
const MAX_RESTRICTION_PAGES = 200

type Call = HandlerContext['call']

export async function fetchSpaceClause (call: Call, spaceId: string, signal?: AbortSignal): Promise<AclClause> {
  const users = new Set<string>()
  const groups = new Set<string>()
  const classes = new Set<string>()
  await eachPage(call, `/wiki/api/v2/spaces/${segment(spaceId)}/permissions`, { limit: 250 }, signal, async (results) => {
    // (an entry that is null or lacks a field grants nothing here: it can only leave readers out, never add one)
    for (const r of results) {
      const operation = field(r, 'operation')
      const principal = field(r, 'principal')
      const id = field(principal, 'id')
      if (field(operation, 'key') !== 'read' || field(operation, 'targetType') !== 'space' || typeof id !== 'string') continue
      if (field(principal, 'type') === 'user') users.add(id)
      else if (field(principal, 'type') === 'group') groups.add(id)
    }
  })
  await eachPage(call, `/wiki/api/v2/spaces/${segment(spaceId)}/role-assignments`, { limit: 250 }, signal, async (results) => {
    for (const r of results) {
      const principal = field(r, 'principal')
      const id = field(principal, 'principalId')
      const type = field(principal, 'principalType')
      if (typeof id !== 'string') continue
      if (type === 'USER') users.add(id)
      else if (type === 'GROUP') groups.add(id)
      else if (type === 'ACCESS_CLASS') classes.add(id)
    }
  })
  return spaceClause(spaceId, users, groups, classes)
}

export class RestrictionReader {
  private readonly cache = new Map<string, Promise<Layer>>()
  requests = 0

  constructor (private readonly call: Call, private readonly signal?: AbortSignal) {}

  /**
   * The item's read restriction layer; rate limits and cancels propagate (the run pauses), other failures
   * fail closed. `type` (page, blogpost, folder, …) is what a 404 is re-checked against: a read of the
   * content itself that shows it trashed, purged or a draft makes the layer `gone`; one that answers 404
   * too makes it `missing`; anything else an error.
   */
  async layer (contentId: string, type = 'page'): Promise<Layer> {
    const hit = this.cache.get(contentId)
    if (hit !== undefined) { this.cache.delete(contentId); this.cache.set(contentId, hit); return await hit }
    const pending = this.fetch(contentId, type)
    this.cache.set(contentId, pending)
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string)
    try { return await pending } catch (err) { this.cache.delete(contentId); throw err }
  }

  /** Forget one item (its restriction is about to be read fresh for itself). */
  forget (contentId: string): void { this.cache.delete(contentId) }

  private async fetch (id: string, type: string): Promise<Layer> {
    const read: ReadRestriction = { users: [], groups: [] }
    try {
      let expectedUsers: number | undefined
      for (let page = 0, start = 0; ; page++) {
        if (page >= MAX_RESTRICTION_PAGES) return { id, state: 'error', code: 'RESTRICTION_TOO_LONG' }
        this.requests++
        const res = await this.call({ method: 'GET', path: `/wiki/rest/api/content/${segment(id)}/restriction/byOperation/read`, query: { start, limit: RESTRICTION_PAGE }, signal: this.signal })
        const parsed = parseRestrictionPage(res.body, RESTRICTION_PAGE)
        if ('error' in parsed) return { id, state: 'error', code: parsed.error }
        read.users.push(...parsed.users)
        read.groups.push(...parsed.groups)
        if (parsed.totalUsers !== undefined) expectedUsers = parsed.totalUsers
        if (!parsed.more) {
          // a list shorter than the total it announced is truncated: not exact, so not usable
          if (expectedUsers !== undefined && read.users.length < expectedUsers) return { id, state: 'error', code: 'RESTRICTION_TRUNCATED' }
          return { id, state: 'ok', read }
        }
        start += parsed.pageSize
      }
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'UPSTREAM_RATE_LIMITED' || this.signal?.aborted === true) throw err
      if (err.code === 'UPSTREAM_NOT_FOUND') return await this.recheck(id, type)
      return { id, state: 'error', code: err.code }
    }
  }

  /** After a 404 on a restriction: read the content itself to learn why (docs/crawl.md "Fail closed"). */
  private async recheck (id: string, type: string): Promise<Layer> {
    const kind = CONTENT_PATHS[type]
    if (kind === undefined) return { id, state: 'error', code: 'RESTRICTION_NOT_FOUND' }
    try {
      this.requests++
      const query = type === 'page' ? { status: [...STATUSES, 'archived'] } : type === 'blogpost' ? { status: STATUSES } : undefined
      const res = await this.call({ method: 'GET', path: `/wiki/api/v2/${kind}/${segment(id)}`, query, signal: this.signal })
      const status = (res.body as { status?: unknown } | null)?.status
      if (typeof status === 'string' && GONE.has(status)) return { id, state: 'gone' }
      // it exists and is current (or says nothing): the restriction's 404 is unexplained
      return { id, state: 'error', code: 'RESTRICTION_NOT_FOUND' }
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'UPSTREAM_RATE_LIMITED' || this.signal?.aborted === true) throw err
      if (err.code === 'UPSTREAM_NOT_FOUND') return { id, state: 'missing' }
      return { id, state: 'error', code: err.code }
    }
  }
}

/** Statuses whose restriction Confluence no longer applies (and answers 404 for). */
const GONE = new Set(['trashed', 'deleted', 'draft', 'historical'])
const STATUSES = ['current', 'trashed', 'deleted', 'historical', 'draft']
const CONTENT_PATHS: Record<string, string> = { page: 'pages', blogpost: 'blogposts', folder: 'folders', whiteboard: 'whiteboards', database: 'databases', embed: 'embeds' }

/** An id as one path segment (ids are numeric in the spec, but nothing the upstream sends goes into a path raw). */
export function segment (id: string): string { return encodeURIComponent(id) }

export type RestrictionPage =
  | { users: string[], groups: string[], more: boolean, pageSize: number, totalUsers?: number }
  | { error: string }

/**
 * One answer of v1 `restriction/byOperation/read`, read exactly or not at all. Any spec-valid body goes in
 * (nulls, absent optional fields, extra ones) and nothing throws. The answer is usable only when it names
 * every principal it lists: a `restrictions` object with both lists, every entry an object with its id. An
 * absent object or list, a null entry or a user without `accountId` is `RESTRICTION_INCOMPLETE` (the spec
 * lets Confluence omit them, but then the answer does not say who may read, and "no restriction" would be a
 * guess that opens the item). `more`: a list came back as long as the page (the server's `limit` if it used
 * a smaller one), so the next page must be read.
 */
export function parseRestrictionPage (body: unknown, requested: number): RestrictionPage {
  const r = field(body, 'restrictions')
  const user = field(r, 'user')
  const group = field(r, 'group')
  const userList = field(user, 'results')
  const groupList = field(group, 'results')
  if (!Array.isArray(userList) || !Array.isArray(groupList)) return { error: 'RESTRICTION_INCOMPLETE' }
  const users: string[] = []
  const groups: string[] = []
  for (const u of userList) {
    const accountId = field(u, 'accountId')
    if (typeof accountId !== 'string' || accountId === '') return { error: 'RESTRICTION_INCOMPLETE' }
    users.push(accountId)
  }
  for (const g of groupList) {
    const groupId = field(g, 'id')
    if (typeof groupId !== 'string' || groupId === '') return { error: 'RESTRICTION_INCOMPLETE' }
    groups.push(groupId)
  }
  const pageSize = Math.max(1, Math.min(requested, positive(field(user, 'limit')) ?? requested, positive(field(group, 'limit')) ?? requested))
  const totalSize = field(user, 'totalSize')
  const totalUsers = typeof totalSize === 'number' && totalSize > 0 ? totalSize : undefined
  return { users, groups, more: users.length >= pageSize || groups.length >= pageSize, pageSize, ...(totalUsers !== undefined ? { totalUsers } : {}) }
}

export function field (value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[name] : undefined
}

function positive (v: unknown): number | undefined { return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined }
