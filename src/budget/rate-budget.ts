// The plug point the Confluence client is built with: a per-site rate budget. `beforeRequest` may wait (or
// throw UPSTREAM_RATE_LIMITED) before each upstream request; `afterResponse` sees every answer's status and
// headers (X-RateLimit-*, Retry-After). Keep both cheap: they sit on every call.

/** What a per-site rate budget keys on. */
export interface SiteKey { alias: string, cloudId: string, origin: string }

/** What of a request the budget looks at. */
export interface BudgetedRequest {
  /** A background (job) request: it waits for a token of the site's budget; others only respect a site-wide pause. */
  paced?: boolean
  signal?: AbortSignal
}

export interface RateBudget {
  beforeRequest?: (site: SiteKey, req: BudgetedRequest) => void | Promise<void>
  afterResponse?: (site: SiteKey, status: number, headers: Record<string, string>) => void
}

/** No budget at all (unit tests, tools). */
export const NO_BUDGET: RateBudget = {}
