// v1 groups, by id only (the by-name operations are gone): list, get, search, members, add and remove member.
import { v1Error, type OpResult } from '../errors'
import { v1Group, v1User } from '../representations'
import type { Group } from '../seed'
import type { OpContext, OpHandler } from './context'
import { offsetPage } from './v1-offset'

const getGroups: OpHandler = (ctx) => offsetPage(ctx, ctx.site.groups, (g) => v1Group(ctx.site, g))

const getGroupByGroupId: OpHandler = (ctx) => {
  const group = ctx.site.groupById.get(String(ctx.query.id))
  if (!group) return v1Error(404, `No group found with id: ${String(ctx.query.id)}`)
  return { status: 200, body: v1Group(ctx.site, group), objects: { identity: 1 } }
}

const searchGroups: OpHandler = (ctx) => {
  const needle = String(ctx.query.query).toLowerCase()
  return offsetPage(ctx, ctx.site.groups.filter((g) => g.name.toLowerCase().includes(needle)), (g) => v1Group(ctx.site, g))
}

const getGroupMembersByGroupId: OpHandler = (ctx) => {
  const group = ctx.site.groupById.get(String(ctx.path.groupId))
  if (!group) return v1Error(404, `No group found with id: ${String(ctx.path.groupId)}`)
  const members = [...group.members].sort((a, b) => a - b).map((i) => ctx.site.users[i])
  return offsetPage(ctx, members, (u) => v1User(ctx.site, u))
}

/** Group writes need a site admin; an unknown group or account is a 404. */
function membershipTarget (ctx: OpContext, accountId: unknown): { group: Group, user: number } | OpResult {
  if (!ctx.state.isSiteAdmin(ctx.site, ctx.caller)) return v1Error(403, 'User must be a site admin to manage group memberships')
  const group = ctx.site.groupById.get(String(ctx.query.groupId))
  if (!group) return v1Error(404, `No group found with id: ${String(ctx.query.groupId)}`)
  const user = typeof accountId === 'string' ? ctx.state.userByAccountId(accountId) : undefined
  if (!user) return v1Error(404, `No user found with accountId: ${String(accountId)}`)
  return { group, user: user.index }
}

const addUserToGroupByGroupId: OpHandler = (ctx) => {
  const target = membershipTarget(ctx, ctx.body?.accountId)
  if ('status' in target) return target
  target.group.members.add(target.user)
  ctx.site.revision++
  return { status: 201 }
}

const removeMemberFromGroupByGroupId: OpHandler = (ctx) => {
  const target = membershipTarget(ctx, ctx.query.accountId)
  if ('status' in target) return target
  // 204 whether or not the account was a member
  target.group.members.delete(target.user)
  ctx.site.revision++
  return { status: 204 }
}

export const groupHandlers: Record<string, OpHandler> = {
  getGroups, getGroupByGroupId, searchGroups, getGroupMembersByGroupId, addUserToGroupByGroupId, removeMemberFromGroupByGroupId
}
