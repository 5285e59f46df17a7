// Runs one run-action job: the same engine as a sync call, told it runs as a job (checkpoints, the abort
// signal, requests paced by the site's shared budget). The context is passed explicitly rather than through
// AsyncLocalStorage, whose promise hooks would tax every await in the process.
// The only place that knows BullMQ's retry semantics: a non-retryable error (or a cancel) becomes
// UnrecoverableError, a retryable one carries the delay the alias's retryPolicy asks for (read by the
// worker's backoffStrategy).
import { setMaxListeners } from 'node:events'
import { DelayedError, UnrecoverableError, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ActionEngine } from '../actions/execute-action'
import type { Checkpoint, ProgressUpdate } from '../actions/handlers/types'
import type { ConnectionResolver } from '../connections/types'
import { AppError } from '../errors/app-error'
import { DEFAULT_RETRY_POLICY } from '../connections/effective-alias'
import type { JobService } from './job-service'
import type { PersonalDataIndex } from '../privacy/personal-data-index'
import { CANCELLED_CODE, type JobError } from './job-view'
import { EXTRA_TTL_SECONDS, JOB_SCHEMA_VERSION, RUN_ACTION_QUEUE, type RunActionJobData, type RunActionResult } from './queues'
import { nextRetryDelay } from '../http/retry'
import { WaitLaterError } from '../lib/wait-later'
import { parseTraceparent, traceIdOf } from '../lib/trace-context'
import type { Tracing } from '../lib/tracing'

export interface ProcessorDeps {
  jobs: JobService
  engine: ActionEngine
  connections: ConnectionResolver
  /** Checkpoints: the job connection, which waits through a Redis outage or failover (core.redis.job). */
  redis: Redis
  /** The personal-data index on that same connection (a job's result is recorded there); default the job service's. */
  privacy?: PersonalDataIndex
  log: Logger
  /** Longest Retry-After a job waits out inline; longer ones end the attempt and delay the job. */
  maxRetryAfterSeconds: number
  /** A cancel message for this job came a moment ago, while this worker did not run it yet. */
  cancelledLately: (jobId: string) => boolean
  /** Runs as the job is about to end for good (completed, or failed with no attempt left); never throws. */
  beforeEnd?: (job: Job<RunActionJobData, RunActionResult>) => Promise<void>
  /** A consumer span per attempt when tracing is on (lib/tracing.ts), under the traceparent in the job data. */
  tracing?: Tracing
}

/** An attempt that should run again after `retryDelayMs` (see run-action.worker's backoffStrategy). */
export class RetryLaterError extends Error {
  constructor (message: string, readonly retryDelayMs: number) { super(message); this.name = 'RetryLaterError' }
}

const PROGRESS_EVERY_MS = 250

