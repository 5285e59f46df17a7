// Pure parts of the jobs feature: retry delays from the alias's retryPolicy, callback URL rules and
// signatures, public job states, rate-limit header parsing.
import { createHmac } from 'node:crypto'
import { nextRetryDelay, type RetryPolicy } from '../../src/jobs/retry-policy'
import { callbackUrlProblem, sign } from '../../src/jobs/callbacks'
import { errorFromReason, publicState } from '../../src/jobs/job-view'
import { quotaLeft } from '../../src/jobs/site-budget'
import { JOB_ID_PATTERN, bullPrefix, newJobId } from '../../src/jobs/queues'

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

describe('callbacks', () => {
  it('signs the body with HMAC-SHA256', () => {
    expect(sign('{"a":1}', 's3cret')).toBe(`sha256=${createHmac('sha256', 's3cret').update('{"a":1}').digest('hex')}`)
  })
  it('refuses non-http(s) and credentials (where a URL points: test/unit/address-policy.test.ts)', () => {
    expect(callbackUrlProblem('https://hooks.example.com/x')).toBeUndefined()
    for (const bad of ['ftp://x.example/y', 'not a url', 'https://u:p@x.example/']) {
      expect([bad, callbackUrlProblem(bad)]).toEqual([bad, expect.any(String)])
    }
  })
})

describe('job views', () => {
  it('maps BullMQ states and cancel markers to public states', () => {
    expect(publicState('failed', { cancelRequested: false, error: { code: 'JOB_CANCELLED', message: '', retryable: false } })).toBe('cancelled')
    expect(publicState('failed', { cancelRequested: false })).toBe('failed')
    expect(publicState('waiting', { cancelRequested: true })).toBe('cancelled')
    expect(publicState('prioritized', { cancelRequested: false })).toBe('waiting')
    expect(publicState('delayed', { cancelRequested: false })).toBe('delayed')
    expect(publicState('unknown', { cancelRequested: false })).toBeUndefined()
  })
  it('reads CODE: message failure reasons', () => {
    expect(errorFromReason('UPSTREAM_NOT_FOUND: no page')).toEqual({ code: 'UPSTREAM_NOT_FOUND', message: 'no page', retryable: false })
    expect(errorFromReason('boom')).toEqual({ code: 'INTERNAL', message: 'boom', retryable: false })
  })
  it('makes ids that sort by creation time', () => {
    const a = newJobId(1_700_000_000_000)
    const b = newJobId(1_700_000_000_001)
    expect(a < b).toBe(true)
    expect(JOB_ID_PATTERN.test(a)).toBe(true)
    expect(bullPrefix('spoke')).toBe('{spoke}:bull')
    expect(bullPrefix('{tenant}:spoke')).toBe('{tenant}:spoke:bull')
  })
})

describe('quotaLeft', () => {
  it('reads the tightest remaining/seconds entry of RateLimit or Beta-RateLimit', () => {
    expect(quotaLeft({ 'beta-ratelimit': '"global-app-quota";r=11000;t=600' })).toEqual({ remaining: 11_000, seconds: 600 })
    expect(quotaLeft({ ratelimit: '"global-app-quota";r=100;t=10, "tenant-app-quota";r=50;t=100' })).toEqual({ remaining: 50, seconds: 100 })
    expect(quotaLeft({})).toBeUndefined()
  })
})
