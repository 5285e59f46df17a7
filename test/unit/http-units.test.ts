// Pure parts of the outbound HTTP layer: retry delays (per call and per job attempt), Retry-After and
// rate-limit header parsing.
import { nextRetryDelay, type RetryPolicy } from '../../src/http/retry'
import { parseRetryAfter, quotaLeft, retryAfterMs } from '../../src/http/rate-limit-headers'

const T0 = 1_000_000
const half = (): number => 0.5
const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({ strategy: 'retry_after', maxAttempts: 4, maxElapsedSeconds: 600, ...p })

describe('nextRetryDelay', () => {
  it('never retries a non-retryable error, nor past maxAttempts', () => {
    expect(nextRetryDelay(policy({}), { retryable: false }, 1, T0, T0, half)).toBeUndefined()
    expect(nextRetryDelay(policy({ maxAttempts: 3 }), { retryable: true }, 3, T0, T0, half)).toBeUndefined()
    expect(nextRetryDelay(policy({ maxAttempts: 3 }), { retryable: true }, 2, T0, T0, half)).toBeDefined()
  })
  it('retry_after honours Retry-After (up to 20% later), else backs off exponentially', () => {
    expect(nextRetryDelay(policy({}), { retryable: true, retryAfter: 10 }, 1, T0, T0, half)).toBe(11_000)
    expect(nextRetryDelay(policy({}), { retryable: true }, 1, T0, T0, half)).toBe(1_000)
    expect(nextRetryDelay(policy({}), { retryable: true }, 3, T0, T0, half)).toBe(4_000)
  })
  it('exponential doubles from delaySeconds with jitter, capped; fixed waits delaySeconds', () => {
    expect(nextRetryDelay(policy({ strategy: 'exponential', delaySeconds: 2 }), { retryable: true }, 2, T0, T0, () => 0)).toBe(2_800)
    expect(nextRetryDelay(policy({ strategy: 'exponential', delaySeconds: 2 }), { retryable: true }, 2, T0, T0, () => 1)).toBe(5_200)
    expect(nextRetryDelay(policy({ strategy: 'exponential', maxAttempts: 20, maxElapsedSeconds: 86_400 }), { retryable: true }, 19, T0, T0, half)).toBe(300_000)
    expect(nextRetryDelay(policy({ strategy: 'fixed', delaySeconds: 30 }), { retryable: true }, 1, T0, T0, half)).toBe(30_000)
  })
  it('never comes back before Retry-After, whatever the strategy', () => {
    expect(nextRetryDelay(policy({ strategy: 'fixed', delaySeconds: 1 }), { retryable: true, retryAfter: 20 }, 1, T0, T0, half)).toBe(20_000)
  })
  it('gives up when the next attempt would start after maxElapsedSeconds', () => {
    expect(nextRetryDelay(policy({ maxElapsedSeconds: 60 }), { retryable: true, retryAfter: 30 }, 1, T0, T0 + 40_000, () => 0)).toBeUndefined()
    expect(nextRetryDelay(policy({ maxElapsedSeconds: 60 }), { retryable: true, retryAfter: 30 }, 1, T0, T0 + 20_000, () => 0)).toBe(30_000)
  })
})

describe('upstream answers', () => {
  it('parses Retry-After and X-RateLimit-Reset', () => {
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('7', undefined, now)).toBe(7)
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', undefined, now)).toBe(30)
    expect(parseRetryAfter(undefined, '2026-01-01T00:00:12Z', now)).toBe(12)
    expect(parseRetryAfter(undefined, String(now / 1000 + 5), now)).toBe(5)
    expect(parseRetryAfter(undefined, undefined, now)).toBeUndefined()
  })
  it('refines a whole-second Retry-After by an X-RateLimit-Reset inside its last second', () => {
    const now = Date.parse('2026-01-01T00:00:00.800Z')
    // a burst window that turns in 200 ms: Retry-After 1 is that, rounded up
    expect(retryAfterMs('1', '2026-01-01T00:00:01.000Z', now)).toBe(200)
    expect(retryAfterMs('3', '2026-01-01T00:00:03.000Z', now)).toBe(2_200)
    // the window turned while the answer travelled: no wait left
    expect(retryAfterMs('1', '2026-01-01T00:00:00.750Z', now)).toBe(0)
    // a reset that is not the same wait (another window, an hour's quota, long past) leaves Retry-After alone
    expect(retryAfterMs('1', '2026-01-01T01:00:00.000Z', now)).toBe(1_000)
    expect(retryAfterMs('5', '2026-01-01T00:00:00.750Z', now)).toBe(5_000)
    expect(retryAfterMs('1', '2025-12-31T23:59:59.000Z', now)).toBe(1_000)
    expect(retryAfterMs('1', '30', now)).toBe(1_000)
    expect(retryAfterMs('2', undefined, now)).toBe(2_000)
    expect(retryAfterMs(undefined, '2026-01-01T00:00:12.000Z', now)).toBe(12_000)
    expect(retryAfterMs(undefined, undefined, now)).toBeUndefined()
  })
})

describe('quotaLeft', () => {
  it('reads the tightest remaining/seconds entry of RateLimit or Beta-RateLimit', () => {
    expect(quotaLeft({ 'beta-ratelimit': '"global-app-quota";r=11000;t=600' })).toEqual({ remaining: 11_000, seconds: 600 })
    expect(quotaLeft({ ratelimit: '"global-app-quota";r=100;t=10, "tenant-app-quota";r=50;t=100' })).toEqual({ remaining: 50, seconds: 100 })
    expect(quotaLeft({})).toBeUndefined()
  })
})
