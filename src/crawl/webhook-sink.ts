// The one place a crawl POSTs records to a receiver, through the shared signed delivery (http/signed-post:
// Standard Webhooks headers, the message id `<job id>.<sequence>` the same on every retry of a batch). Where
// it may deliver is the operator's callback address policy, checked when the job is accepted and at every
// send: a refusal fails the job at once (CALLBACK_URL_FORBIDDEN), a retry cannot change it. A receiver that
// is down is retried inline for a moment (`holdMs`), then the job gives its worker slot back and waits
// delayed (WaitLaterError), resuming from its checkpoint; after `giveUpMs` of outage in all the job fails
// (SINK_UNAVAILABLE), its checkpoint kept, so a retry of the job resumes where it stopped.
import { deliver, DeliveryRefusedError } from '../http/signed-post'
import { abortableSleep } from '../http/retry'
import type { AddressPolicy } from '../lib/address-policy'
import type { Tracing } from '../lib/tracing'
import { CallbackUrlForbiddenError, SinkUnavailableError } from '../errors/errors'
import { WaitLaterError } from '../lib/wait-later'
import type { CrawlRecord } from './types'

/** The checkpoint field that keeps when the receiver's outage began (a retry through the API clears it). */
export const OUTAGE_FIELD = 'webhookDownSince'

/** When the receiver's current outage began, kept across the job's runs (the job's checkpoint hash); `end` costs nothing when there is none. */
export interface OutageClock {
  since: () => Promise<number | undefined>
  start: (at: number) => Promise<void>
  end: () => Promise<void>
}

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
  /** Batch n is message `<messageIdPrefix>.<n>` (its `webhook-id`). */
  messageIdPrefix: string
  /** How long one run retries inline before it gives its worker slot back; undefined: retry inline until giveUpMs (no job, or batches were acknowledged since the last checkpoint). */
  holdMs?: number
  /** How long the receiver may stay down in all before the job fails. */
  giveUpMs: number
  outage?: OutageClock
}

export async function postBatch (opts: WebhookOptions, batch: { sequence: number, records: CrawlRecord[] }): Promise<void> {
  const body = JSON.stringify(batch)
  const firstFailure = { at: undefined as number | undefined }
  let downSince: number | undefined
  for (let attempt = 1; ; attempt++) {
    try {
      await deliver(opts.url, body, opts.secret, { policy: opts.policy, timeoutMs: opts.timeoutMs, tracing: opts.tracing, traceparent: opts.traceparent, operation: 'webhook', messageId: `${opts.messageIdPrefix}.${batch.sequence}` })
      await opts.outage?.end()
      return
    } catch (err) {
      if (opts.signal?.aborted === true) throw opts.signal.reason
      const reason = err instanceof Error ? err.message : String(err)
      if (err instanceof DeliveryRefusedError) {
        const message = `sink.url may not be called: ${reason}`
        throw new CallbackUrlForbiddenError(message, { retryable: false, errors: [{ in: 'body', path: '/input/sink/url', message }] })
      }
      opts.onRetry?.(attempt, reason)
      const now = Date.now()
      firstFailure.at ??= now
      if (downSince === undefined) {
        const saved = await opts.outage?.since()
        downSince = saved ?? now
        if (saved === undefined) await opts.outage?.start(now)
      }
      const downFor = now - downSince
      if (downFor >= opts.giveUpMs) {
        throw new SinkUnavailableError(`The webhook receiver accepted nothing for ${Math.round(downFor / 1000)} s (last: ${reason}); the job keeps its checkpoint: POST /v1/jobs/{id}/retry resumes it`, { retryable: false })
      }
      const delay = Math.round(Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.min(attempt - 1, 16)) * (0.8 + 0.4 * Math.random()))
      if (opts.holdMs !== undefined && now - firstFailure.at + delay > opts.holdMs) {
        // Waiting is all this run could do: give the slot back, come back when the outage may be over.
        const wait = Math.min(opts.maxDelayMs, Math.max(opts.baseDelayMs, downFor / 2), opts.giveUpMs - downFor)
        throw new WaitLaterError(`The webhook receiver is not accepting batches (${reason}); the job waits with its worker slot free and gives up after ${Math.round(opts.giveUpMs / 1000)} s of outage`, now + Math.round(wait), 'SINK_UNAVAILABLE')
      }
      await abortableSleep(Math.min(delay, opts.giveUpMs - downFor), opts.signal)
    }
  }
}
