// Failed sign-ins per client address, in Redis so every api process counts the same attempts: a fixed window
// that starts at the first attempt. At the limit, sign-in answers 429 SIGN_IN_THROTTLED until the window ends,
// whatever key is sent (a guesser learns nothing from the answer). IPv6 clients count per /64, which one host
// usually owns whole.
//
// Counted first, checked after: each attempt takes its number in one atomic step (MULTI: create the window,
// INCR) before its key is looked at, and only the attempts numbered within the limit are checked. A parallel
// burst therefore gets at most `maxFailures` keys checked, however many requests arrive at once (a read of
// the count followed by a later increment let all of them through). A sign-in that succeeds gives its number
// back, so people signing in normally never fill the window.
//
// Bearer keys on the JSON API have their own failure count (ApiKeyFailureThrottle): only a refused key costs
// a Redis round-trip; a valid one is checked against this process's memory of throttled addresses.
import { isIP } from 'node:net'
import type { Redis } from 'ioredis'
import { embeddedIpv4, ipv6Groups } from './address-policy'

export const SIGN_IN_MAX_FAILURES = 10
export const SIGN_IN_WINDOW_SECONDS = 300
/** Wrong bearer keys tolerated per address and window (a client with a stale key retries more than a person). */
export const API_KEY_MAX_FAILURES = 20

export function clientBucket (ip: string): string {
  if (isIP(ip) !== 6) return ip
  const v4 = embeddedIpv4(ip)
  if (v4 !== undefined && ipv6Groups(ip)[5] === 0xffff) return v4 // ::ffff:a.b.c.d is that IPv4 client
  return `${ipv6Groups(ip).slice(0, 4).map(g => g.toString(16)).join(':')}::/64`
}

/** One atomic step: open the window if none, count this attempt; answers the count and the seconds left. */
async function countAttempt (redis: Redis, key: string, windowSeconds: number): Promise<{ count: number, ttl: number }> {
  const res = await redis.multi().set(key, 0, 'EX', windowSeconds, 'NX').incr(key).ttl(key).exec()
  const count = Number(res?.[1]?.[1] ?? 0)
  const ttl = Number(res?.[2]?.[1] ?? -1)
  return { count, ttl: ttl > 0 ? ttl : windowSeconds }
}

const GIVE_BACK = "if redis.call('ttl', KEYS[1]) > 0 then return redis.call('decr', KEYS[1]) end return 0"

export class SignInThrottle {
  constructor (private readonly redis: Redis, private readonly keyPrefix: string,
    private readonly maxFailures = SIGN_IN_MAX_FAILURES, private readonly windowSeconds = SIGN_IN_WINDOW_SECONDS) {}

  private key (ip: string): string { return `${this.keyPrefix}:signin:${clientBucket(ip)}` }

  /**
   * Counts this attempt, then answers whether it may be checked: 0 when it may (call `succeeded` if the key
   * is good), otherwise the seconds to wait. Every attempt counts until it is known to have succeeded.
   */
  async attempt (ip: string): Promise<{ retryAfter: number, failures: number }> {
    const { count, ttl } = await countAttempt(this.redis, this.key(ip), this.windowSeconds)
    return { retryAfter: count > this.maxFailures ? ttl : 0, failures: count }
  }

  /** A good key: its attempt is not a failure. */
  async succeeded (ip: string): Promise<void> {
    // only while the window lasts: a DECR after it ended would leave a key with no expiry (a window for ever)
    await this.redis.eval(GIVE_BACK, 1, this.key(ip))
  }
}

/**
 * Refused bearer keys per address (same buckets and window as sign-in, its own count). The count is shared in
 * Redis; each process also remembers the addresses it has seen over the limit, so it refuses every key from
 * them (a right one too) without asking Redis on each request.
 */
export class ApiKeyFailureThrottle {
  private readonly throttledUntil = new Map<string, number>()

  constructor (private readonly redis: Redis, private readonly keyPrefix: string,
    private readonly maxFailures = API_KEY_MAX_FAILURES, private readonly windowSeconds = SIGN_IN_WINDOW_SECONDS) {}

  private key (bucket: string): string { return `${this.keyPrefix}:keyfail:${bucket}` }

  /** Seconds this address must still wait, from this process's memory; 0 when it is not throttled here. */
  retryAfter (ip: string): number {
    if (this.throttledUntil.size === 0) return 0 // the usual case: nothing to look up (an IPv6 bucket costs µs to compute)
    const now = Date.now()
    const bucket = clientBucket(ip)
    const until = this.throttledUntil.get(bucket)
    if (until === undefined) return 0
    if (until <= now) { this.throttledUntil.delete(bucket); return 0 }
    return Math.ceil((until - now) / 1000)
  }

  /** Counts a refused key; answers the seconds to wait when the address is now over the limit (0 otherwise). */
  async recordFailure (ip: string): Promise<number> {
    const bucket = clientBucket(ip)
    const { count, ttl } = await countAttempt(this.redis, this.key(bucket), this.windowSeconds)
    if (count <= this.maxFailures) return 0
    if (this.throttledUntil.size > 10_000) this.throttledUntil.clear() // bounded memory under a spray of addresses
    this.throttledUntil.set(bucket, Date.now() + ttl * 1000)
    return ttl
  }
}
