// The one home of the wait-and-try-again rules for upstream failures (docs/errors.md, docs/jobs.md):
// - per call (`retryDelay`, `withRetries`): a 429 whose Retry-After fits the caller's limit is waited out
//   (the request was not processed, so any action may repeat it); 502/504 and timeouts get bounded,
//   jittered exponential backoff, only when a repeat cannot do harm (idempotent action or a GET);
// - per job attempt (`nextRetryDelay`): the alias's retryPolicy, applied by the worker through BullMQ.
// Two re-sends live elsewhere on purpose, because they repair a credential rather than wait: the Confluence
// client's one re-send after renewing a refused token (only it sees the 401; confluence/client.ts), and the
// token refresher's one re-try with a refresh token a sibling process rotated (it needs the refresh lock;
// connections/token-refresher.ts).
import { AppError } from '../errors/app-error'

/** An alias's job-level retry policy (docs/api.md#the-alias-document). */
export interface RetryPolicy {
  strategy: 'retry_after' | 'exponential' | 'fixed'
  maxAttempts: number
  maxElapsedSeconds: number
  delaySeconds?: number
}

export interface RetryOptions {
  /** Attempts per call, including the first. */
  maxAttempts: number
  /** Longest Retry-After (seconds) to wait out. */
  maxRetryAfterSeconds: number
  /** Repeats after 5xx/timeouts are allowed. */
  retryTransient: boolean
  baseDelayMs: number
  maxDelayMs: number
  signal?: AbortSignal
}

export interface RetryDeps {
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  random: () => number
  /** Told before each wait (metrics: spoke_upstream_retries_total by reason). */
  onRetry?: (reason: RetryReason) => void
}

export type RetryReason = 'rate_limited' | 'unavailable' | 'timeout'

const TRANSIENT = new Set(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT'])

/** Runs `attempt` with the per-call rules above; `onAttempt` sees each attempt's number. */
export async function withRetries<T> (
  attempt: () => Promise<T>, opts: RetryOptions, deps: RetryDeps, onAttempt: (n: number) => void
): Promise<T> {
  for (let n = 1; ; n++) {
    onAttempt(n)
    try {
      return await attempt()
    } catch (err) {
      const delay = retryDelay(err, n, opts, deps.random)
      if (delay === undefined || opts.signal?.aborted === true) throw err
      deps.onRetry?.(reasonOf(err as AppError))
      await deps.sleep(delay, opts.signal)
    }
  }
}

function reasonOf (err: AppError): RetryReason {
  return err.code === 'UPSTREAM_RATE_LIMITED' ? 'rate_limited' : err.code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'unavailable'
}

/** Milliseconds to wait before the next attempt of one call, or undefined to give up and throw. */
export function retryDelay (err: unknown, attempt: number, opts: RetryOptions, random: () => number): number | undefined {
  if (!(err instanceof AppError) || attempt >= opts.maxAttempts) return undefined
  if (err.code === 'UPSTREAM_RATE_LIMITED') {
    const after = err.retryAfter
    if (after === undefined || !(after >= 0) || after > opts.maxRetryAfterSeconds) return undefined
    return laterThanAsked(after * 1000, random)
  }
  if (TRANSIENT.has(err.code) && err.retryable && opts.retryTransient) {
    if (err.retryAfter !== undefined && err.retryAfter >= 0 && err.retryAfter <= opts.maxRetryAfterSeconds) return Math.ceil(err.retryAfter * 1000)
    return backoff(opts.baseDelayMs, opts.maxDelayMs, attempt, random)
  }
  return undefined
}

export interface FailedAttempt {
  retryable: boolean
  /** Seconds Confluence asked us to wait (Retry-After / X-RateLimit-Reset), when it said. */
  retryAfter?: number
}

const EXPONENTIAL_BASE_MS = 1_000
const EXPONENTIAL_MAX_MS = 5 * 60_000
const FIXED_DEFAULT_MS = 5_000

/**
 * Job level: how long until the next attempt, or undefined when the job must fail now (not retryable,
 * attempts used up, or the next attempt would start after maxElapsedSeconds). Pure.
 */
export function nextRetryDelay (
  policy: RetryPolicy, failure: FailedAttempt, attemptsMade: number, firstAttemptAt: number,
  now = Date.now(), random: () => number = Math.random
): number | undefined {
  if (!failure.retryable || attemptsMade >= policy.maxAttempts) return undefined
  const exponential = (): number => {
    const base = policy.delaySeconds !== undefined && policy.delaySeconds > 0 ? policy.delaySeconds * 1000 : EXPONENTIAL_BASE_MS
    return backoff(base, EXPONENTIAL_MAX_MS, attemptsMade, random)
  }
  const askedMs = failure.retryAfter !== undefined && failure.retryAfter >= 0 ? failure.retryAfter * 1000 : undefined
  let delay: number
  switch (policy.strategy) {
    case 'retry_after':
      delay = askedMs !== undefined ? laterThanAsked(askedMs, random) : exponential()
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

/** Up to 20% later than asked, so callers released together do not all return in the same instant. */
function laterThanAsked (askedMs: number, random: () => number): number {
  return Math.ceil(askedMs * (1 + 0.2 * random()))
}

/** base · 2^(attempt-1), capped, with ±30% jitter. */
function backoff (baseMs: number, maxMs: number, attempt: number, random: () => number): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** (attempt - 1)) * (0.7 + 0.6 * random()))
}

export function abortableSleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(signal.reason); return }
    const onAbort = (): void => { clearTimeout(timer); reject(signal!.reason) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
