// The public JSON of a job (docs/api.md#jobs), from BullMQ's job plus the spoke's own facts about it.
// BullMQ has no "cancelled" state: a cancelled job is a failed one whose error is JOB_CANCELLED, or a
// waiting/delayed one carrying a cancel marker until a worker discards it.
import type { Job, JobState } from 'bullmq'
import type { CallbackState } from './callbacks'
import type { RunActionJobData, RunActionResult } from './queues'

export type PublicJobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'cancelled'
export const PUBLIC_JOB_STATES: readonly PublicJobState[] = ['waiting', 'active', 'delayed', 'completed', 'failed', 'cancelled']

export interface JobError { code: string, message: string, retryable: boolean }

export interface JobView {
  id: string
  action: string
  connection: { requested: string, resolved?: string }
  state: PublicJobState
  progress: unknown
  attemptsMade: number
  result?: unknown
  error?: JobError
  createdAt: string
  startedAt?: string
  finishedAt?: string
  nextAttemptAt?: string
  /** The worker process (host:pid) that took the job last. */
  worker?: string
  callback?: CallbackState
}

export const CANCELLED_CODE = 'JOB_CANCELLED'

/** The facts kept beside the job (jobKeys().extra), already parsed. */
export interface JobExtra { error?: JobError, callback?: CallbackState, cancelRequested: boolean }

export function publicState (state: JobState | 'unknown', extra: JobExtra): PublicJobState | undefined {
  switch (state) {
    case 'completed': return 'completed'
    case 'failed': return extra.error?.code === CANCELLED_CODE ? 'cancelled' : 'failed'
    case 'active': return 'active'
    case 'delayed': return extra.cancelRequested ? 'cancelled' : 'delayed'
    case 'waiting': case 'prioritized': case 'waiting-children': return extra.cancelRequested ? 'cancelled' : 'waiting'
    default: return undefined
  }
}

/** BullMQ keeps only the message of the final error; ours is `CODE: message` (see run-action.processor). */
export function errorFromReason (reason: string | undefined): JobError | undefined {
  if (reason === undefined || reason === '') return undefined
  const m = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(reason)
  return m === null ? { code: 'INTERNAL', message: reason, retryable: false } : { code: m[1], message: m[2], retryable: false }
}

const iso = (ms: number | undefined): string | undefined => ms === undefined || ms === null || ms === 0 ? undefined : new Date(ms).toISOString()

export function toJobView (job: Job<RunActionJobData, RunActionResult>, state: PublicJobState, extra: JobExtra, nextAttemptAt?: number): JobView {
  const view: JobView = {
    id: String(job.id),
    action: job.name,
    connection: { requested: job.data.connection },
    state,
    progress: job.progress ?? 0,
    attemptsMade: job.attemptsMade,
    createdAt: new Date(job.timestamp).toISOString()
  }
  const resolved = job.returnvalue?.resolved
  if (resolved !== undefined) view.connection.resolved = resolved
  if (state === 'completed') view.result = job.returnvalue?.output
  const error = extra.error ?? (state === 'failed' || state === 'cancelled' ? errorFromReason(job.failedReason) : undefined)
  // The last attempt's error stays visible while a retry is pending; a completed job has none.
  if (error !== undefined && state !== 'completed' && (state !== 'active' || job.attemptsMade > 0)) view.error = error
  const started = iso(job.processedOn)
  if (started !== undefined) view.startedAt = started
  if (state === 'completed' || state === 'failed' || state === 'cancelled') {
    const finished = iso(job.finishedOn)
    if (finished !== undefined) view.finishedAt = finished
  }
  if (job.processedBy !== undefined && job.processedBy !== '') view.worker = job.processedBy
  if (state === 'delayed' && nextAttemptAt !== undefined) view.nextAttemptAt = new Date(nextAttemptAt).toISOString()
  if (extra.callback !== undefined) view.callback = extra.callback
  return view
}

export function parseExtra (raw: Record<string, string>, cancelRequested: boolean): JobExtra {
  const extra: JobExtra = { cancelRequested }
  if (raw.error !== undefined) extra.error = JSON.parse(raw.error) as JobError
  if (raw.callback !== undefined) extra.callback = JSON.parse(raw.callback) as CallbackState
  return extra
}
