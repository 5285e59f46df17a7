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
  await eachPage(call, `/wiki/api/v2/spaces/${spaceId}/permissions`, { limit: 250 }, signal, async (results) => {
    for (const r of results as Array<{ principal?: { type?: string, id?: string }, operation?: { key?: string, targetType?: string } }>) {
      if (r.operation?.key !== 'read' || r.operation.targetType !== 'space' || typeof r.principal?.id !== 'string') continue
      if (r.principal.type === 'user') users.add(r.principal.id)
      else if (r.principal.type === 'group') groups.add(r.principal.id)
    }
  })
  await eachPage(call, `/wiki/api/v2/spaces/${spaceId}/role-assignments`, { limit: 250 }, signal, async (results) => {
    for (const r of results as Array<{ principal?: { principalType?: string, principalId?: string } }>) {
      const id = r.principal?.principalId
      if (typeof id !== 'string') continue
      if (r.principal?.principalType === 'USER') users.add(id)
      else if (r.principal?.principalType === 'GROUP') groups.add(id)
      else if (r.principal?.principalType === 'ACCESS_CLASS') classes.add(id)
    }
  })
  return spaceClause(spaceId, users, groups, classes)
}

export class RestrictionReader {
  private readonly cache = new Map<string, Promise<Layer>>()
  requests = 0

  constructor (private readonly call: Call, private readonly signal?: AbortSignal) {}

  /** The item's read restriction layer; rate limits and cancels propagate (the run pauses), other failures fail closed. */
  async layer (contentId: string): Promise<Layer> {
    const hit = this.cache.get(contentId)
    if (hit !== undefined) { this.cache.delete(contentId); this.cache.set(contentId, hit); return await hit }
    const pending = this.fetch(contentId)
    this.cache.set(contentId, pending)
    if (this.cache.size > CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string)
    try { return await pending } catch (err) { this.cache.delete(contentId); throw err }
  }

  /** Forget one item (its restriction is about to be read fresh for itself). */
  forget (contentId: string): void { this.cache.delete(contentId) }

  private async fetch (id: string): Promise<Layer> {
    const read: ReadRestriction = { users: [], groups: [] }
    try {
      for (let page = 0, start = 0; ; page++, start += RESTRICTION_PAGE) {
        if (page >= MAX_RESTRICTION_PAGES) return { id, state: 'error', code: 'RESTRICTION_TOO_LONG' }
        this.requests++
        const res = await this.call({ method: 'GET', path: `/wiki/rest/api/content/${id}/restriction/byOperation/read`, query: { start, limit: RESTRICTION_PAGE }, signal: this.signal })
        const r = (res.body as { restrictions?: { user?: { results?: Array<{ accountId?: string }> }, group?: { results?: Array<{ id?: string }> } } } | null)?.restrictions
        const users = r?.user?.results ?? []
        const groups = r?.group?.results ?? []
        for (const u of users) if (typeof u.accountId === 'string') read.users.push(u.accountId)
        for (const g of groups) if (typeof g.id === 'string') read.groups.push(g.id)
        if (users.length < RESTRICTION_PAGE && groups.length < RESTRICTION_PAGE) return { id, state: 'ok', read }
      }
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'UPSTREAM_RATE_LIMITED' || this.signal?.aborted === true) throw err
      if (err.code === 'UPSTREAM_NOT_FOUND') return { id, state: 'missing' }
      return { id, state: 'error', code: err.code }
    }
  }
}
