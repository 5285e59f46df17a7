// The jobs feature as the api sees it: enqueue an execute request (202), read one job or a page of them,
// retry, cancel. Works on the producer connection, which fails fast: while Redis is away every operation
// answers 503 QUEUE_UNAVAILABLE within a second instead of hanging.
import { Job, type JobJsonRaw, type JobState, type Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config/env'
import type { ActionRegistry } from '../actions/action-registry'
import type { ActionEngine } from '../actions/execute-action'
import type { StoredResponse } from '../actions/idempotency'
import { DEFAULT_ALIAS } from '../connections/alias-id'
import type { ConnectionResolver } from '../connections/types'
import { AppError } from '../errors/app-error'
import { JobNotFoundError, JobStateConflictError, QueueUnavailableError, RequestInvalidError } from '../errors/errors'
import { assertCallbackUrl, callbackPolicy, inputDeliveryUrl, type CallbackState } from './callbacks'
import type { AddressPolicy } from '../lib/address-policy'
import { createJobMetrics, type JobMetrics } from './job-metrics'
import { KeyCap } from './key-cap'
import { readJobSnapshot } from './job-snapshot'
import { OUTAGE_FIELD } from '../crawl/webhook-sink'
import { parseExtra, publicState, toJobView, type JobError, type JobView, type PublicJobState } from './job-view'
import {
  createCallbackQueue, createRunActionQueue, EXTRA_TTL_SECONDS, JOB_ID_PATTERN, JOB_SCHEMA_VERSION, jobKeys, newJobId,
  type CallbackJobData, type RunActionJobData, type RunActionResult
} from './queues'
import type { Metrics } from '../lib/metrics'
import { NO_REPLICATION_WAIT, type ReplicationWait } from '../lib/replication'
import { closeQueues } from '../lib/bullmq-close'
import type { PersonalDataIndex } from '../privacy/personal-data-index'
import { within } from '../lib/timeout'

export interface EnqueueRequest {
  actionId: string
  body: { connection?: string, input?: unknown, callbackUrl?: string }
  requestId: string
  /** The caller's W3C traceparent, kept in the job data (nothing else of the request). */
  traceparent?: string
  /** The submitting API key's fingerprint: its unfinished jobs are capped (jobs/key-cap.ts) and content writes name it on
   * their audit lines (job data `actor`). Scheduled runs have none. */
  owner?: string
}

export interface ListFilter { state?: PublicJobState, action?: string, connection?: string, limit?: number, cursor?: string }

export interface JobServiceDeps {
  config: Config
  log: Logger
  producer: Redis
  actions: ActionRegistry
  engine: ActionEngine
  connections: ConnectionResolver
  metrics: Metrics
  /** Registers the accounts a job's input and result store (docs/privacy.md). */
  privacy?: PersonalDataIndex
  /** WAIT for the replicas before the 202 (lib/replication.ts). */
  replication?: ReplicationWait
}

/** Redis calls on the request path give up after this long (then 503 QUEUE_UNAVAILABLE). */
const QUEUE_TIMEOUT_MS = 800
const LIST_SCAN_MAX = 1_000

/** A run of a job that ended before a retry: how many attempts it made and how it ended. */
export interface EarlierRun { run: number, attempts: number, state: string, error?: JobError, finishedAt?: string }

export class JobService {
  readonly queue: Queue<RunActionJobData, RunActionResult>
  readonly callbackQueue: Queue<CallbackJobData>
  readonly keys: ReturnType<typeof jobKeys>
  readonly metrics: JobMetrics
  readonly privacy?: PersonalDataIndex
  private readonly callbackPolicy: AddressPolicy
  readonly keyCap: KeyCap

  constructor (private readonly deps: JobServiceDeps) {
    this.queue = createRunActionQueue(deps.producer, deps.config.keyPrefix)
    this.callbackQueue = createCallbackQueue(deps.producer, deps.config.keyPrefix)
    for (const q of [this.queue, this.callbackQueue]) q.on('error', (err) => deps.log.debug({ err }, 'queue connection error'))
    this.keys = jobKeys(deps.config.keyPrefix)
    this.metrics = createJobMetrics(deps.metrics.registry, [this.queue, this.callbackQueue], deps.metrics.jobs.duration)
    this.callbackPolicy = callbackPolicy(deps.config)
    this.privacy = deps.privacy
    this.keyCap = new KeyCap(deps.producer, deps.config.keyPrefix, deps.config.maxJobsPerKey ?? 100, { refused: (key) => this.metrics.keyCapRefusals?.inc({ key }) })
    this.metrics.keyCap?.set(this.keyCap.cap)
  }

  private get redis (): Redis { return this.deps.producer }

  /** Validate, check, enqueue; the 202 response (the route stores it for Idempotency-Key repeats). */
  async enqueue (req: EnqueueRequest): Promise<StoredResponse> {
    const action = this.deps.actions.get(req.actionId)
    const input = this.deps.engine.validateInput(req.actionId, req.body.input ?? {})
    if (req.body.callbackUrl !== undefined) {
      if (this.deps.config.callbackSecret === undefined) throw new RequestInvalidError('callbackUrl needs SPOKE_CALLBACK_SECRET to be configured (callbacks are always signed)')
      await assertCallbackUrl(req.body.callbackUrl, this.callbackPolicy)
    }
    // A webhook sink is checked exactly like a callbackUrl: refused now, not retried for the whole run.
    const sinkUrl = inputDeliveryUrl(input)
    if (sinkUrl !== undefined) await assertCallbackUrl(sinkUrl, this.callbackPolicy, { name: 'sink.url', path: '/input/sink/url' })
    const requested = req.body.connection ?? DEFAULT_ALIAS
    const connection = await guard(this.deps.connections.resolve(requested))
    // A handler's own checks (400/403 now rather than a failed job later).
    if (action.handler?.precheck !== undefined) await action.handler.precheck({ input, connection, params: action.handler.params })

    const ann = action.definition.annotations
    // A write that is not idempotent runs once: a retry could apply it twice.
    const attempts = ann.idempotent || ann.readOnly ? connection.retryPolicy.maxAttempts : 1
    const id = newJobId()
    const data: RunActionJobData = {
      schemaVersion: JOB_SCHEMA_VERSION,
      actionId: action.id,
      actionVersion: action.definition.version,
      connection: requested,
      input,
      requestId: req.requestId
    }
    if (req.body.callbackUrl !== undefined) data.callbackUrl = req.body.callbackUrl
    if (req.traceparent !== undefined) data.traceparent = req.traceparent
    const owner = req.owner
    if (owner !== undefined) { data.actor = owner; await guard(this.keyCap.reserve(owner, id)) }
    await guard(Promise.all([
      this.queue.add(action.id, data, { jobId: id, attempts }),
      this.redis.zadd(this.keys.index, 0, id),
      this.privacy?.recordValue(connection.resolved, input, `job:${id}`)
    ])).catch(async (err: unknown) => {
      if (owner !== undefined) await this.keyCap.release(owner, id).catch(() => {})
      throw err
    })
    // The job and its index entry went through the producer connection: on a replica before the 202.
    await (this.deps.replication ?? NO_REPLICATION_WAIT).replicated(this.redis, this.keys.index, 'job')
    this.deps.log.info({ jobId: id, action: action.id, connection: requested }, 'job queued')
    const self = `/v1/jobs/${id}`
    return { status: 202, body: { jobId: id, state: 'waiting', links: { self } }, headers: { location: self } }
  }

  async get (id: string): Promise<JobView> {
    const view = await guard(this.load(id))
    if (view === undefined) throw new JobNotFoundError(`No job "${id}"`)
    return view.view
  }

  /** Newest first; filters apply to at most LIST_SCAN_MAX jobs per call (then nextCursor says where to go on). */
  async list (filter: ListFilter): Promise<{ jobs: JobView[], nextCursor?: string }> {
    const limit = filter.limit ?? 20
    const jobs: JobView[] = []
    let from = filter.cursor === undefined ? '+' : `(${filter.cursor}`
    let scanned = 0
    let last: string | undefined
    for (;;) {
      const batch = Math.min(100, Math.max(limit * 2, 20))
      const ids = await guard(this.redis.zrange(this.keys.index, from, '-', 'BYLEX', 'REV', 'LIMIT', 0, batch))
      if (ids.length === 0) return { jobs }
      const views = await guard(Promise.all(ids.map(id => this.load(id))))
      for (let i = 0; i < ids.length; i++) {
        scanned++
        last = ids[i]
        const v = views[i]?.view
        if (v === undefined) { this.redis.zrem(this.keys.index, ids[i]).catch(() => {}); continue }
        if (filter.state !== undefined && v.state !== filter.state) continue
        if (filter.action !== undefined && v.action !== filter.action) continue
        if (filter.connection !== undefined && v.connection.requested !== filter.connection && v.connection.resolved !== filter.connection) continue
        jobs.push(v)
        if (jobs.length >= limit) return { jobs, nextCursor: last }
      }
      if (ids.length < batch) return { jobs }
      if (scanned >= LIST_SCAN_MAX) return { jobs, nextCursor: last }
      from = `(${last}`
    }
  }

  /** Re-run a failed or cancelled job (attempts start again; a bulk job resumes from its checkpoint). */
  async retry (id: string): Promise<JobView> {
    const found = await guard(this.load(id))
    if (found === undefined) throw new JobNotFoundError(`No job "${id}"`)
    const { view, job, bullState } = found
    if (view.state !== 'failed' && view.state !== 'cancelled') {
      throw new JobStateConflictError(`Job ${id} is ${view.state}; only failed or cancelled jobs can be retried`)
    }
    // The run that ends here is kept (attempts and error) for the console's job page: a retry starts attempts at 0.
    const runs = [...await this.runs(id), { run: job.data.run ?? 0, attempts: view.attemptsMade, state: view.state, ...(view.error ? { error: view.error } : {}), ...(view.finishedAt ? { finishedAt: view.finishedAt } : {}) }]
    // A retry also gets a fresh give-up window for a webhook receiver that was down (crawl/webhook-sink.ts).
    await guard(this.redis.multi().del(this.keys.cancel(id)).hdel(this.keys.extra(id), 'error', 'callback').hset(this.keys.extra(id), 'runs', JSON.stringify(runs.slice(-20))).expire(this.keys.extra(id), EXTRA_TTL_SECONDS).hdel(this.keys.checkpoint(id), OUTAGE_FIELD).exec())
    // A new run: no cancel flag, and its own callback delivery.
    const { cancelRequested, ...data } = job.data
    await guard(job.updateData({ ...data, run: (data.run ?? 0) + 1 }))
    // Workers forget the cancel they may still hold for this id (see run-action.worker).
    if (cancelRequested === true) await guard(this.redis.publish(this.keys.cancelChannel, `${UNCANCEL}${id}`))
    if (bullState === 'failed') await guard(job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }))
    this.deps.log.info({ jobId: id }, 'job retried')
    return await this.get(id)
  }

  /** The earlier runs of a retried job, oldest first (empty when it never was retried). */
  async runs (id: string): Promise<EarlierRun[]> {
    const raw = await guard(this.redis.hget(this.keys.extra(id), 'runs'))
    if (raw === null) return []
    try { const list: unknown = JSON.parse(raw); return Array.isArray(list) ? list as EarlierRun[] : [] } catch { return [] }
  }

  /** Stop a waiting, delayed or active job. An active one stops at its next safe point (its AbortSignal). */
  async cancel (id: string): Promise<JobView> {
    const found = await guard(this.load(id))
    if (found === undefined) throw new JobNotFoundError(`No job "${id}"`)
    const { view, job } = found
    if (view.state !== 'waiting' && view.state !== 'delayed' && view.state !== 'active') {
      throw new JobStateConflictError(`Job ${id} is ${view.state}; only waiting, delayed or active jobs can be cancelled`)
    }
    // The marker (for this view), then a flag in the job's data, then the broadcast: a worker that takes the
    // job after the flag was written discards it without a Redis call of its own; one that already runs it,
    // or took it a moment before, gets the message (see run-action.worker).
    await guard(this.redis.set(this.keys.cancel(id), '1', 'EX', EXTRA_TTL_SECONDS))
    await guard(job.updateData({ ...job.data, cancelRequested: true }).catch(ignoreMissingJob))
    await guard(this.redis.publish(this.keys.cancelChannel, id))
    // A delayed job is handed to a worker now so it is discarded instead of waiting out its delay.
    if (view.state === 'delayed') await job.promote().catch(() => {})
    this.deps.log.info({ jobId: id, state: view.state }, 'job cancel requested')
    return await this.get(id)
  }

  /** The job, its BullMQ state and its public view; undefined when there is no such job. */
  async load (id: string): Promise<{ job: Job<RunActionJobData, RunActionResult>, bullState: JobState | 'unknown', view: JobView } | undefined> {
    if (!JOB_ID_PATTERN.test(id)) return undefined
    // One script reads the state, the job and the facts beside it at one instant (jobs/job-snapshot.ts).
    const snap = await readJobSnapshot(this.redis, this.queue, { extra: this.keys.extra(id), cancel: this.keys.cancel(id) }, id)
    if (Object.keys(snap.job).length === 0) return undefined
    const job = Job.fromJSON<RunActionJobData, RunActionResult>(this.queue, snap.job as unknown as JobJsonRaw, id)
    const bullState = snap.state
    const extra = parseExtra(snap.extra, snap.cancelled)
    const state = publicState(bullState, extra)
    if (state === undefined) return undefined
    // BullMQ scores delayed jobs as timestamp * 0x1000 + a sequence number.
    const nextAttemptAt = state === 'delayed' && snap.delayedScore !== undefined ? Math.floor(snap.delayedScore / 0x1000) : undefined
    return { job, bullState, view: toJobView(job, state, extra, nextAttemptAt) }
  }

  async recordError (id: string, error: JobError): Promise<void> {
    await this.writeExtra(id, 'error', error)
  }

  /** The first word on a run's callback; never overwrites what a delivery already wrote. */
  async recordCallbackPending (id: string): Promise<void> {
    const pending: CallbackState = { state: 'pending', attempts: 0 }
    await this.writeExtra(id, 'callback', pending, { ifAbsent: true })
  }

  async recordCallback (id: string, state: CallbackState): Promise<void> {
    await this.writeExtra(id, 'callback', state)
  }

  /** One field of the job's extra hash (jobKeys().extra), which lives as long as a failed job may. */
  private async writeExtra (id: string, field: 'error' | 'callback', value: unknown, opts: { ifAbsent?: boolean } = {}): Promise<void> {
    const key = this.keys.extra(id)
    const tx = this.redis.multi()
    if (opts.ifAbsent === true) tx.hsetnx(key, field, JSON.stringify(value))
    else tx.hset(key, field, JSON.stringify(value))
    await tx.expire(key, EXTRA_TTL_SECONDS).exec()
  }

  async close (): Promise<void> {
    await closeQueues([this.queue, this.callbackQueue])
  }
}

/** A cancel message that withdraws an earlier one (the job was retried): `uncancel:<jobId>`. */
export const UNCANCEL = 'uncancel:'

/** A job that finished and was removed meanwhile has nothing left to flag. */
function ignoreMissingJob (err: unknown): void {
  if (!(err instanceof Error && /Missing key/i.test(err.message))) throw err
}

/** Redis trouble (an ioredis error, or no answer in time) is 503 QUEUE_UNAVAILABLE; AppErrors pass through. */
export async function guard<T> (p: Promise<T>, ms = QUEUE_TIMEOUT_MS): Promise<T> {
  try {
    return await within(p, ms, () => new QueueUnavailableError(`Redis did not answer within ${ms} ms`, { retryAfter: 5 }))
  } catch (err) {
    if (err instanceof AppError) throw err
    throw new QueueUnavailableError('The job queue is unavailable (Redis cannot be reached)', { cause: err, retryAfter: 5 })
  }
}
