// Delivers job callbacks: the final job JSON, signed, POSTed to the callbackUrl; BullMQ retries a failed
// delivery with exponential backoff, and the delivery state is written beside the job after each try.
import { isConnectionError } from '../lib/redis'
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { AddressPolicy } from '../lib/address-policy'
import type { Tracing } from '../lib/tracing'
import { deliver } from './callbacks'
import { DeliveryRefusedError } from '../http/signed-post'
import type { JobService } from './job-service'
import { bullPrefix, CALLBACK_QUEUE, type CallbackJobData } from './queues'

export interface CallbackWorkerOptions {
  keyPrefix: string
  secret: string
  policy: AddressPolicy
  timeoutMs?: number
  /** A client span per delivery when tracing is on (http/signed-post.ts). */
  tracing?: Tracing
}

/** How often a delivery queued just before its job ended looks again for the end. */
const FINISH_POLL_MS = 100

export function startCallbackWorker (deps: { jobs: JobService, connection: Redis, log: Logger }, opts: CallbackWorkerOptions): Worker<CallbackJobData> {
  const worker = new Worker<CallbackJobData>(CALLBACK_QUEUE, async (job: Job<CallbackJobData>, token?: string) => {
    const attempt = job.attemptsMade + 1
    const view = await deps.jobs.get(job.data.jobId).catch(() => undefined)
    if (view !== undefined && view.finishedAt === undefined && token !== undefined) {
      // Queued by the worker just before the job ends: wait for the end (this is not a delivery attempt).
      await job.moveToDelayed(Date.now() + FINISH_POLL_MS, token)
      throw new DelayedError()
    }
    try {
      if (view === undefined) throw new Error(`job ${job.data.jobId} cannot be read`)
      // The delivery's id is the message id: the same on every retry, another for another run of the job.
      await deliver(job.data.url, JSON.stringify(view), opts.secret, { policy: opts.policy, timeoutMs: opts.timeoutMs ?? 10_000, tracing: opts.tracing, traceparent: job.data.traceparent, operation: 'callback', messageId: String(job.id) })
      await deps.jobs.recordCallback(job.data.jobId, { state: 'delivered', attempts: attempt, deliveredAt: new Date().toISOString() })
    } catch (err) {
      const lastError = err instanceof Error ? err.message : String(err)
      // The address policy's refusal does not change with a retry: the delivery fails now.
      const refused = err instanceof DeliveryRefusedError
      const final = refused || attempt >= (job.opts.attempts ?? 1)
      await deps.jobs.recordCallback(job.data.jobId, { state: final ? 'failed' : 'retrying', attempts: attempt, lastError }).catch(() => {})
      deps.log.warn({ jobId: job.data.jobId, attempt, final, lastError }, 'job callback not delivered')
      throw refused ? new UnrecoverableError(lastError) : err
    }
  }, { connection: deps.connection, prefix: bullPrefix(opts.keyPrefix), concurrency: 4 })
  worker.on('error', (err) => { if (!isConnectionError(err)) deps.log.error({ err }, 'callback worker error') })
  return worker
}
