// Members of groups, read through Confluence's group endpoint (the same one confluence.group.members
// uses), gathered as accountId → the groups (among those asked) the account is in. Memory grows with the
// members of these groups, not with the org.
import type { HandlerContext } from '../actions/handlers/types'
import { UpstreamInvalidError } from '../errors/errors'

const PAGE = 200
/** 500 pages of 200: a group of 100,000 members is beyond any site's licence tier; stop rather than spin. */
const MAX_PAGES = 500

export async function membersOfGroups (ctx: Pick<HandlerContext, 'call' | 'signal'>, groupIds: string[]): Promise<Map<string, string[]>> {
  const byAccount = new Map<string, string[]>()
  for (const groupId of groupIds) {
    for (let page = 0, start = 0; ; page++, start += PAGE) {
      if (page >= MAX_PAGES) throw new UpstreamInvalidError(`Group ${groupId} has more than ${MAX_PAGES * PAGE} members`, { retryable: false })
      const res = await ctx.call({ method: 'GET', path: `/wiki/rest/api/group/${encodeURIComponent(groupId)}/membersByGroupId`, query: { start, limit: PAGE }, signal: ctx.signal })
      const results = (res.body as { results?: unknown } | null)?.results
      if (!Array.isArray(results)) throw new UpstreamInvalidError('Confluence answered a group member listing without a result list', { retryable: false })
      for (const u of results as Array<{ accountId?: unknown } | null>) {
        if (typeof u?.accountId !== 'string') continue
        const groups = byAccount.get(u.accountId)
        if (groups === undefined) byAccount.set(u.accountId, [groupId]); else if (!groups.includes(groupId)) groups.push(groupId)
      }
      const next = (res.body as { _links?: { next?: unknown } })._links?.next
      if (results.length < PAGE && typeof next !== 'string') break
      if (results.length === 0) break
    }
  }
  return byAccount
}