export function createRunActionProcessor (deps: ProcessorDeps) {
  const tracing = deps.tracing?.enabled === true ? deps.tracing : undefined
  const untimed = tracing === undefined ? processRunAction : tracedRunAction
  const duration = deps.jobs.metrics.duration
  if (duration === undefined) return untimed
  // Every attempt's duration, by how it ended (spoke_job_duration_seconds).
  return async function timedRunAction (job: Job<RunActionJobData, RunActionResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<RunActionResult> {
    const started = performance.now()
    let outcome = 'completed'
    try {
      return await untimed(job, token, signal)
    } catch (err) {
      outcome = err instanceof RetryLaterError ? 'retry' : err instanceof DelayedError ? 'waiting' : signal?.aborted === true || (err instanceof Error && err.message.startsWith(`${CANCELLED_CODE}:`)) ? 'cancelled' : 'failed'
      throw err
    } finally {
      duration.labels(job.data.actionId, outcome).observe((performance.now() - started) / 1000)
    }
  }

  /** The attempt in a consumer span, child of the submitter's (the server span that queued it); the engine continues it. */
  async function tracedRunAction (job: Job<RunActionJobData, RunActionResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<RunActionResult> {
    const span = tracing!.start(`process ${job.data.actionId}`, 'consumer', parseTraceparent(job.data.traceparent), {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': RUN_ACTION_QUEUE,
      'messaging.message.id': String(job.id),
      'spoke.action': job.data.actionId,
      'spoke.attempt': job.attemptsMade + 1
    })
    try {
      const result = await processRunAction(job, token, signal, span.traceparent)
      span.end()
      return result
    } catch (err) {
      span.end(err instanceof RetryLaterError ? 'retry_later' : err instanceof DelayedError ? 'waiting' : err)
      throw err
    }
  }

  async function processRunAction (job: Job<RunActionJobData, RunActionResult>, token: string | undefined, signal: AbortSignal | undefined, traceparent = parseTraceparent(job.data.traceparent)): Promise<RunActionResult> {
    const id = String(job.id)
    const data = job.data
    const log = logOf(job)
    const abort = signal ?? new AbortController().signal
    // A bulk run has many upstream requests in flight on this one signal, each listening for the abort.
    setMaxListeners(64, abort)
    if (data.schemaVersion !== JOB_SCHEMA_VERSION) {
      throw await fail(job, { code: 'JOB_SCHEMA_UNSUPPORTED', message: `Job data version ${String(data.schemaVersion)} is not supported by this worker`, retryable: false })
    }
    // A cancel before this worker took the job is in its data; one a moment after, in cancelledLately. Later
    // ones abort the signal. No Redis round trip on the way in.
    if (data.cancelRequested === true || deps.cancelledLately(id)) throw await cancelled(job)

    const checkpointKey = deps.jobs.keys.checkpoint(id)
    let checkpointUsed = false
    const checkpoint: Checkpoint = {
      load: async () => {
        checkpointUsed = true
        await deps.redis.expire(checkpointKey, EXTRA_TTL_SECONDS)
        return new Map(Object.entries(await deps.redis.hgetall(checkpointKey)))
      },
      save: async (field, value) => { await deps.redis.hset(checkpointKey, field, value) }
    }
    let lastProgressAt = 0
    let pending: ProgressUpdate | undefined
    const onProgress = (update: ProgressUpdate): void => {
      pending = update
      const now = Date.now()
      if (now - lastProgressAt < PROGRESS_EVERY_MS) return
      lastProgressAt = now
      pending = undefined
      job.updateProgress({ ...update }).catch(() => {})
    }

    try {
      const result = await deps.engine.execute({
        actionId: data.actionId,
        connection: data.connection,
        input: data.input,
        requestId: data.requestId,
        signal: abort,
        onProgress,
        maxRetryAfterSeconds: deps.maxRetryAfterSeconds,
        job: { jobId: id, finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1), checkpoint },
        traceparent,
        actor: data.actor
      })
      // Before the checkpoint goes: a failed index write retries the attempt, which then resumes (docs/privacy.md).
      await (deps.privacy ?? deps.jobs.privacy)?.recordValue(result.meta.connection.resolved, result.output, `job:${id}`)
      if (pending !== undefined) await job.updateProgress({ ...pending }).catch(() => {})
      if (checkpointUsed) deps.redis.del(checkpointKey).catch(() => {})
      await deps.beforeEnd?.(job)
      log.info({ jobId: id, action: data.actionId, attempt: job.attemptsMade + 1, durationMs: result.meta.durationMs }, 'job completed')
      return { output: result.output, resolved: result.meta.connection.resolved }
    } catch (err) {
      if (abort.aborted) throw await cancelled(job)
      if (err instanceof WaitLaterError && token !== undefined) {
        // Only waiting is left (a receiver that is down): the slot goes back to the pool, no attempt is spent,
        // and the run resumes from its checkpoint at err.untilMs.
        if (pending !== undefined) await job.updateProgress({ ...pending }).catch(() => {})
        await deps.jobs.recordError(id, { code: err.code, message: err.message, retryable: true }).catch(() => {})
        await job.moveToDelayed(err.untilMs, token)
        deps.jobs.metrics.waits?.inc({ action: data.actionId })
        log.info({ jobId: id, action: data.actionId, until: new Date(err.untilMs).toISOString(), reason: err.message }, 'job waits (its worker slot is free meanwhile)')
        throw new DelayedError()
      }
      const appErr = err instanceof AppError ? err : undefined
      // Anything that is not an AppError (a Redis blip, a bug) is worth another attempt, within the policy.
      const error: JobError = appErr !== undefined
        ? { code: appErr.code, message: appErr.message, retryable: appErr.retryable }
        : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), retryable: true }
      if (!error.retryable) throw await fail(job, error)
      const policy = (await deps.connections.resolve(data.connection).catch(() => undefined))?.retryPolicy ?? DEFAULT_RETRY_POLICY
      const attempts = Math.min(policy.maxAttempts, job.opts.attempts ?? 1)
      const delay = nextRetryDelay({ ...policy, maxAttempts: attempts }, { retryable: true, retryAfter: appErr?.retryAfter }, job.attemptsMade + 1, job.timestamp)
      if (delay === undefined) throw await fail(job, error)
      await deps.jobs.recordError(id, error).catch(() => {})
      deps.jobs.metrics.retries.inc({ action: data.actionId, code: error.code })
      log.warn({ jobId: id, action: data.actionId, attempt: job.attemptsMade + 1, code: error.code, message: error.message, delayMs: delay }, 'job attempt failed; retrying later')
      throw new RetryLaterError(`${error.code}: ${error.message}`, delay)
    }
  }

  async function fail (job: Job<RunActionJobData, RunActionResult>, error: JobError): Promise<UnrecoverableError> {
    await deps.jobs.recordError(String(job.id), error).catch(() => {})
    deps.jobs.metrics.failures.inc({ action: job.data.actionId, code: error.code })
    const level = error.code === CANCELLED_CODE ? 'info' : 'warn'
    logOf(job)[level]({ jobId: job.id, action: job.data.actionId, attempt: job.attemptsMade + 1, code: error.code }, error.code === CANCELLED_CODE ? 'job cancelled' : 'job failed')
    await deps.beforeEnd?.(job)
    return new UnrecoverableError(`${error.code}: ${error.message}`)
  }

  /** The worker's logger, with the submitter's trace id when the job carries one. */
  function logOf (job: Job<RunActionJobData, RunActionResult>): Logger {
    const tp = parseTraceparent(job.data.traceparent)
    return tp === undefined ? deps.log : deps.log.child({ traceId: traceIdOf(tp) })
  }

  async function cancelled (job: Job<RunActionJobData, RunActionResult>): Promise<UnrecoverableError> {
    return await fail(job, { code: CANCELLED_CODE, message: 'The job was cancelled', retryable: false })
  }
}
