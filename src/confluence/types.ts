// The seam between the action engine and the Confluence client. The engine renders requests and maps
// responses; the client owns the session → gateway URL part (sessions come from the connection layer), the
// one re-send after a token renew on a 401 (or a 403/404 after the stored expiry), and the translation of
// upstream failures into AppErrors.
import type { ConfluenceSite, ResolvedConnection } from '../connections/types'

export type { ConfluenceSite }

/** Whom to call as: an alias id (resolved first: parent → active child), or a connection already resolved. */
export type CallAs = string | ResolvedConnection

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export type QueryValue = string | number | boolean | Array<string | number | boolean>

/** A request body is JSON (any value), a string with its own content-type header, or a multipart upload (./multipart.ts). */
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
  /** The metrics label of this request (overrides `call`'s `operation`, the action id); else a route template of the path. */
  operation?: string
  /**
   * A file download: a redirect to the file's media URL is followed (without the bearer token: that URL carries
   * its own), and the 2xx answer's body comes back unread, a stream for the caller to consume or destroy.
   */
  download?: boolean
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

export interface ConfluenceClient {
  /**
   * One request as the (resolved) alias. Throws AppErrors: CONNECTION_NOT_FOUND, CONNECTION_NOT_AUTHORIZED,
   * UPSTREAM_NOT_FOUND / FORBIDDEN / SCOPE_MISSING / INVALID / RATE_LIMITED (retryAfter set) /
   * UNAVAILABLE / TIMEOUT, each with `retryable` set.
   */
  call: (as: CallAs, req: ConfluenceRequest, opts?: CallOptions, operation?: string) => Promise<ConfluenceResponse>
  /** The bound site of an alias (for absolute URLs in outputs). */
  site: (as: CallAs, traceparent?: string) => Promise<ConfluenceSite>
}
