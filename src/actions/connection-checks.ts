// What the connection admin routes (POST /v1/connections/{alias}/test, GET|PUT …/groups[/available]) ask of
// Confluence, run as actions through the engine (confluence.user.current, confluence.group.list), so they get
// the engine's 429/5xx retries, scope check and output mapping. Any admin surface (JSON routes, console
// pages) calls these same functions; wording and HTTP shapes stay with the callers.
import type { ConfluenceClient, ConfluenceSite } from '../confluence/types'
import type { ConnectionResolver } from '../connections/types'
import { AppError } from '../errors/app-error'
import type { ActionEngine } from './execute-action'
import { MAX_RESULTS } from './list-shape'

/** The parts of the core the checks use (the Core satisfies it). */
export interface ConnectionCheckDeps {
  engine: Pick<ActionEngine, 'execute'>
  /** Read at call time, so the report follows the loaded catalogue. */
  actions: { list: () => ScopedAction[] }
  confluence: Pick<ConfluenceClient, 'site'>
  connections: { sessions: ConnectionResolver }
}

export interface ScopedAction { id: string, scopes?: string[][] }

export interface ConnectionTest {
  ok: boolean
  connection: { requested: string, resolved: string }
  site: ConfluenceSite | null
  account: { accountId: string, displayName?: string, accountType?: string, email: string | null } | null
  grantedScopes: string[]
  /** Per action, the scopes its cheapest scope set still lacks (actions fully covered are left out). */
  missingScopes: Record<string, string[]>
  /** Why the site or the account could not be read (the test itself still answers). */
  error?: { code: string, message: string, retryable: boolean }
}

export interface SiteGroup { groupId: string, name: string }

/** Groups of a site read at most (as many `all: true` runs of confluence.group.list as it takes). */
const MAX_SITE_GROUPS = 100_000

/** The site, the account behind the connection, and the scopes each action still misses. `traceparent`: the request's span (tracing). */
export async function testConnection (deps: ConnectionCheckDeps, alias: string, requestId: string, traceparent?: string): Promise<ConnectionTest> {
  const resolved = await deps.connections.sessions.resolve(alias)
  let site: ConfluenceSite | null = null
  let account: ConnectionTest['account'] = null
  let error: ConnectionTest['error']
  try {
    site = await deps.confluence.site(resolved, traceparent)
    const { output } = await deps.engine.execute({ actionId: 'confluence.user.current', connection: alias, input: {}, requestId, traceparent })
    account = accountOf(output as UserOutput)
  } catch (err) {
    if (!(err instanceof AppError)) throw err
    error = { code: err.code, message: err.message, retryable: err.retryable }
  }
  // Read again: a token obtained during the calls above brings its granted scopes.
  const granted = (await deps.connections.sessions.resolve(alias)).grantedScopes ?? []
  return {
    ok: error === undefined,
    connection: { requested: resolved.requested, resolved: resolved.resolved },
    site,
    account,
    grantedScopes: granted,
    missingScopes: missingScopes(granted, deps.actions.list()),
    ...(error !== undefined ? { error } : {})
  }
}

/** Every group of the connection's site, live from Confluence (confluence.group.list, every page). */
export async function siteGroups (deps: Pick<ConnectionCheckDeps, 'engine'>, alias: string, requestId: string, traceparent?: string): Promise<SiteGroup[]> {
  const out: SiteGroup[] = []
  const seen = new Set<string>()
  let cursor: string | undefined
  for (let runs = 0; runs < MAX_SITE_GROUPS / MAX_RESULTS; runs++) {
    const input = { all: true, maxResults: MAX_RESULTS, ...(cursor !== undefined ? { cursor } : {}) }
    const { output } = await deps.engine.execute({ actionId: 'confluence.group.list', connection: alias, input, requestId, traceparent })
    const page = output as { results: Array<{ id?: unknown, name?: unknown }>, nextCursor?: string }
    for (const g of page.results) {
      if (typeof g.id !== 'string' || seen.has(g.id)) continue
      seen.add(g.id)
      out.push({ groupId: g.id, name: typeof g.name === 'string' ? g.name : '' })
    }
    cursor = page.nextCursor
    if (cursor === undefined) break
  }
  return out
}

/** Per action, the scopes still missing for its cheapest scope set (actions fully covered are left out). */
export function missingScopes (granted: string[], actions: ScopedAction[]): Record<string, string[]> {
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

interface UserOutput { accountId?: string, displayName?: string, email?: string | null, accountType?: string | null }

/** The account as the test reports it: an accountId always (empty when Confluence gives none), email null when hidden. */
function accountOf (user: UserOutput): NonNullable<ConnectionTest['account']> {
  return {
    accountId: user.accountId ?? '',
    ...(user.displayName !== undefined ? { displayName: user.displayName } : {}),
    ...(typeof user.accountType === 'string' ? { accountType: user.accountType } : {}),
    email: user.email ?? null
  }
}
