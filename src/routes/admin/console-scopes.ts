// Pure: the scopes a new alias starts from, computed from the action catalogue (so it never asks for a scope no
// action uses), and the scopes of a list an admin should look at before being sent to Atlassian's consent —
// Atlassian answers `invalid_scope` for any scope the app was not given in the developer console.
import { scopeKind, setKind, type ActionScopes } from '../../connections/scopes'

/** Platform scopes the spoke itself may use (Test connection reads /me; refresh tokens need offline_access). */
const PLATFORM = ['offline_access', 'read:me', 'read:account', 'report:personal-data']

/**
 * One set per action: the one of `family` when the action has one, else its first (an action with only granular
 * sets keeps them in a classic list: the two families may be granted together). `offline_access` for 3LO.
 */
export function catalogueScopes (actions: readonly ActionScopes[], family: 'classic' | 'granular', threeLo = true): string[] {
  const out = new Set<string>()
  for (const a of actions) {
    const sets = (a.scopes ?? []).filter(s => Array.isArray(s) && s.length > 0)
    const set = sets.find(s => setKind(s) === family) ?? sets[0]
    for (const s of set ?? []) out.add(s)
  }
  const sorted = [...out].sort()
  return threeLo ? [...sorted, 'offline_access'] : sorted
}

export interface ScopeFlag { scope: string, why: string }

/** Scopes worth a word before the consent: not an Atlassian scope name, or used by no action of the catalogue. */
export function flagScopes (scopes: readonly string[], actions: readonly ActionScopes[], grant?: string): ScopeFlag[] {
  const used = new Set<string>(PLATFORM)
  for (const a of actions) for (const set of a.scopes ?? []) for (const s of set) used.add(s)
  const flags: ScopeFlag[] = []
  for (const scope of scopes) {
    if (scope === 'offline_access' && grant === 'oauth2_client_credentials') { flags.push({ scope, why: 'client credentials bring no refresh token: Atlassian refuses this scope in that grant' }); continue }
    if (used.has(scope)) continue
    flags.push(scopeKind(scope) === 'unknown'
      ? { scope, why: 'not an Atlassian scope name' }
      : { scope, why: 'no action of this spoke uses it; unless the app was given it in the developer console, Atlassian refuses the consent (invalid_scope)' })
  }
  return flags
}

/** The scopes to tick in the developer console, by the API they are listed under there. */
export function scopesByApi (scopes: readonly string[]): { confluence: string[], identity: string[], other: string[] } {
  const confluence = scopes.filter(s => scopeKind(s) === 'classic' || scopeKind(s) === 'granular')
  const identity: string[] = scopes.filter(s => s === 'read:me' || s === 'read:account')
  const other = scopes.filter(s => !confluence.includes(s) && !identity.includes(s))
  return { confluence, identity, other }
}
