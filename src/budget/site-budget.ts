// A rate budget per Confluence site (cloudId), shared by every process through Redis, so many workers
// together stay under the site's limit instead of each discovering 429s (the limits are per app and site,
// not per process: https://developer.atlassian.com/cloud/confluence/rate-limiting/).
// - A token bucket (SPOKE_SITE_RATE_PER_SECOND, SPOKE_SITE_BURST) taken atomically in Lua on Redis's clock.
//   Job runs take a token before each request, waiting up to their patience (reservations: one round trip,
//   and waiters leave in the order they asked). A busy process takes a few tokens per round trip (a lease
//   sized by its own recent demand, spent within 250 ms or dropped): the bucket still bounds the total,
//   and Redis sees one call per lease instead of one per request. While the bucket is dry every request
//   reserves its own token (one call each, which the rate itself bounds).
// - Tightened by what Confluence answers: a 429 (or X-RateLimit-Remaining: 0) pauses the whole site until
//   Retry-After / X-RateLimit-Reset (to the millisecond when the reset refines a whole-second Retry-After:
//   a burst window that turns in 50 ms costs 50 ms, not a second) and empties the bucket, keeping the
//   tokens already reserved for after the pause owed, so traffic resumes at the steady rate instead of all
//   at once; X-RateLimit-NearLimit with a known remaining quota caps the rate to what is left
//   spread over the time left.
// - Sync calls (the HTTP path) take no tokens — no Redis round trip on the hot path — but wait out a
//   site-wide pause (up to SPOKE_SYNC_RETRY_AFTER_MAX_SECONDS, else 429 at once), read from a per-process
//   cache refreshed at most every 250 ms, and they report the headers they see like everyone else.
// Redis trouble never blocks a call: the budget fails open.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
// It sits below the Confluence client (which is built with `hooks()`) and needs only Redis and the HTTP layer.
import type { RateBudget, SiteKey } from './rate-budget'
import { quotaLeft, retryAfterMs } from '../http/rate-limit-headers'
import { abortableSleep } from '../http/retry'
import { UpstreamRateLimitedError } from '../errors/errors'
import type { BudgetMetrics } from '../lib/metrics-spoke'

export interface SiteBudgetOptions {
  keyPrefix: string
  ratePerSecond: number
  burst: number
  /** How long a sync call may wait for a paused site before answering 429 itself. */
  syncPatienceMs: number
  /** How long a job's request may wait for a token before the attempt ends with UPSTREAM_RATE_LIMITED. */
  jobPatienceMs?: number
  log?: Logger
  /** Tokens granted, waits, pauses (lib/metrics-spoke.ts); none in tools. */
  metrics?: BudgetMetrics
}

// Up to ARGV[5] tokens at once. Returns { granted, waitMs }: tokens available now (waitMs 0), or one token
// reserved for an instant waitMs away, or { 0, waitMs } when the site is paused or the wait is too long.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'pause', 'cap', 'capUntil')
local pause = tonumber(b[3]) or 0
if pause > now then return {0, pause - now} end
local rate = tonumber(ARGV[1])
if (tonumber(b[5]) or 0) > now then rate = math.min(rate, tonumber(b[4])) end
local burst = tonumber(ARGV[2])
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
if ts < now then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end
local granted, wait = 1, 0
if tokens >= 1 then
  granted = math.min(tonumber(ARGV[5]), math.floor(tokens))
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
  if wait > tonumber(ARGV[3]) then return {0, wait} end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - granted), 'ts', math.max(now, ts))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {granted, wait}
`

// Pause the site for ARGV[1] ms (never shortening a longer pause); the bucket restarts empty at the end,
// still owing the tokens reserved for instants after it (those requests will be sent then: a bucket reset
// to 0 would hand their tokens out a second time, and the first window after the pause would overflow).
// ARGV[3] is the rate, to date the reservations.
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilTs = now + tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 'pause', 'tokens', 'ts')
local cur = tonumber(b[1]) or 0
if untilTs > cur then
  local tokens = tonumber(b[2]) or 0
  local ts = tonumber(b[3]) or now
  local owed = 0
  if tokens < 0 then owed = math.max(0, -tokens - math.max(0, untilTs - ts) * tonumber(ARGV[3]) / 1000) end
  redis.call('HSET', KEYS[1], 'pause', untilTs, 'tokens', tostring(-owed), 'ts', untilTs)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return math.max(untilTs, cur) - now
`

// Cap the rate at ARGV[1] tokens/s for ARGV[2] ms.
const CAP = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'cap', ARGV[1], 'capUntil', now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

