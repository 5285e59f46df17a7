// confluence.group.member.add / .remove: the managed-group allowlist, dryRun, and an honest `changed`.
// Confluence's writes cannot say whether anything changed (a remove of a non-member is a 204 too), so the
// handler reads the account's memberships first and only writes when the write would change something.
import { GroupNotManagedError, UpstreamInvalidError } from '../../errors/errors'
import type { PaginationSpec } from '../action-definition'
import { nextPage, type PageRequest } from '../paginate'
import type { HandlerContext, HandlerModule } from './types'

const MEMBEROF_PATH = '/wiki/rest/api/user/memberof'
const MEMBEROF_PAGES: PaginationSpec = { style: 'offset', limitParam: 'limit', startParam: 'start', defaultLimit: 200, maxLimit: 200 }
/** 50 pages of 200: an account in more than 10,000 groups is not a real case; stop rather than spin. */
const MAX_MEMBEROF_PAGES = 50
const GROUP_PATH = '/wiki/rest/api/group/userByGroupId'

export type MembershipOp = 'add' | 'remove'

export interface MembershipChange { groupId: string, accountId: string, op: MembershipOp, dryRun: boolean }

/** Refuse any group outside the resolved alias's managed groups (403 GROUP_NOT_MANAGED). */
export function assertManaged (ctx: Pick<HandlerContext, 'connection'>, groupId: string): void {
  if (!ctx.connection.managedGroups.some(g => g.groupId === groupId)) {
    throw new GroupNotManagedError(`Group ${groupId} is not one of the managed groups of connection "${ctx.connection.resolved}"`)
  }
}

/** Is the account a member of the group? Pages through the account's groups (usually one page). */
export async function isMember (ctx: Pick<HandlerContext, 'call'>, groupId: string, accountId: string): Promise<boolean> {
  let page: PageRequest | undefined = { path: MEMBEROF_PATH, query: { accountId, limit: MEMBEROF_PAGES.defaultLimit } }
  for (let i = 0; page !== undefined && i < MAX_MEMBEROF_PAGES; i++) {
    const res = await ctx.call({ method: 'GET', path: page.path, query: page.query })
    const results = (res.body as { results?: unknown } | null)?.results
    if (!Array.isArray(results)) throw new UpstreamInvalidError('Confluence answered the membership lookup without a result list', { retryable: false })
    if (results.some(g => (g as { id?: unknown } | null)?.id === groupId)) return true
    page = results.length === 0 ? undefined : nextPage(MEMBEROF_PAGES, page, res.body, res.headers)
  }
  return false
}

/** One membership change, shared with the bulk job. Returns what changed (or, with dryRun, what would). */
export async function changeMembership (ctx: Pick<HandlerContext, 'call' | 'connection'>, change: MembershipChange): Promise<{ changed: boolean, dryRun: boolean }> {
  const { groupId, accountId, op, dryRun } = change
  assertManaged(ctx, groupId)
  const member = await isMember(ctx, groupId, accountId)
  const wouldChange = op === 'add' ? !member : member
  if (!wouldChange || dryRun) return { changed: wouldChange, dryRun }
  if (op === 'remove') {
    await ctx.call({ method: 'DELETE', path: GROUP_PATH, query: { groupId, accountId } })
    return { changed: true, dryRun: false }
  }
  try {
    await ctx.call({ method: 'POST', path: GROUP_PATH, query: { groupId }, body: { accountId } })
  } catch (err) {
    // Someone else added the account between our read and our write: the goal is met, nothing changed here.
    if (err instanceof UpstreamInvalidError && await isMember(ctx, groupId, accountId)) return { changed: false, dryRun: false }
    throw err
  }
  return { changed: true, dryRun: false }
}

/** confluence.group.member.add and .remove: one handler, the operation is `handler.params.op`. */
export const groupMembership: HandlerModule = {
  params: { type: 'object', additionalProperties: false, required: ['op'], properties: { op: { enum: ['add', 'remove'] } } },
  run: async (ctx) => {
    const op = ctx.params.op as MembershipOp
    const input = ctx.input as { groupId: string, accountId: string, dryRun?: boolean }
    return await changeMembership(ctx, { groupId: input.groupId, accountId: input.accountId, op, dryRun: input.dryRun === true })
  }
}
