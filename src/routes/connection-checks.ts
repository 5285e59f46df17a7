// The connection checks as the HTTP surfaces (the JSON routes and the admin console) call them: the checks
// themselves run through the action engine (actions/connection-checks.ts); this adds what only a route
// knows, such as which of the site's groups the alias manages.
import type { Core } from '../core'
import { siteGroups, type SiteGroup } from '../actions/connection-checks'

export type { ConnectionTest, SiteGroup } from '../actions/connection-checks'
/** POST /v1/connections/{alias}/test: site, account, granted scopes versus each action's scopes. */
export { missingScopes, testConnection } from '../actions/connection-checks'

/** GET /v1/connections/{alias}/groups/available: every group of the site, live, with whether it is managed. */
export async function availableGroups (core: Core, alias: string, requestId: string, traceparent?: string): Promise<Array<SiteGroup & { managed: boolean }>> {
  const view = await core.connections.aliases.get(alias)
  const managed = new Set((view.managedGroups ?? []).map(g => g.groupId))
  const groups = await siteGroups(core, alias, requestId, traceparent)
  return groups.map(g => ({ ...g, managed: managed.has(g.groupId) }))
}