// Milliseconds the site stays paused (0 when it is not).
const PAUSE_LEFT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('HGET', KEYS[1], 'pause')) or 0
return math.max(0, pause - now)
`

const KEY_TTL_MS = 2 * 3600_000
const PAUSE_CACHE_MS = 250
/** A 429 that names no wait still pauses the site briefly. */
const DEFAULT_PAUSE_MS = 1_000
/** Confluence has been seen to send Retry-After: Long.MAX: never pause longer than the quota window. */
const MAX_PAUSE_MS = 3600_000
const MIN_CAP_PER_SECOND = 0.05
/** Leased tokens not spent within this long are dropped (so a lease never delays another process by much). */
const LEASE_MS = 250
const MAX_LEASE = 16

/** This process's tokens of one site, and its demand (takes per LEASE_MS window) to size the next lease. */
interface Lease { tokens: number, expiresAt: number, fetching?: Promise<unknown>, windowStart: number, takes: number, lastTakes: number }

type BudgetRedis = Redis & {
  budgetTake: (key: string, rate: number, burst: number, maxWaitMs: number, ttlMs: number, want: number) => Promise<[number, number]>
  budgetPause: (key: string, ms: number, ttlMs: number, rate: number) => Promise<number>
  budgetCap: (key: string, rate: number, ms: number, ttlMs: number) => Promise<number>
  budgetPauseLeft: (key: string) => Promise<number>
}

export class SiteBudget {
  private readonly redis: BudgetRedis
  private readonly pauses = new Map<string, { until: number, checkedAt: number, pending?: Promise<number> }>()
  private readonly leases = new Map<string, Lease>()
  private readonly jobPatienceMs: number
  private readonly maxLease: number

  constructor (redis: Redis, private readonly opts: SiteBudgetOptions) {
    const r = redis as BudgetRedis
    if (typeof r.budgetTake !== 'function') {
      r.defineCommand('budgetTake', { numberOfKeys: 1, lua: TAKE })
      r.defineCommand('budgetPause', { numberOfKeys: 1, lua: PAUSE })
      r.defineCommand('budgetCap', { numberOfKeys: 1, lua: CAP })
      r.defineCommand('budgetPauseLeft', { numberOfKeys: 1, lua: PAUSE_LEFT })
    }
    this.redis = r
    this.jobPatienceMs = opts.jobPatienceMs ?? 60_000
    // A lease is a small share of the burst and of what the rate refills in one lease period.
    this.maxLease = Math.max(1, Math.min(MAX_LEASE, Math.floor(opts.burst / 4), Math.floor(opts.ratePerSecond * LEASE_MS / 1000)))
    if (opts.metrics !== undefined) {
      const pauses = this.pauses
      opts.metrics.pausesLeft = function * () { const now = Date.now(); for (const [id, e] of pauses) yield [id, e.until - now] }
    }
  }

  private key (cloudId: string): string { return `${this.opts.keyPrefix}:budget:{${cloudId}}` }

  /** Wait for a token of the site's bucket; UPSTREAM_RATE_LIMITED when that would take longer than `patienceMs`. */
  async take (cloudId: string, patienceMs: number, signal?: AbortSignal): Promise<void> {
    const m = this.opts.metrics
    if (m === undefined) return await this.takeToken(cloudId, patienceMs, signal)
    const started = Date.now()
    try {
      await this.takeToken(cloudId, patienceMs, signal)
    } finally {
      m.wait.labels(cloudId, 'job').observe((Date.now() - started) / 1000)
    }
  }

  private async takeToken (cloudId: string, patienceMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + patienceMs
    const lease = this.leaseOf(cloudId)
    for (;;) {
      if (lease.tokens > 0 && Date.now() < lease.expiresAt) { lease.tokens--; return }
      // One round trip at a time per site: whoever waits for it may find a token of the lease it brings.
      if (lease.fetching !== undefined) { await lease.fetching; continue }
      const want = Math.max(1, Math.min(this.maxLease, Math.max(lease.takes, lease.lastTakes)))
      const asked = this.redis.budgetTake(this.key(cloudId), this.opts.ratePerSecond, this.opts.burst, Math.max(0, deadline - Date.now()), KEY_TTL_MS, want)
      lease.fetching = asked.catch(() => {}).finally(() => { lease.fetching = undefined })
      let granted: number, waitMs: number
      try {
        [granted, waitMs] = await asked
      } catch (err) {
        this.opts.log?.debug({ err }, 'site budget unavailable; calling without it')
        return
      }
      if (granted > 0) this.opts.metrics?.granted.labels(cloudId).inc(granted)
      if (granted >= 1 && waitMs <= 0) {
        lease.tokens = granted - 1
        lease.expiresAt = Date.now() + LEASE_MS
        return
      }
      if (granted !== 1 && Date.now() + waitMs > deadline) {
        throw new UpstreamRateLimitedError(`The rate budget of site ${cloudId} has no room within ${Math.round(patienceMs / 1000)} s`, { retryAfter: Math.ceil(waitMs / 1000) })
      }
      await abortableSleep(waitMs, signal)
      // A reserved token is spent unless a 429 paused the site meanwhile (seen here at once, from another
      // process within 250 ms): then every reservation would meet the same full window, so ask again. The
      // pause forgave the reservations due inside it (PAUSE keeps owed only those due after it ends).
      if (granted === 1 && await this.pausedFor(cloudId) <= 0) return
      // It was a pause: ask again now that it is over.
    }
  }

  /** The site's lease, with this take counted in its demand window. */
  private leaseOf (cloudId: string): Lease {
    const now = Date.now()
    let lease = this.leases.get(cloudId)
    if (lease === undefined) { lease = { tokens: 0, expiresAt: 0, windowStart: now, takes: 0, lastTakes: 0 }; this.leases.set(cloudId, lease) }
    if (now - lease.windowStart >= LEASE_MS) {
      lease.lastTakes = now - lease.windowStart < 2 * LEASE_MS ? lease.takes : 0
      lease.takes = 0
      lease.windowStart = now
    }
    lease.takes++
    return lease
  }

  /** Milliseconds the site stays paused, from a per-process cache at most 250 ms old. */
  async pausedFor (cloudId: string): Promise<number> {
    const now = Date.now()
    let entry = this.pauses.get(cloudId)
    if (entry === undefined) { entry = { until: 0, checkedAt: 0 }; this.pauses.set(cloudId, entry) }
    if (now - entry.checkedAt > PAUSE_CACHE_MS) {
      const e = entry
      e.pending ??= this.redis.budgetPauseLeft(this.key(cloudId))
        .then((left) => { e.until = Date.now() + Number(left); return e.until }, () => e.until)
        .finally(() => { e.checkedAt = Date.now(); e.pending = undefined })
      await e.pending
    }
    return Math.max(0, entry.until - Date.now())
  }

  /** Learn from a response's status and rate-limit headers (the rate-limiting guide above). Never throws, never waits. */
  record (cloudId: string, status: number, headers: Record<string, string>): void {
    const remaining = headers['x-ratelimit-remaining']
    if (status === 429 || remaining === '0') {
      const after = retryAfterMs(headers['retry-after'], headers['x-ratelimit-reset'])
      const ms = after === undefined ? DEFAULT_PAUSE_MS : Math.min(MAX_PAUSE_MS, after)
      this.opts.metrics?.pauses.labels(cloudId, status === 429 ? 'rate_limited' : 'quota').inc()
      this.pauseLocally(cloudId, ms)
      this.redis.budgetPause(this.key(cloudId), ms, KEY_TTL_MS, this.opts.ratePerSecond).catch((err: unknown) => this.opts.log?.debug({ err }, 'site budget pause not recorded'))
      return
    }
    if (headers['x-ratelimit-nearlimit'] === 'true') {
      const left = quotaLeft(headers)
      if (left === undefined) return
      const rate = Math.max(MIN_CAP_PER_SECOND, left.remaining / Math.max(1, left.seconds))
      if (rate >= this.opts.ratePerSecond) return
      this.redis.budgetCap(this.key(cloudId), rate, left.seconds * 1000, KEY_TTL_MS).catch((err: unknown) => this.opts.log?.debug({ err }, 'site budget cap not recorded'))
    }
  }

  private pauseLocally (cloudId: string, ms: number): void {
    const lease = this.leases.get(cloudId)
    if (lease !== undefined) lease.tokens = 0
    const until = Date.now() + ms
    const entry = this.pauses.get(cloudId)
    if (entry === undefined) this.pauses.set(cloudId, { until, checkedAt: Date.now() })
    else if (until > entry.until) entry.until = until
  }

  /** The Confluence client's budget: jobs take tokens, sync calls respect pauses, everyone reports. */
  hooks (): Required<RateBudget> {
    return {
      beforeRequest: async (site: SiteKey, req) => {
        if (req.paced === true) return await this.take(site.cloudId, this.jobPatienceMs, req.signal)
        const paused = await this.pausedFor(site.cloudId)
        if (paused <= 0) return
        if (paused > this.opts.syncPatienceMs) {
          throw new UpstreamRateLimitedError(`Confluence site ${site.cloudId} is rate limited for another ${Math.ceil(paused / 1000)} s`, { retryAfter: Math.ceil(paused / 1000) })
        }
        const started = Date.now()
        await abortableSleep(paused)
        this.opts.metrics?.wait.labels(site.cloudId, 'sync').observe((Date.now() - started) / 1000)
      },
      afterResponse: (site: SiteKey, status: number, headers: Record<string, string>) => {
        if (status === 429 || headers['x-ratelimit-remaining'] === '0' || headers['x-ratelimit-nearlimit'] === 'true') this.record(site.cloudId, status, headers)
      }
    }
  }
}
