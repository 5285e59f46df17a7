// Upstream retry rules for one Confluence call (docs/errors.md, docs/upstream.md):
// - 429 with a Retry-After no longer than the caller's limit: wait it out and try again (the request was not
//   processed, so this is safe for any action); otherwise the 429 goes back to the caller with Retry-After.
// - 502/504 (and the client's timeouts): bounded retries with jittered exponential backoff, only when a
//   repeat cannot do harm (idempotent action or a GET).
import { AppError } from '../errors/app-error'
import type { CallOptions, ConfluenceClient, ConfluenceRequest, ConfluenceResponse } from '../confluence/types'

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
  /** A job's calls: each request waits for a token of the site's shared budget (see ConfluenceRequest.paced). */
  paced?: boolean
}

export interface RetryDeps {
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  random: () => number
}

const TRANSIENT = new Set(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT'])

/** Calls through the client with the rules above; `onAttempt` sees each attempt's number. */
export async function callWithRetry (
  client: ConfluenceClient, alias: string, req: ConfluenceRequest, callOpts: CallOptions | undefined,
  opts: RetryOptions, deps: RetryDeps, onAttempt: (attempt: number) => void
): Promise<ConfluenceResponse> {
  const sent = opts.signal === undefined && opts.paced !== true ? req : { ...req, signal: opts.signal, paced: opts.paced }
  for (let attempt = 1; ; attempt++) {
    onAttempt(attempt)
    try {
      return await client.call(alias, sent, callOpts)
    } catch (err) {
      const delay = retryDelay(err, attempt, opts, deps.random)
      if (delay === undefined || opts.signal?.aborted === true) throw err
      await deps.sleep(delay, opts.signal)
    }
  }
}

/** Milliseconds to wait before the next attempt, or undefined to give up and throw. */
export function retryDelay (err: unknown, attempt: number, opts: RetryOptions, random: () => number): number | undefined {
  if (!(err instanceof AppError) || attempt >= opts.maxAttempts) return undefined
  if (err.code === 'UPSTREAM_RATE_LIMITED') {
    const after = err.retryAfter
    if (after === undefined || !(after >= 0) || after > opts.maxRetryAfterSeconds) return undefined
    // Up to 20% later than asked, so callers released together do not all return in the same instant.
    return Math.ceil(after * 1000 * (1 + 0.2 * random()))
  }
  if (TRANSIENT.has(err.code) && err.retryable && opts.retryTransient) {
    if (err.retryAfter !== undefined && err.retryAfter >= 0 && err.retryAfter <= opts.maxRetryAfterSeconds) return Math.ceil(err.retryAfter * 1000)
    const backoff = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1))
    return Math.round(backoff * (0.7 + 0.6 * random()))
  }
  return undefined
}

export function abortableSleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) { reject(signal.reason); return }
    const onAbort = (): void => { clearTimeout(timer); reject(signal!.reason) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
