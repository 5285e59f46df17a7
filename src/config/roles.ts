// One home for the API key roles and the role lists that routes grant (docs/api.md, "Roles").
export type ApiKeyRole = 'admin' | 'invoker' | 'viewer'

export const API_KEY_ROLES: readonly ApiKeyRole[] = ['admin', 'invoker', 'viewer']

/** Any key: reading actions and jobs. */
export const ANY_ROLE: readonly ApiKeyRole[] = API_KEY_ROLES
/** Running actions. */
export const RUNNERS: readonly ApiKeyRole[] = ['admin', 'invoker']
/** Admin reads that viewers may see too (connections, health details, dashboards). */
export const OBSERVERS: readonly ApiKeyRole[] = ['admin', 'viewer']
/** Changes to connections and jobs; also the default of a route that names no access. */
export const ADMIN_ONLY: readonly ApiKeyRole[] = ['admin']
