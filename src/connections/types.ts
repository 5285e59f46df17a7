// Shapes of the connection layer. An alias document is what an admin writes (file or PUT body); the stored
// record keeps its secrets sealed; the effective alias is what the token refresher and the session cache use;
// a resolved connection and a session are what the layers above receive.
import type { RetryPolicy } from '../http/retry'

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
  retryPolicy?: Partial<RetryPolicy>
  managedGroups?: Array<{ groupId: string, name?: string }>
  managedSpaces?: Array<{ spaceId: string, key?: string }>
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
  /** Why the last "Get OAuth Token" failed at the code exchange (cleared by the next success or a new secret). */
  consentError?: string
}

export interface SiteChoice { cloudId: string, url: string, name?: string }

/** A Confluence site: its cloudId (in gateway URLs) and its URL (in links shown to people). */
export interface ConfluenceSite { cloudId: string, url: string }

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
  retryPolicy: RetryPolicy
  managedGroups: Array<{ groupId: string, name?: string }>
  managedSpaces?: Array<{ spaceId: string, key?: string }>
  orgAdmin?: { orgId?: string, apiKey?: string }
  /** What an admin must still do before the alias can work. */
  problems: string[]
}

/** An alias as the layers above use it, after parent → active child resolution. */
export interface ResolvedConnection {
  /** The alias named in the request (default `confluence_cloud`). */
  requested: string
  /** The alias actually used: the requested one, or the active child of a parent. */
  resolved: string
  /** Managed groups of the resolved alias (membership writes are refused for any other group). */
  managedGroups: Array<{ groupId: string, name?: string }>
  /** Managed spaces of the resolved alias (content writes are refused in any other space). */
  managedSpaces?: Array<{ spaceId: string, key?: string }>
  retryPolicy: RetryPolicy
  /** Scopes the alias asked for and, once known, the scopes granted. */
  scopes: string[]
  grantedScopes?: string[]
}

export interface ConnectionResolver {
  /** Throws CONNECTION_NOT_FOUND when the alias (or the parent's active child) does not exist. */
  resolve: (requested?: string) => Promise<ResolvedConnection>
}

/** What the Confluence client needs for one call: everything in memory. */
export interface Session {
  alias: string
  accessToken: string
  /** Stored expiry of the access token (ms). */
  expiresAt: number
  /** Refresh ahead: the token is used only until this instant (ms). */
  freshUntil: number
  site: BoundSite
  /** `{connectionUrl}` (ends with '/'): the gateway; the client builds `ex/confluence/{cloudId}` itself. */
  connectionUrl: string
  /** The origin of connectionUrl (the only origin calls may go to). */
  origin: string
}

/**
 * What the Confluence client asks of the connection layer, for an alias already resolved (no parent →
 * child step here). `current` is the hot path: memory only.
 */
export interface SessionProvider {
  /** A usable session straight from memory, or undefined (then call `get`). No I/O. */
  current: (resolvedAlias: string) => Session | undefined
  /** A session with a fresh token and a bound site, refreshing or binding as needed (a token request goes under `traceparent`, tracing on). */
  get: (resolvedAlias: string, traceparent?: string) => Promise<Session>
  /** After the upstream refused `staleToken`: one refresh, then the new session. */
  renew: (resolvedAlias: string, staleToken: string, traceparent?: string) => Promise<Session>
}
