// What "Test connection" and the site's group list answer, shared by the JSON routes (routes/connections.ts)
// and the admin console (routes/admin/), so both always show the same thing. Each is one function with the
// route's contract; its body may change (e.g. to run through the action engine) without either caller noticing.
import type { Core } from '../core'
import { AppError } from '../errors/app-error'
import type { ResolvedConnection } from '../connections/types'

const GROUP_PAGE = 200
const MAX_GROUP_PAGES = 500

interface ActionDef { id: string, scopes?: string[][] }
interface ActionList { list: () => ActionDef[] | Iterable<ActionDef> }

export interface ConnectionTest {
  ok: boolean
  connection: { requested: string, resolved: string }
  site: { cloudId: string, url: string } | null
  account: { accountId: string, displayName?: string, accountType?: string, email: string | null } | null
  grantedScopes: string[]
  /** Per action, the scopes it still lacks (actions fully covered are left out). */
  missingScopes: Record<string, string[]>
  error?: { code: string, message: string, retryable: boolean }
}

export interface SiteGroup { groupId: string, name: string }

/** Per action, the scopes still missing for its cheapest scope set (actions fully covered are left out). */
export function missingScopes (granted: string[], actions: ActionDef[]): Record<string, string[]> {
  const have = new Set(granted)
  const out: Record<string, string[]> = {}
  for (const a of actions) {
    const sets = (a.scopes ?? []).filter(s => Array.isArray(s))
    if (sets.length === 0) continue
    let best: string[] | undefined
    for (const set of sets) {
      const missing = set.filter(s => !have.has(s))
      if (best === undefined || missing.length < best.length) best = missing
      if (missing.length === 0) break
    }
    if (best && best.length > 0) out[a.id] = best
  }
  return out
}

/** POST /v1/connections/{alias}/test: site, account, granted scopes versus each action's scopes. */
export async function testConnection (core: Core, alias: string): Promise<ConnectionTest> {
  const sessions = core.connections.sessions
  const resolved = await sessions.resolve(alias)
  let site: ConnectionTest['site'] = null
  let account: ConnectionTest['account'] = null
  let error: ConnectionTest['error']
  try {
    site = await core.confluence.site(resolved)
    const res = await core.confluence.call(resolved, { method: 'GET', path: '/wiki/rest/api/user/current' })
    const b = (res.body ?? {}) as Record<string, unknown>
    account = {
      accountId: String(b.accountId ?? ''),
      ...(typeof b.displayName === 'string' ? { displayName: b.displayName } : {}),
      ...(typeof b.accountType === 'string' ? { accountType: b.accountType } : {}),
      email: typeof b.email === 'string' && b.email !== '' ? b.email : null
    }
  } catch (err) {
    if (!(err instanceof AppError)) throw err
    error = { code: err.code, message: err.message, retryable: err.retryable }
  }
  const after = await sessions.resolve(alias)
  const granted = after.grantedScopes ?? []
  const registry = (core as unknown as { actions?: ActionList }).actions
  const defs = registry && typeof registry.list === 'function' ? [...registry.list()] : []
  return {
    ok: error === undefined,
    connection: { requested: resolved.requested, resolved: resolved.resolved },
    site,
    account,
    grantedScopes: granted,
    missingScopes: missingScopes(granted, defs),
    ...(error ? { error } : {})
  }
}

/** GET /v1/connections/{alias}/groups/available: every group of the site, live, with whether it is managed. */
export async function availableGroups (core: Core, alias: string): Promise<Array<SiteGroup & { managed: boolean }>> {
  const view = await core.connections.aliases.get(alias)
  const managed = new Set((view.managedGroups ?? []).map(g => g.groupId))
  const groups = await allGroups(core, await core.connections.sessions.resolve(alias))
  return groups.map(g => ({ ...g, managed: managed.has(g.groupId) }))
}

/** Every page of GET /wiki/rest/api/group (offset paging, 200 a page). */
export async function allGroups (core: Core, connection: ResolvedConnection): Promise<SiteGroup[]> {
  const out: SiteGroup[] = []
  const seen = new Set<string>()
  for (let page = 0, start = 0; page < MAX_GROUP_PAGES; page++) {
    const res = await core.confluence.call(connection, { method: 'GET', path: '/wiki/rest/api/group', query: { start, limit: GROUP_PAGE } })
    const body = (res.body ?? {}) as { results?: Array<{ id?: string, name?: string }>, size?: number, _links?: { next?: string } }
    const results = Array.isArray(body.results) ? body.results : []
    for (const g of results) {
      if (typeof g?.id !== 'string' || seen.has(g.id)) continue
      seen.add(g.id)
      out.push({ groupId: g.id, name: typeof g.name === 'string' ? g.name : '' })
    }
    if (results.length === 0 || (results.length < GROUP_PAGE && !body._links?.next)) break
    start += results.length
  }
  return out
}
