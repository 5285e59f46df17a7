// The one place a crawl POSTs records to a receiver: signed like job callbacks (X-Spoke-Signature, HMAC-SHA256
// with SPOKE_CALLBACK_SECRET), retried with capped exponential backoff for as long as the run lasts — a
// receiver that is down pauses the crawl, it loses nothing. Where it may deliver is the operator's callback
// address policy (lib/address-policy), checked at every send, as for job callbacks.
import { deliver } from '../http/signed-post'
import { abortableSleep } from '../http/retry'
import type { AddressPolicy } from '../lib/address-policy'
import type { Tracing } from '../lib/tracing'
import type { CrawlRecord } from './types'

export interface WebhookOptions {
  url: string
  secret: string
  policy: AddressPolicy
  batchSize: number
  timeoutMs: number
  signal?: AbortSignal
  /** first retry delay; doubles up to maxDelayMs */
  baseDelayMs: number
  maxDelayMs: number
  onRetry?: (attempt: number, reason: string) => void
  /** A client span per POST when tracing is on, under the run's span (`traceparent`). */
  tracing?: Tracing
  traceparent?: string
}

export async function postBatch (opts: WebhookOptions, batch: { sequence: number, records: CrawlRecord[] }): Promise<void> {
  const body = JSON.stringify(batch)
  for (let attempt = 1; ; attempt++) {
    try {
      await deliver(opts.url, body, opts.secret, { policy: opts.policy, timeoutMs: opts.timeoutMs, tracing: opts.tracing, traceparent: opts.traceparent, operation: 'webhook' })
      return
    } catch (err) {
      if (opts.signal?.aborted === true) throw opts.signal.reason
      opts.onRetry?.(attempt, err instanceof Error ? err.message : String(err))
      const delay = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.min(attempt - 1, 16))
      await abortableSleep(Math.round(delay * (0.8 + 0.4 * Math.random())), opts.signal)
    }
  }
}
