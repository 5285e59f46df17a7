// The only module that knows queue names, payload shapes and the Redis keys the jobs feature owns.
// Job data is plain text in Redis: ids, the input and the callback URL — never a token or a secret.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq'
import { randomFillSync } from 'node:crypto'
import type { ErasureKeys } from '../privacy/erase'
import { crawlRunKeys } from '../crawl/state'

export const RUN_ACTION_QUEUE = 'run-action'
export const CALLBACK_QUEUE = 'callback'
export const JOB_SCHEMA_VERSION = 1

export interface RunActionJobData {
  schemaVersion: typeof JOB_SCHEMA_VERSION
  actionId: string
  actionVersion: string
  /** The alias as requested (a parent resolves to its active child when the job runs). */
  connection: string
  input: Record<string, unknown>
  requestId: string
  callbackUrl?: string
  /** Set by a cancel request: the worker that takes the job discards it (see job-service cancel). */
  cancelRequested?: true
  /** Counts retries asked through the API: each run of the job gets its own callback delivery. */
  run?: number
  /** The submitter's W3C traceparent (lib/trace-context.ts): sent on the job's upstream requests, its trace id on the job's log lines. */
  traceparent?: string
  /** The submitting API key's fingerprint (lib/api-keys), for the audit lines of content writes. */
  actor?: string
}

/** What a completed run-action job returns (kept on the job as its returnvalue). */
export interface RunActionResult {
  output: unknown
  /** The alias the run actually used. */
  resolved: string
}

export interface CallbackJobData {
  jobId: string
  url: string
  /** The job's traceparent (its submitter's span), when it has one: the delivery's client span goes under it (tracing on). */
  traceparent?: string
}

/** One delivery per run of a job: whoever queues it first (the worker as the job ends, or the 'failed' event
 * as a fallback) creates it, the other finds it there. */
export function callbackDeliveryId (job: { id?: string, data: Pick<RunActionJobData, 'run'> }): string {
  return `${String(job.id)}-cb${job.data.run ?? 0}`
}

/** Keep finished jobs long enough to be read, then let BullMQ delete them. */
export const RETENTION = { completedSeconds: 24 * 3600, completedCount: 10_000, failedSeconds: 7 * 24 * 3600 }

const runActionDefaults: JobsOptions = {
  removeOnComplete: { age: RETENTION.completedSeconds, count: RETENTION.completedCount },
  removeOnFail: { age: RETENTION.failedSeconds },
  // The worker computes each retry's delay from the alias's retryPolicy (see http/retry.ts, nextRetryDelay).
  backoff: { type: 'policy' }
}

/**
 * BullMQ keys are `{prefix}:{queue}:...`. A hash tag keeps every queue of one spoke in one Redis Cluster
 * slot (BullMQ's Lua scripts touch several keys of a queue at once).
 */
export function bullPrefix (keyPrefix: string): string {
  return keyPrefix.includes('{') ? `${keyPrefix}:bull` : `{${keyPrefix}}:bull`
}

/** The spoke's own keys around jobs (outside BullMQ's hashes, so BullMQ upgrades cannot trip on them). */
export function jobKeys (keyPrefix: string): {
  /** Sorted set (all scores 0) of job ids; ids sort by creation time, so BYLEX REV is newest first. */
  index: string
  cancel: (id: string) => string
  cancelChannel: string
  /** Hash of spoke-side facts about a job: last error, callback delivery. */
  extra: (id: string) => string
  checkpoint: (id: string) => string
} {
  return {
    index: `${keyPrefix}:jobs:index`,
    cancel: (id) => `${keyPrefix}:jobs:cancel:${id}`,
    cancelChannel: `${keyPrefix}:jobs:cancel`,
    extra: (id) => `${keyPrefix}:jobs:extra:${id}`,
    checkpoint: (id) => `${keyPrefix}:jobs:checkpoint:${id}`
  }
}

/** Spoke-side keys live as long as a failed job may. */
export const EXTRA_TTL_SECONDS = RETENTION.failedSeconds + 24 * 3600

// Randomness for ids comes from a pool refilled 512 ids at a time: one randomBytes call per id cost about
// 4% of a job's CPU in the async benchmark (crypto.randomUUID pools the same way).
const ID_POOL = Buffer.alloc(8 * 512)
let idPoolOffset = ID_POOL.length

/** `j` + creation time (ms, base 36, fixed width) + randomness: unique, and ordered by creation time. */
export function newJobId (now = Date.now()): string {
  if (idPoolOffset === ID_POOL.length) { randomFillSync(ID_POOL); idPoolOffset = 0 }
  const random = ID_POOL.toString('hex', idPoolOffset, idPoolOffset + 8)
  idPoolOffset += 8
  return `j${now.toString(36).padStart(9, '0')}${random}`
}

export const JOB_ID_PATTERN = /^j[0-9a-z]{9}[0-9a-f]{16}$/

export function createRunActionQueue (connection: ConnectionOptions, keyPrefix: string): Queue<RunActionJobData, RunActionResult> {
  return new Queue<RunActionJobData, RunActionResult>(RUN_ACTION_QUEUE, { connection, prefix: bullPrefix(keyPrefix), defaultJobOptions: runActionDefaults })
}

/** Attempts and backoff of a delivery are set by the worker that queues it (callbackDelivery options). */
export function createCallbackQueue (connection: ConnectionOptions, keyPrefix: string): Queue<CallbackJobData> {
  return new Queue<CallbackJobData>(CALLBACK_QUEUE, {
    connection,
    prefix: bullPrefix(keyPrefix),
    defaultJobOptions: {
      removeOnComplete: { age: RETENTION.completedSeconds, count: RETENTION.completedCount },
      removeOnFail: { age: RETENTION.failedSeconds }
    }
  })
}

/** Where a job keeps what it stored, for the erasure of closed accounts (privacy/erase.ts). */
export function erasureKeys (keyPrefix: string): ErasureKeys {
  const bull = `${bullPrefix(keyPrefix)}:${RUN_ACTION_QUEUE}`
  const side = jobKeys(keyPrefix)
  return {
    jobHash: (id) => `${bull}:${id}`,
    jobEvents: `${bull}:events`,
    jobSide: (id) => [side.extra(id), side.checkpoint(id)],
    crawlRun: (runId) => crawlRunKeys(keyPrefix, runId)
  }
}
