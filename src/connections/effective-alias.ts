// Pure: an alias after inheritance from its parent (credential, connectionUrl, retryPolicy, managed groups,
// org admin), with what an admin must still do; and the identity of a credential (tokens survive a replace
// only while it stays the same). Secrets are opened through the function passed in (memory only).
import type { RetryPolicy } from '../http/retry'
import type { AliasRecord, EffectiveAlias, PublicAliasDocument, Unresolved } from './types'

export const DEFAULT_RETRY_POLICY: RetryPolicy = { strategy: 'retry_after', maxAttempts: 4, maxElapsedSeconds: 600 }

export interface AliasDefaults {
  /** ATLASSIAN_AUTH_URL: `/authorize` and `/oauth/token` hang off it. */
  atlassianAuthUrl: string
  /** ATLASSIAN_API_URL: the gateway when the alias names none. */
  atlassianApiUrl: string
}

/** Opens a sealed secret of alias `id`; throws when the key does not open it. */
export type OpenSecret = (id: string, name: 'clientSecret' | 'orgApiKey', sealed: string) => string

export function effectiveAlias (rec: AliasRecord, parent: AliasRecord | undefined, open: OpenSecret, defaults: AliasDefaults): EffectiveAlias {
  const d = rec.doc
  const p = parent?.doc
  const owner = d.credential ? rec : (p?.credential ? parent : undefined)
  const cred = owner?.doc.credential
  const problems: string[] = []
  if (d.parent && !parent) problems.push(`parent alias "${d.parent}" does not exist`)
  if (!cred) problems.push('credential: not set (give the alias a credential, or a parent that has one)')
  const unresolvedOf = (field: string): Unresolved | undefined => owner?.unresolved.find(u => u.field === field)
  let clientSecret: string | undefined
  if (owner?.sealed.clientSecret) {
    try { clientSecret = open(owner.id, 'clientSecret', owner.sealed.clientSecret) } catch {
      problems.push('credential.clientSecret: cannot be opened with the current SPOKE_MASTER_KEY; set it again')
    }
  }
  if (cred && !cred.clientId) {
    const u = unresolvedOf('credential.clientId')
    problems.push(u ? `credential.clientId: environment variable ${u.variable} is not set` : 'credential.clientId: not set')
  }
  if (cred && !owner?.sealed.clientSecret) {
    const u = unresolvedOf('credential.clientSecret')
    problems.push(u ? `credential.clientSecret: environment variable ${u.variable} is not set` : 'credential.clientSecret: not set')
  }
  for (const u of rec.unresolved) {
    if (u.optional !== true && u.field !== 'credential.clientId' && u.field !== 'credential.clientSecret') problems.push(`${u.field}: environment variable ${u.variable} is not set`)
  }
  const orgOwner = d.orgAdmin ? rec : (p?.orgAdmin ? parent : undefined)
  let orgApiKey: string | undefined
  if (orgOwner?.sealed.orgApiKey) {
    try { orgApiKey = open(orgOwner.id, 'orgApiKey', orgOwner.sealed.orgApiKey) } catch { /* reported as unset */ }
  }
  const authBase = defaults.atlassianAuthUrl
  return {
    id: rec.id,
    parent: d.parent,
    name: d.name ?? rec.id,
    grant: cred?.type,
    clientId: cred?.clientId,
    clientSecret,
    scopes: cred?.scopes ?? [],
    authorizeUrl: cred?.authorizeUrl ?? `${authBase}/authorize`,
    tokenUrl: cred?.tokenUrl ?? `${authBase}/oauth/token`,
    connectionUrl: withSlash(d.connectionUrl ?? p?.connectionUrl ?? defaults.atlassianApiUrl),
    site: d.site,
    retryPolicy: { ...DEFAULT_RETRY_POLICY, ...(p?.retryPolicy ?? {}), ...(d.retryPolicy ?? {}) },
    managedGroups: d.managedGroups ?? p?.managedGroups ?? [],
    managedSpaces: d.managedSpaces ?? p?.managedSpaces ?? [],
    orgAdmin: orgOwner ? { orgId: orgOwner.doc.orgAdmin?.orgId, apiKey: orgApiKey } : undefined,
    problems
  }
}

/** Tokens survive a replace only while the credential identity is the same. */
export function credentialIdentity (d: PublicAliasDocument, defaults: Pick<AliasDefaults, 'atlassianApiUrl'>): string {
  const c = d.credential
  return JSON.stringify([
    c?.type, c?.clientId, c?.tokenUrl ?? '', withSlash(d.connectionUrl ?? defaults.atlassianApiUrl),
    c?.type === 'oauth2_client_credentials' ? [...(c.scopes ?? [])].sort() : []
  ])
}

/** A stored client secret is kept (not re-sent) only for the same client. */
export function sameClient (a: PublicAliasDocument['credential'] | undefined, b: PublicAliasDocument['credential'] | undefined): boolean {
  return a?.type === b?.type && a?.clientId === b?.clientId && a?.tokenUrl === b?.tokenUrl
}

function withSlash (u: string): string { return u.endsWith('/') ? u : `${u}/` }
