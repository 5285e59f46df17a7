// Wiring of the run-action worker: the BullMQ Worker (concurrency, locks and stalled-job recovery), the
// retry delay chosen by the processor, cross-process cancellation, and queuing the callback when a job ends
// (by the processor just before it ends, and by the 'failed' event for jobs that end without it, such as a
// job failed after stalling too often; one delivery id per run makes the two one).
import { isConnectionError } from '../lib/redis'
import { Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { UNCANCEL, type JobService } from './job-service'
import { createRunActionProcessor, type ProcessorDeps } from './run-action.processor'
import { bullPrefix, callbackDeliveryId, RUN_ACTION_QUEUE, type CallbackJobData, type RunActionJobData, type RunActionResult } from './queues'

export interface RunActionWorkerOptions {
  keyPrefix: string
  concurrency: number
  /** Lock of an active job; a worker that dies loses it and the job goes back to waiting after about this long. */
  lockDurationMs: number
  /** Deliveries of a job's callback. */
  callback: { attempts: number, backoffMs: number }
  /** This process's worker id (host:pid): BullMQ records it on each job it takes (the job view's `worker`). */
  name?: string
}

export function startRunActionWorker (deps: Omit<ProcessorDeps, 'cancelledLately' | 'beforeEnd'> & { connection: Redis, subscriber: Redis, log: Logger }, opts: RunActionWorkerOptions): Worker<RunActionJobData, RunActionResult> {
  const recentCancels = new RecentCancels()
  const processor = createRunActionProcessor({
    ...deps,
    cancelledLately: (id) => recentCancels.has(id),
    // Queued before the job is marked finished, so a worker that dies in between cannot lose it.
    beforeEnd: async (job) => { await queueCallback(deps.jobs, job, opts.callback, deps.log) }
  })
  const worker = new Worker<RunActionJobData, RunActionResult>(RUN_ACTION_QUEUE, processor, {
    connection: deps.connection,
    prefix: bullPrefix(opts.keyPrefix),
    name: opts.name,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs,
    stalledInterval: opts.lockDurationMs,
    // A job whose worker died twice is still worth a third try (kills during deploys are not the job's fault).
    maxStalledCount: 2,
    settings: {
      backoffStrategy: (_attemptsMade, _type, err) => (err as { retryDelayMs?: number } | undefined)?.retryDelayMs ?? 1_000
    }
  })
  worker.on('error', (err) => { if (!isConnectionError(err)) deps.log.error({ err }, 'run-action worker error') })
  // A completed job's callback was queued by the processor (beforeEnd); only a failure can end a job without it.
  worker.on('completed', (job) => { deps.jobs.metrics.completed.inc({ action: job.data.actionId }) })
  worker.on('failed', (job) => {
    // finishedOn is set only when BullMQ gives up; a retry scheduled with a delay leaves it unset.
    if (job !== undefined && job.finishedOn !== undefined) void queueCallback(deps.jobs, job, opts.callback, deps.log)
  })
  worker.on('stalled', (jobId) => deps.log.warn({ jobId }, 'job stalled (its worker stopped); it runs again'))

  // Cancel requests come from any api process; the worker that holds the job aborts it. Every other
  // worker keeps the id briefly: it may have just taken the job, before the flag was set, and not started it.
  deps.subscriber.on('message', (channel, message) => {
    if (channel !== deps.jobs.keys.cancelChannel) return
    if (message.startsWith(UNCANCEL)) { recentCancels.delete(message.slice(UNCANCEL.length)); return }
    if (worker.cancelJob(message, 'cancelled')) deps.log.info({ jobId: message }, 'active job aborted')
    else recentCancels.add(message)
  })
  deps.subscriber.subscribe(deps.jobs.keys.cancelChannel).catch((err: unknown) => deps.log.error({ err }, 'cancel subscription failed'))
  return worker
}

/** Cancel messages of the last second, for jobs that were not running here when they came. */
class RecentCancels {
  private static readonly KEEP_MS = 1_000
  private readonly seen = new Map<string, number>()

  add (id: string): void {
    const now = Date.now()
    for (const [old, at] of this.seen) { if (now - at <= RecentCancels.KEEP_MS) break; this.seen.delete(old) }
    this.seen.set(id, now)
  }

  delete (id: string): void { this.seen.delete(id) }

  has (id: string): boolean {
    const at = this.seen.get(id)
    return at !== undefined && Date.now() - at <= RecentCancels.KEEP_MS
  }
}

async function queueCallback (jobs: JobService, job: Job<RunActionJobData, RunActionResult>, opts: { attempts: number, backoffMs: number }, log: Logger): Promise<void> {
  const url = job.data.callbackUrl
  if (url === undefined) return
  const id = String(job.id)
  try {
    await jobs.recordCallbackPending(id)
    const data: CallbackJobData = { jobId: id, url }
    if (job.data.traceparent !== undefined) data.traceparent = job.data.traceparent
    await jobs.callbackQueue.add('deliver', data, {
      jobId: callbackDeliveryId(job),
      attempts: opts.attempts,
      backoff: { type: 'exponential', delay: opts.backoffMs }
    })
  } catch (err) {
    log.error({ err, jobId: id }, 'callback not queued')
  }
}
