// Confluence's rate limits (https://developer.atlassian.com/cloud/confluence/rate-limiting/): an hourly points quota and a per-second burst limit,
// per app (client id) and tenant (cloudId). A quota applies to every request until its window resets
// ("no partial throttling"); the cost of a request is known after it ran, so it is charged then.

export interface RateLimitOptions {
  /** points per window; unset = no quota */
  pointsPerHour?: number
  /** requests per second per app and tenant; unset = no burst limit */
  burstPerSecond?: number
  /** 'global' = one quota per app across tenants (Tier 1); 'tenant' = per app and tenant (Tier 2) */
  pool?: 'global' | 'tenant'
  /** quota window length, 3600 in Confluence; shorter in tests */
  windowSeconds?: number
}

export type RateDecision = { ok: true, headers: Record<string, string> } | { ok: false, headers: Record<string, string> }

interface Window { start: number, used: number }

const NEAR_LIMIT = 0.8

export class RateLimiter {
  private readonly quota = new Map<string, Window>()
  private readonly burst = new Map<string, Window>()

  constructor (private options: RateLimitOptions = {}) {}

  configure (options: RateLimitOptions): void {
    this.options = options
    this.clear()
  }

  settings (): RateLimitOptions { return { ...this.options } }

  clear (): void {
    this.quota.clear()
    this.burst.clear()
  }

  /** Admission before the request runs: 429 headers when the quota or the burst is exhausted. */
  admit (clientId: string, cloudId: string, now = Date.now()): RateDecision {
    const { pointsPerHour, burstPerSecond } = this.options
    if (pointsPerHour !== undefined) {
      const w = this.quotaWindow(clientId, cloudId, now)
      if (w.used >= pointsPerHour) return { ok: false, headers: this.quotaHeaders(w, now, true) }
    }
    if (burstPerSecond !== undefined) {
      const key = `${clientId}|${cloudId}`
      const second = Math.floor(now / 1000) * 1000
      let w = this.burst.get(key)
      if (!w || w.start !== second) { w = { start: second, used: 0 }; this.burst.set(key, w) }
      if (w.used >= burstPerSecond) {
        return {
          ok: false,
          headers: {
            'Retry-After': '1',
            'X-RateLimit-Limit': String(burstPerSecond),
            'X-RateLimit-Remaining': '0',
            'X-RateLimit-Reset': new Date(second + 1000).toISOString(),
            'RateLimit-Reason': 'confluence-burst-based'
          }
        }
      }
      w.used++
    }
    return { ok: true, headers: {} }
  }

  /** Charges the points of a finished request; returns the near-limit headers for its response. */
  charge (clientId: string, cloudId: string, points: number, now = Date.now()): Record<string, string> {
    if (this.options.pointsPerHour === undefined) return {}
    const w = this.quotaWindow(clientId, cloudId, now)
    w.used += points
    return w.used >= this.options.pointsPerHour * NEAR_LIMIT ? this.quotaHeaders(w, now, false) : {}
  }

  private quotaWindow (clientId: string, cloudId: string, now: number): Window {
    const key = this.options.pool === 'global' ? clientId : `${clientId}|${cloudId}`
    const length = (this.options.windowSeconds ?? 3600) * 1000
    const start = Math.floor(now / length) * length
    let w = this.quota.get(key)
    if (!w || w.start !== start) { w = { start, used: 0 }; this.quota.set(key, w) }
    return w
  }

  private quotaHeaders (w: Window, now: number, exceeded: boolean): Record<string, string> {
    const limit = this.options.pointsPerHour as number
    const windowSeconds = this.options.windowSeconds ?? 3600
    const resetAt = w.start + windowSeconds * 1000
    const secondsLeft = Math.max(1, Math.ceil((resetAt - now) / 1000))
    const remaining = Math.max(0, limit - w.used)
    const policy = this.options.pool === 'global' ? 'global-app-quota' : 'tenant-app-quota'
    if (!exceeded) {
      return {
        'X-RateLimit-NearLimit': 'true',
        'Beta-RateLimit-Policy': `"${policy}";q=${limit};w=${windowSeconds}`,
        'Beta-RateLimit': `"${policy}";r=${remaining};t=${secondsLeft}`
      }
    }
    return {
      'Retry-After': String(secondsLeft),
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': new Date(resetAt).toISOString(),
      'X-RateLimit-NearLimit': 'true',
      'RateLimit-Reason': this.options.pool === 'global' ? 'confluence-quota-global-based' : 'confluence-quota-tenant-based',
      'RateLimit-Policy': `"${policy}";q=${limit};w=${windowSeconds}`,
      RateLimit: `"${policy}";r=0;t=${secondsLeft}`
    }
  }
}

/** Points of a request (the rate-limiting guide above): 1 base, +1 per core object read, +2 per identity object read; writes 1 flat. */
export function pointsOf (method: string, objects: { core?: number, identity?: number } | undefined): number {
  if (method !== 'GET') return 1
  return 1 + (objects?.core ?? 0) + 2 * (objects?.identity ?? 0)
}
