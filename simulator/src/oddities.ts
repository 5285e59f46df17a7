// Spec-valid oddities: answers Confluence's specs allow but a client easily misreads. With `oddityRate` in the
// fault configuration, a matching 2xx answer is rewritten by one of these (chosen at random), and the ground
// truth does not change: a client must either read the odd answer exactly or treat it as unreadable.
// Restriction reads lose their `restrictions` object or one of its lists (both optional), get a null user
// entry (v1 User is nullable) or a user entry without `accountId` (optional); ancestor answers lose an entry's
// `id` (every Ancestor field is optional); page and blog post listings lose `parentId`; space listings lose
// `key` (both optional).
import type { Rng } from './random'

type Body = Record<string, any>

const pick = <T>(rng: Rng, list: T[]): T => list[rng.int(list.length)]

export function oddBody (operationId: string, body: unknown, rng: Rng): unknown {
  if (body === null || typeof body !== 'object') return body
  const b = structuredClone(body) as Body
  const results = Array.isArray(b.results) ? b.results as Body[] : undefined
  switch (operationId) {
    case 'getRestrictionsForOperation': {
      const r = b.restrictions as Body | undefined
      if (r === undefined) return b
      const change = pick(rng, ['no-restrictions', 'no-user-list', 'no-group-list', 'null-user', 'user-without-account'])
      if (change === 'no-restrictions') delete b.restrictions
      else if (change === 'no-user-list') delete r.user
      else if (change === 'no-group-list') delete r.group
      else if (change === 'null-user' && Array.isArray(r.user?.results)) r.user.results.splice(rng.int(r.user.results.length + 1), 0, null)
      else if (Array.isArray(r.user?.results)) {
        const named = (r.user.results as Body[]).filter((u) => u !== null)
        if (named.length > 0) delete pick(rng, named).accountId; else r.user.results.push({ type: 'known', displayName: 'Someone' })
      }
      return b
    }
    case 'getPageAncestors':
    case 'getFolderAncestors':
      if (results !== undefined && results.length > 0) delete pick(rng, results).id
      return b
    case 'getPagesInSpace':
    case 'getBlogPostsInSpace':
      for (const item of results ?? []) if (item !== null) delete item.parentId
      return b
    case 'getSpaces':
      for (const item of results ?? []) if (item !== null) delete item.key
      return b
    default:
      return b
  }
}
