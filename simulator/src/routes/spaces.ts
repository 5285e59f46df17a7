// v2 spaces: list, get by id, permission assignments.
import { v2Error } from '../errors'
import { v2Space } from '../representations'
import type { OpHandler } from './context'
import { cursorPage, list, range, type Candidates } from './content-lists'

const getSpaces: OpHandler = (ctx) => {
  const site = ctx.site
  const { ids, keys, type, status, sort } = ctx.query as { ids?: number[], keys?: string[], type?: string, status?: string, sort?: string }
  const idSet = ids && new Set(ids.map(String))
  const keySet = keys && new Set(keys)
  let candidates: Candidates = range(0, site.spaces.length)
  if (sort && sort !== 'id') {
    const desc = sort.startsWith('-')
    const field = (desc ? sort.slice(1) : sort) as 'id' | 'key' | 'name'
    const order = site.spaces.map((s) => s.index).sort((a, b) => {
      const [x, y] = [site.spaces[a], site.spaces[b]]
      const cmp = field === 'id' ? a - b : x[field].localeCompare(y[field])
      return desc ? -cmp : cmp
    })
    candidates = list(order)
  }
  const reader = ctx.reader()
  return cursorPage(ctx, candidates, (s) => {
    const space = site.spaces[s]
    return (!idSet || idSet.has(space.id)) && (!keySet || keySet.has(space.key)) &&
      (type === undefined || type === 'global') && (status === undefined || status === space.status) &&
      reader.canReadSpace(s)
  }, (s) => v2Space(site, site.spaces[s]))
}

const getSpaceById: OpHandler = (ctx) => {
  const space = ctx.site.spaceById.get(String(ctx.path.id))
  if (!space || !ctx.reader().canReadSpace(space.index)) return v2Error(404)
  return { status: 200, body: { ...v2Space(ctx.site, space), _links: { webui: `/spaces/${space.key}`, base: ctx.site.base } }, objects: { core: 1 } }
}

const getSpacePermissionsAssignments: OpHandler = (ctx) => {
  const site = ctx.site
  const space = site.spaceById.get(String(ctx.path.id))
  if (!space || !ctx.reader().canReadSpace(space.index)) return v2Error(404)
  const perms = space.permissions
  return cursorPage(ctx, range(0, perms.length), () => true, (i) => {
    const p = perms[i]
    const principalId = p.principalType === 'user' ? site.users[p.principal].accountId : site.groups[p.principal].id
    return { id: p.id, principal: { type: p.principalType, id: principalId }, operation: { key: p.key, targetType: p.targetType } }
  }, 25, 'identity')
}

/** Role id of the one role the simulator assigns (every Confluence space role includes viewing the space). */
export const VIEWER_ROLE_ID = 'sim-role-viewer'

/** RBAC view of the read grant: users, groups and access classes, each assigned the viewer role. */
const getSpaceRoleAssignments: OpHandler = (ctx) => {
  const site = ctx.site
  const space = site.spaceById.get(String(ctx.path.id))
  if (!space || !ctx.reader().canReadSpace(space.index)) return v2Error(404)
  const entries = [
    ...space.read.users.map((u) => ({ principalType: 'USER', principalId: site.users[u].accountId })),
    ...space.read.groups.map((g) => ({ principalType: 'GROUP', principalId: site.groups[g].id })),
    ...space.accessClasses.map((k) => ({ principalType: 'ACCESS_CLASS', principalId: k }))
  ]
  const type = ctx.query['principal-type'] as string | undefined
  const id = ctx.query['principal-id'] as string | undefined
  const roleId = ctx.query['role-id'] as string | undefined
  return cursorPage(ctx, range(0, entries.length),
    (i) => (type === undefined || entries[i].principalType === type) && (id === undefined || entries[i].principalId === id) && (roleId === undefined || roleId === VIEWER_ROLE_ID),
    (i) => ({ principal: entries[i], roleId: VIEWER_ROLE_ID }), 25, 'identity')
}

export const spaceHandlers: Record<string, OpHandler> = { getSpaces, getSpaceById, getSpacePermissionsAssignments, getSpaceRoleAssignments }
