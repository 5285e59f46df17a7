// Pure: what GET /v1/connections shows of an alias — its document without secrets, which secrets are set,
// the token status, the bound site, and the problems an admin must still solve, in words.
import type { TokenState } from './token-store'
import type { AliasRecord, BoundSite, EffectiveAlias, PublicAliasDocument, SiteChoice, TokenStatus } from './types'

export interface TokenView {
  status: TokenStatus
  expiresAt: string | null
  grantedScopes: string[]
  lastRefreshAt: string | null
  error?: string
  /** Why the last "Get OAuth Token" failed (only while consent is still needed). */
  consentError?: string
}

export interface AliasView extends PublicAliasDocument {
  id: string
  secrets: { clientSecret: boolean, orgAdminApiKey: boolean }
  source: 'file' | 'api'
  file?: string
  createdAt: string
  updatedAt: string
  children: string[]
  /** The alias a request naming this one is served by (itself, or its active child). */
  resolvesTo: string
  token: TokenView
  boundSite: BoundSite | null
  siteChoices?: SiteChoice[]
  ready: boolean
  /** What an admin must still do. */
  problems: string[]
}

/** What the view needs beyond the record: everything read from Redis beforehand. */
export interface ViewInputs {
  rec: AliasRecord
  records: AliasRecord[]
  alias: EffectiveAlias
  tokens: TokenState
  /** The active child of this alias (when it is a parent). */
  activeChild?: string
  /** The active child of this alias's parent (when it is a child). */
  parentsActiveChild?: string
}

export function aliasView ({ rec, records, alias, tokens, activeChild, parentsActiveChild }: ViewInputs, now = Date.now()): AliasView {
  const id = rec.id
  const parent = rec.doc.parent ? records.find(r => r.id === rec.doc.parent) : undefined
  const children = records.filter(r => r.doc.parent === id).map(r => r.id)
  const token = tokenView(alias, tokens, now)
  const problems = [...alias.problems]
  if (problems.length === 0) {
    if (tokens.unreadable) problems.push('the stored tokens do not open with the current SPOKE_MASTER_KEY (set SPOKE_MASTER_KEY_PREVIOUS, or obtain new tokens)')
    if (token.status === 'needs_consent') problems.push(`consent needed: GET /v1/connections/${id}/authorize${token.consentError ? ` (the last attempt failed: ${token.consentError})` : ''}`)
    if (token.status === 'refresh_failed') problems.push(`the refresh token was refused (${tokens.meta.error ?? 'invalid_grant'}): run the consent again, GET /v1/connections/${id}/authorize`)
    if (tokens.choices && !tokens.site) problems.push(`several sites are reachable: choose one with PUT /v1/connections/${id} (site.cloudId) or GET /v1/connections/${id}/authorize?site=<url>`)
  }
  const { active: _active, ...doc } = rec.doc
  return {
    id,
    ...doc,
    ...(rec.doc.parent ? { active: parent !== undefined && parentsActiveChild === id } : {}),
    secrets: { clientSecret: rec.sealed.clientSecret !== undefined, orgAdminApiKey: rec.sealed.orgApiKey !== undefined },
    source: rec.source,
    ...(rec.file ? { file: rec.file } : {}),
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    children,
    resolvesTo: activeChild && children.includes(activeChild) ? activeChild : id,
    token,
    boundSite: tokens.site ?? null,
    ...(tokens.choices && !tokens.site ? { siteChoices: tokens.choices } : {}),
    ready: problems.length === 0 && (token.status === 'active' || token.status === 'expired'),
    problems
  }
}

export function tokenView (a: EffectiveAlias, t: TokenState, now = Date.now()): TokenView {
  const set = t.set
  let status: TokenStatus
  if (a.problems.length > 0) status = 'needs_configuration'
  else if (t.meta.status === 'refresh_failed') status = 'refresh_failed'
  else if (!set) status = a.grant === 'oauth2_client_credentials' ? 'expired' : 'needs_consent'
  else if (set.expiresAt > now) status = 'active'
  else if (a.grant === 'oauth2_authorization_code' && !set.refreshToken) status = 'needs_consent'
  else status = 'expired'
  const expiresAt = set?.expiresAt ?? t.meta.expiresAt
  const last = t.meta.lastRefreshAt ?? set?.obtainedAt
  return {
    status,
    expiresAt: expiresAt ? new Date(expiresAt).toISOString() : null,
    grantedScopes: set?.scopes ?? t.meta.grantedScopes ?? [],
    lastRefreshAt: last ? new Date(last).toISOString() : null,
    ...(t.meta.error && status === 'refresh_failed' ? { error: t.meta.error } : {}),
    ...(t.meta.consentError && status === 'needs_consent' ? { consentError: t.meta.consentError } : {})
  }
}
