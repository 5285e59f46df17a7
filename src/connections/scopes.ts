// Atlassian OAuth scopes as an admin registers them: which family a scope belongs to (told by its name),
// which family an action's scope set is, and, for a grant, which scopes an action still lacks. Each
// action's `scopes` is a list of alternative sets; any one fully granted is enough.

/**
 * `granular`: verb:thing:confluence (read:page:confluence, read:content.metadata:confluence);
 * `classic`: verb:confluence or verb:confluence-thing (search:confluence, write:confluence-groups);
 * `platform`: not a Confluence API scope (offline_access for refresh tokens, read:me, read:account, report:personal-data for the Personal Data Reporting API).
 */
export type ScopeKind = 'classic' | 'granular' | 'platform' | 'unknown'
export type SetKind = 'classic' | 'granular' | 'mixed' | 'none'

const GRANULAR = /^[a-z]+:[a-z][a-z0-9.-]*:confluence$/
const CLASSIC = /^[a-z]+:confluence(-[a-z0-9.-]+)?$/
const PLATFORM = new Set(['offline_access', 'read:me', 'read:account', 'report:personal-data'])

export function scopeKind (scope: string): ScopeKind {
  if (GRANULAR.test(scope)) return 'granular'
  if (CLASSIC.test(scope)) return 'classic'
  if (PLATFORM.has(scope)) return 'platform'
  return 'unknown'
}

/** A set's family, platform scopes aside: `mixed` when it needs scopes of both families. */
export function setKind (set: readonly string[]): SetKind {
  const kinds = new Set(set.map(scopeKind).filter(k => k === 'classic' || k === 'granular'))
  if (kinds.size === 0) return 'none'
  if (kinds.size > 1) return 'mixed'
  return kinds.has('granular') ? 'granular' : 'classic'
}

export interface ActionScopes { id: string, scopes?: string[][] }

export interface ActionNeed {
  action: string
  /** The alternative sets, each with its family. */
  sets: Array<{ kind: SetKind, scopes: string[] }>
  /** The set closest to the grant (fewest scopes missing; the first one on a tie). */
  closest: string[]
  /** What that set still lacks; empty when the action is covered. */
  missing: string[]
}

/** Per action, the set closest to `have` and what it lacks. */
export function actionNeeds (have: readonly string[], actions: readonly ActionScopes[]): ActionNeed[] {
  const granted = new Set(have)
  return actions.map(a => {
    const sets = (a.scopes ?? []).filter(s => Array.isArray(s))
    let closest: string[] = []
    let missing: string[] | undefined
    for (const set of sets) {
      const lack = set.filter(s => !granted.has(s))
      if (missing === undefined || lack.length < missing.length) { closest = set; missing = lack }
    }
    return { action: a.id, sets: sets.map(s => ({ kind: setKind(s), scopes: [...s] })), closest: [...closest], missing: missing ?? [] }
  })
}

/** The union of one family's sets over `actions` (an action without a set of that family is left out). */
export function familyUnion (actions: readonly ActionScopes[], kind: 'classic' | 'granular'): string[] {
  const out = new Set<string>()
  for (const a of actions) {
    const set = (a.scopes ?? []).find(s => setKind(s) === kind)
    for (const s of set ?? []) out.add(s)
  }
  return [...out].sort()
}
