// v1 content restrictions (v2 has none): all operations, one operation, and the per-principal checks. They
// take any content id, folders included (v1 knows folders as content). Handlers work on refs (folders.ts).
import { v1Error, type OpResult } from '../errors'
import { folderRef } from '../folders'
import { v1Group, v1User } from '../representations'
import type { Principals } from '../seed'
import type { OpContext, OpHandler } from './context'

const OPERATIONS = ['read', 'update'] as const

/** Trashed, purged and draft content has no readable restrictions: 404, as Confluence answers (CONFCLOUD-77618). */
const NO_RESTRICTIONS = new Set(['trashed', 'deleted', 'draft'])

/** The ref of readable content or a readable folder with restrictions to show, else -1. */
function content (ctx: OpContext): number {
  const site = ctx.site
  const f = site.folders.index(String(ctx.path.id))
  if (f !== -1) return !NO_RESTRICTIONS.has(site.folders.statusOf(f)) && ctx.reader().canReadFolder(f) ? folderRef(f) : -1
  const c = site.contentIndex(String(ctx.path.id))
  return c !== -1 && !NO_RESTRICTIONS.has(site.statusOf(c)) && ctx.reader().canRead(c) ? c : -1
}

function principalsOf (ctx: OpContext, c: number, operation: string): Principals {
  const restriction = ctx.site.restrictionOf(c)
  return (operation === 'read' ? restriction?.read : operation === 'update' ? restriction?.update : undefined) ?? { users: [], groups: [] }
}

function restriction (ctx: OpContext, c: number, operation: string): Record<string, unknown> {
  const site = ctx.site
  const p = principalsOf(ctx, c, operation)
  const id = site.refId(c)
  const limit = typeof ctx.query.limit === 'number' ? ctx.query.limit : 100
  const start = typeof ctx.query.start === 'number' ? ctx.query.start : 0
  const users = p.users.slice(start, start + limit).map((u) => v1User(site, site.users[u]))
  const groups = p.groups.slice(start, start + limit).map((g) => v1Group(site, site.groups[g]))
  return {
    operation,
    restrictions: {
      user: { results: users, start, limit, size: users.length, totalSize: p.users.length },
      group: { results: groups, start, limit, size: groups.length }
    },
    _expandable: { content: `/rest/api/content/${id}` },
    _links: { self: `${site.base}/rest/api/content/${id}/restriction/byOperation/${operation}`, base: site.base, context: '/wiki' }
  }
}

const identityCount = (ctx: OpContext, c: number, ops: readonly string[]): number =>
  ops.reduce((n, op) => { const p = principalsOf(ctx, c, op); return n + p.users.length + p.groups.length }, 0)

const getRestrictions: OpHandler = (ctx) => {
  const c = content(ctx)
  if (c === -1) return v1Error(404, `No content found with id: ${String(ctx.path.id)}`)
  const results = OPERATIONS.map((op) => restriction(ctx, c, op))
  const restrictionsHash = String(ctx.site.restrictionOf(c) !== undefined ? ctx.site.refId(c) : 0)
  return {
    status: 200,
    body: { results, start: 0, limit: 100, size: results.length, restrictionsHash, _links: { base: ctx.site.base, context: '/wiki' } },
    objects: { identity: identityCount(ctx, c, OPERATIONS) }
  }
}

const getRestrictionsByOperation: OpHandler = (ctx) => {
  const c = content(ctx)
  if (c === -1) return v1Error(404, `No content found with id: ${String(ctx.path.id)}`)
  const body: Record<string, unknown> = Object.fromEntries(OPERATIONS.map((op) => [op, restriction(ctx, c, op)]))
  body._links = { base: ctx.site.base, context: '/wiki' }
  return { status: 200, body, objects: { identity: identityCount(ctx, c, OPERATIONS) } }
}

const getRestrictionsForOperation: OpHandler = (ctx) => {
  const c = content(ctx)
  if (c === -1) return v1Error(404, `No content found with id: ${String(ctx.path.id)}`)
  return { status: 200, body: restriction(ctx, c, ctx.path.operationKey), objects: { identity: identityCount(ctx, c, [ctx.path.operationKey]) } }
}

/** 200 with no body when the principal is named in the restriction, 404 otherwise. */
function principalCheck (listed: (ctx: OpContext, p: Principals) => boolean): OpHandler {
  return (ctx): OpResult => {
    const c = content(ctx)
    if (c === -1) return v1Error(404, `No content found with id: ${String(ctx.path.id)}`)
    return listed(ctx, principalsOf(ctx, c, ctx.path.operationKey)) ? { status: 200 } : v1Error(404, 'Restriction not found')
  }
}

export const restrictionHandlers: Record<string, OpHandler> = {
  getRestrictions,
  getRestrictionsByOperation,
  getRestrictionsForOperation,
  getIndividualGroupRestrictionStatusByGroupId: principalCheck((ctx, p) => {
    const group = ctx.site.groupById.get(String(ctx.path.groupId))
    return group !== undefined && p.groups.includes(group.index)
  }),
  getContentRestrictionStatusForUser: principalCheck((ctx, p) => {
    const user = ctx.state.userByAccountId(String(ctx.query.accountId))
    return user !== undefined && p.users.includes(user.index)
  })
}
