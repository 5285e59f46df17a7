// What an upstream answer says about waiting: Retry-After / X-RateLimit-Reset (how long) and the
// RateLimit / Beta-RateLimit quota (how much is left). Pure; shared by the token endpoint, the Confluence
// client's error mapping and the site budget.
import type { RawResponse } from './send'

/** Seconds to wait, from `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset` (ISO time or epoch seconds). */
export function parseRetryAfter (retryAfter: string | undefined, reset: string | undefined, now = Date.now()): number | undefined {
  if (retryAfter !== undefined && retryAfter.trim() !== '') {
    const s = retryAfter.trim()
    if (/^\d+(\.\d+)?$/.test(s)) return Math.ceil(Number(s))
    const t = Date.parse(s)
    if (!Number.isNaN(t)) return Math.max(0, Math.ceil((t - now) / 1000))
  }
  if (reset !== undefined && reset.trim() !== '') {
    const s = reset.trim()
    if (/^\d+$/.test(s)) {
      const n = Number(s)
      // epoch seconds (or ms) in the future, else a number of seconds
      if (n > 1e12) return Math.max(0, Math.ceil((n - now) / 1000))
      if (n > 1e9) return Math.max(0, Math.ceil(n - now / 1000))
      return n
    }
    const t = Date.parse(s)
    if (!Number.isNaN(t)) return Math.max(0, Math.ceil((t - now) / 1000))
  }
  return undefined
}

/** The wait a response asks for (Retry-After, else X-RateLimit-Reset). */
export function retryAfterOf (res: Pick<RawResponse, 'headers'>): number | undefined {
  return parseRetryAfter(res.headers['retry-after'], res.headers['x-ratelimit-reset'])
}

/** Remaining quota and seconds to its reset, from `RateLimit` / `Beta-RateLimit` (`"policy";r=11000;t=600`). */
export function quotaLeft (headers: Record<string, string>): { remaining: number, seconds: number } | undefined {
  const raw = headers.ratelimit ?? headers['beta-ratelimit']
  if (raw === undefined) return undefined
  let best: { remaining: number, seconds: number } | undefined
  for (const entry of raw.split(',')) {
    const r = /;\s*r=(\d+)/.exec(entry)
    const t = /;\s*t=(\d+)/.exec(entry)
    if (r === null || t === null) continue
    const cand = { remaining: Number(r[1]), seconds: Number(t[1]) }
    if (best === undefined || cand.remaining / Math.max(1, cand.seconds) < best.remaining / Math.max(1, best.seconds)) best = cand
  }
  return best
}
