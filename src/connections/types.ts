// Shapes of the connection layer. An alias document is what an admin writes (file or PUT body); the stored
// record keeps its secrets sealed; the effective alias is what the token provider and the client use.
import type { ConfluenceSite, ResolvedConnection } from '../confluence/types'

export type GrantType = 'oauth2_authorization_code' | 'oauth2_client_credentials'

export interface AliasDocument {
  $schema?: string
  id?: string
  name?: string
  description?: string
  parent?: string
  active?: boolean
  connectionUrl?: string
  site?: { cloudId?: string, url?: string }
  credential?: {
    type: GrantType
    clientId?: string
    clientSecret?: string
    scopes?: string[]
    authorizeUrl?: string
    tokenUrl?: string
  }
  retryPolicy?: Partial<ResolvedConnection['retryPolicy']>
  managedGroups?: Array<{ groupId: string, name?: string }>
  orgAdmin?: { orgId?: string, apiKey?: string }
}

/** A document without its secrets (what GET shows, what the record stores in clear). */
export type PublicAliasDocument = Omit<AliasDocument, '$schema' | 'credential' | 'orgAdmin'> & {
  credential?: Omit<NonNullable<AliasDocument['credential']>, 'clientSecret'>
  orgAdmin?: { orgId?: string }
}

/** A `${ENV}` placeholder that had no value at load time. */
export interface Unresolved {
  field: string
  variable: string
  /** the field has a documented fallback (loader.ts OPTIONAL_FIELDS): left out, it is no problem of the alias */
  optional?: true
}

export interface AliasRecord {
  v: 1
  id: string
  doc: PublicAliasDocument
  /** Sealed secrets, each bound to `conn:{id}:{name}`. */
  sealed: { clientSecret?: string, orgApiKey?: string }
  source: 'file' | 'api'
  file?: string
  unresolved: Unresolved[]
  createdAt: string
  updatedAt: string
}

export type TokenStatus = 'active' | 'needs_consent' | 'needs_configuration' | 'refresh_failed' | 'expired'

/** The sealed token set: access and refresh token always written together. */
export interface TokenSet {
  accessToken: string
  refreshToken?: string
  /** ms since epoch */
  expiresAt: number
  obtainedAt: number
  scopes: string[]
  /** Increases by one with every write. */
  gen: number
}

/** Token status, in clear (no secret in it). */
export interface TokenMeta {
  status?: 'active' | 'refresh_failed'
  expiresAt?: number
  grantedScopes?: string[]
  lastRefreshAt?: number
  gen?: number
  error?: string
}

export interface SiteChoice { cloudId: string, url: string, name?: string }

export interface BoundSite extends ConfluenceSite { name?: string }

/** Everything needed to talk to Confluence as one alias, after inheritance from its parent. */
export interface EffectiveAlias {
  id: string
  parent?: string
  name: string
  grant?: GrantType
  clientId?: string
  clientSecret?: string
  scopes: string[]
  authorizeUrl: string
  tokenUrl: string
  /** Always ends with '/'. */
  connectionUrl: string
  site?: { cloudId?: string, url?: string }
  retryPolicy: ResolvedConnection['retryPolicy']
  managedGroups: Array<{ groupId: string, name?: string }>
  orgAdmin?: { orgId?: string, apiKey?: string }
  /** What an admin must still do before the alias can work. */
  problems: string[]
}
