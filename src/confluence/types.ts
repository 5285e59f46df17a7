// The seam between the action engine and the connection/token layer. The engine renders requests and
// maps responses; the client owns the alias → token → cloudId → gateway URL part, the one refresh-and-retry
// on a 401 (or a 403/404 after the stored expiry), and the translation of upstream failures into AppErrors.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export type QueryValue = string | number | boolean | Array<string | number | boolean>

export interface ConfluenceRequest {
  method: HttpMethod
  /**
   * A path relative to the base (e.g. `/wiki/api/v2/pages/123`), or an absolute URL on the same base
   * (a `_links.next` / `Link` URL already resolved by the caller).
   */
  path: string
  query?: Record<string, QueryValue | undefined>
  body?: unknown
  headers?: Record<string, string>
  /**
   * `confluence` (default): `{connectionUrl}ex/confluence/{cloudId}`;
   * `api`: the Atlassian API host itself (`{connectionUrl}`, e.g. `/oauth/token/accessible-resources`).
   */
  base?: 'confluence' | 'api'
  signal?: AbortSignal
  timeoutMs?: number
  /** A background (job) request: it waits for a token of the site's shared rate budget; others only respect a site-wide pause. */
  paced?: boolean
}

export interface ConfluenceResponse {
  status: number
  /** Lower-cased header names. */
  headers: Record<string, string>
  body: unknown
  /** The absolute URL that was called. */
  url: string
}

export interface CallOptions {
  /** Non-2xx statuses to return instead of throwing (e.g. 404 on a remove that is already done). */
  okStatuses?: number[]
}

export interface ConfluenceSite { cloudId: string, url: string }

export interface ConfluenceClient {
  /**
   * One request as the (resolved) alias. Throws AppErrors: CONNECTION_NOT_FOUND, CONNECTION_NOT_AUTHORIZED,
   * UPSTREAM_NOT_FOUND / FORBIDDEN / SCOPE_MISSING / INVALID / RATE_LIMITED (retryAfter set) /
   * UNAVAILABLE / TIMEOUT, each with `retryable` set.
   */
  call: (alias: string, req: ConfluenceRequest, opts?: CallOptions) => Promise<ConfluenceResponse>
  /** The bound site of an alias (for absolute URLs in outputs). */
  site: (alias: string) => Promise<ConfluenceSite>
}

export interface ResolvedConnection {
  /** The alias named in the request (default `confluence_cloud`). */
  requested: string
  /** The alias actually used: the requested one, or the active child of a parent. */
  resolved: string
  /** Managed groups of the resolved alias (membership writes are refused for any other group). */
  managedGroups: Array<{ groupId: string, name?: string }>
  retryPolicy: { strategy: 'retry_after' | 'exponential' | 'fixed', maxAttempts: number, maxElapsedSeconds: number, delaySeconds?: number }
  /** Scopes the alias asked for and, once known, the scopes granted. */
  scopes: string[]
  grantedScopes?: string[]
}

export interface ConnectionResolver {
  /** Throws CONNECTION_NOT_FOUND when the alias (or the parent's active child) does not exist. */
  resolve: (requested?: string) => Promise<ResolvedConnection>
}
