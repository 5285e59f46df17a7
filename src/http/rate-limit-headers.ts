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

/**
 * Milliseconds to wait, as precisely as the answer allows: Retry-After is whole seconds, so when
 * X-RateLimit-Reset names an instant inside Retry-After's last second (the same wait, rounded up), that
 * instant is the end of the wait. A burst limit's 429 near the end of its one-second window then costs the
 * rest of that window, not a whole second more; a reset that passed while the answer travelled, nothing.
 */
export function retryAfterMs (retryAfter: string | undefined, reset: string | undefined, now = Date.now()): number | undefined {
  const seconds = parseRetryAfter(retryAfter, reset, now)
  if (seconds === undefined || retryAfter === undefined || retryAfter.trim() === '' || reset === undefined) return seconds === undefined ? undefined : seconds * 1000
  const at = resetInstant(reset.trim())
  const ms = seconds * 1000
  if (at === undefined) return ms
  const left = at - now
  if (left > ms - 1000 && left <= ms) return left
  // a one-second wait whose reset passed while the answer travelled: the window has already turned
  return ms <= 1000 && left > -1000 && left <= 0 ? 0 : ms
}

/** X-RateLimit-Reset as an instant (ISO time or epoch seconds/ms); undefined when it is a plain count of seconds. */
function resetInstant (reset: string): number | undefined {
  if (/^\d+$/.test(reset)) {
    const n = Number(reset)
    return n > 1e12 ? n : n > 1e9 ? n * 1000 : undefined
  }
  const t = Date.parse(reset)
  return Number.isNaN(t) ? undefined : t
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
