// Users: v1 get by accountId, current user, bulk lookup, group memberships; v2 bulk lookup.
import { v1Error, v2Error } from '../errors'
import { v1Group, v1User } from '../representations'
import type { User } from '../seed'
import type { OpContext, OpHandler } from './context'
import { offsetPage } from './v1-offset'

function known (ctx: OpContext, accountId: unknown): User | undefined {
  return typeof accountId === 'string' ? ctx.state.userByAccountId(accountId) : undefined
}

const getUser: OpHandler = (ctx) => {
  const user = known(ctx, ctx.query.accountId)
  if (!user) return v1Error(404, `No user found with accountId: ${String(ctx.query.accountId)}`)
  return { status: 200, body: v1User(ctx.site, user), objects: { identity: 1 } }
}

const getCurrentUser: OpHandler = (ctx) => ({ status: 200, body: v1User(ctx.site, ctx.caller), objects: { identity: 1 } })

const getBulkUserLookup: OpHandler = (ctx) => {
  const ids = (ctx.query.accountId as string).split(',').map((s) => s.trim()).filter(Boolean)
  const users = ids.map((id) => ctx.state.userByAccountId(id)).filter((u): u is User => u !== undefined).slice(0, 100)
  const base = ctx.site.base
  return {
    status: 200,
    body: { results: users.map((u) => v1User(ctx.site, u)), start: 0, limit: 100, size: users.length, _links: { base, context: '/wiki' } },
    objects: { identity: users.length }
  }
}

const getGroupMembershipsForUser: OpHandler = (ctx) => {
  const user = known(ctx, ctx.query.accountId)
  if (!user) return v1Error(404, `No user found with accountId: ${String(ctx.query.accountId)}`)
  return offsetPage(ctx, ctx.site.groups.filter((g) => g.members.has(user.index)), (g) => v1Group(ctx.site, g))
}

const createBulkUserLookup: OpHandler = (ctx) => {
  const users = (ctx.body.accountIds as string[]).map((id) => ctx.state.userByAccountId(id)).filter((u): u is User => u !== undefined)
  if (users.length === 0) return v2Error(404)
  const results = users.map((u) => ({
    accountId: u.accountId,
    accountType: u.accountType,
    accountStatus: 'active',
    displayName: u.displayName,
    publicName: u.displayName,
    email: u.emailVisible && u.email ? u.email : '',
    timeZone: u.timeZone,
    isExternalCollaborator: false,
    profilePicture: { path: `/wiki/aa-avatar/${u.accountId}`, isDefault: true }
  }))
  return { status: 200, body: { results, _links: { base: ctx.site.base } }, headers: { Link: `<${ctx.site.base}>; rel="base"` }, objects: { identity: results.length } }
}

export const userHandlers: Record<string, OpHandler> = { getUser, getCurrentUser, getBulkUserLookup, getGroupMembershipsForUser, createBulkUserLookup }
