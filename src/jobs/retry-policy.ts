// Job-level retries (docs/api.md#the-alias-document, retryPolicy): when a retryable failure ends an attempt, how long until the
// next one — or undefined when the job must fail now (not retryable, attempts used up, or the next attempt
// would start after maxElapsedSeconds). Pure, so it is unit-tested without Redis.
import type { ResolvedConnection } from '../confluence/types'

export type RetryPolicy = ResolvedConnection['retryPolicy']

export interface FailedAttempt {
  retryable: boolean
  /** Seconds Confluence asked us to wait (Retry-After / X-RateLimit-Reset), when it said. */
  retryAfter?: number
}

const EXPONENTIAL_BASE_MS = 1_000
const EXPONENTIAL_MAX_MS = 5 * 60_000
const FIXED_DEFAULT_MS = 5_000

export function nextRetryDelay (
  policy: RetryPolicy, failure: FailedAttempt, attemptsMade: number, firstAttemptAt: number,
  now = Date.now(), random: () => number = Math.random
): number | undefined {
  if (!failure.retryable || attemptsMade >= policy.maxAttempts) return undefined
  const exponential = (): number => {
    const base = policy.delaySeconds !== undefined && policy.delaySeconds > 0 ? policy.delaySeconds * 1000 : EXPONENTIAL_BASE_MS
    return Math.round(Math.min(EXPONENTIAL_MAX_MS, base * 2 ** (attemptsMade - 1)) * (0.7 + 0.6 * random()))
  }
  const askedMs = failure.retryAfter !== undefined && failure.retryAfter >= 0 ? failure.retryAfter * 1000 : undefined
  let delay: number
  switch (policy.strategy) {
    case 'retry_after':
      // Up to 20% later than asked, so jobs released together do not all return in the same instant.
      delay = askedMs !== undefined ? Math.ceil(askedMs * (1 + 0.2 * random())) : exponential()
      break
    case 'exponential':
      delay = exponential()
      break
    case 'fixed':
      delay = policy.delaySeconds !== undefined ? policy.delaySeconds * 1000 : FIXED_DEFAULT_MS
      break
  }
  // Whatever the strategy, coming back before Confluence said we may is a wasted attempt.
  if (askedMs !== undefined) delay = Math.max(delay, askedMs)
  if (now + delay - firstAttemptAt > policy.maxElapsedSeconds * 1000) return undefined
  return delay
}
