// Worker role: BullMQ workers that run jobs on the shared core. Their closer, registered on the core, stops
// them (waiting for active jobs) before the queues and Redis close.
import { hostname } from 'node:os'
import type { Core } from './core'
import { createRedis } from './lib/redis'
import { startRunActionWorker } from './jobs/run-action.worker'
import { startCallbackWorker } from './jobs/callback.worker'
import { callbackPolicy } from './jobs/callbacks'
import { startScheduleWorker } from './schedules/dispatch.worker'
import { startTriggerWorker } from './triggers/worker'
import { settledWithin } from './lib/settled-within'

export interface WorkerOptions {
  /** Jobs per process (default SPOKE_WORKER_CONCURRENCY). */
  concurrency?: number
  /** Deliveries of one callback (default 6) and the first backoff (default 2 s, doubling). */
  callbackAttempts?: number
  callbackBackoffMs?: number
  /** Longest Retry-After a job waits out inline (default 30 s; tests shorten it). */
  maxRetryAfterSeconds?: number
}

/** Longest Retry-After a job waits out inline; a longer one ends the attempt and the job is delayed. */
const JOB_INLINE_RETRY_AFTER_SECONDS = 30

export async function startWorkers (core: Core, opts: WorkerOptions = {}): Promise<void> {
  const { config, log } = core
  // Workers wait for Redis forever (BullMQ needs maxRetriesPerRequest: null) and carry on when it returns.
  // BullMQ's commands, checkpoints and every write of a job's handler share the core's job connection
  // (core.close quits it); the subscriber is the workers' own.
  const connection = core.redis.job
  // The job connection connects on first use (an api-only process never opens it); a worker uses it at once.
  if (connection.status === 'wait') connection.connect().catch(() => {})
  const subscriber = createRedis(config.redis, 'worker', {}, core.redis.watch)
  const concurrency = opts.concurrency ?? config.workerConcurrency
  const runAction = startRunActionWorker({
    jobs: core.jobs,
    engine: core.engine,
    connections: core.connections.sessions,
    redis: connection,
    privacy: core.jobServices.privacy?.index,
    log,
    tracing: core.tracing,
    maxRetryAfterSeconds: opts.maxRetryAfterSeconds ?? JOB_INLINE_RETRY_AFTER_SECONDS,
    connection,
    subscriber
  }, {
    keyPrefix: config.keyPrefix,
    concurrency,
    lockDurationMs: config.jobLockMs,
    name: workerId(),
    callback: { attempts: opts.callbackAttempts ?? 6, backoffMs: opts.callbackBackoffMs ?? 2_000 }
  })
  const callbacks = config.callbackSecret === undefined
    ? undefined
    : startCallbackWorker({ jobs: core.jobs, connection, log }, { keyPrefix: config.keyPrefix, secret: config.callbackSecret, policy: callbackPolicy(config), tracing: core.tracing })
  const schedules = startScheduleWorker(core.schedules, { connection, keyPrefix: config.keyPrefix, log })
  const triggers = startTriggerWorker(core.triggers, { connection, keyPrefix: config.keyPrefix, log })
  core.onClose(async () => {
    // BullMQ does not silence the start-up of a worker on a shared connection that is closed under it (its
    // error would have no listener left): a process stopped just after it started lets the start-up finish
    // first, for at most a couple of seconds.
    await settledWithin([runAction.waitUntilReady(), callbacks?.waitUntilReady(), schedules.waitUntilReady(), triggers.waitUntilReady()], CLOSE_READY_WAIT_MS)
    // With Redis away, running jobs can neither finish nor let go: waiting for them would wait for Redis.
    // Their locks lapse and another worker takes them up as stalled (BullMQ), so close without waiting.
    const force = connection.status !== 'ready'
    await Promise.all([runAction.close(force), callbacks?.close(force), schedules.close(force), triggers.close(force)])
    subscriber.disconnect()
  })
  // Not awaited: with Redis away the process still starts (and serves /healthz); BullMQ's workers pick up
  // jobs by themselves once Redis answers.
  runAction.waitUntilReady().then(
    () => log.info({ worker: workerId(), concurrency, callbacks: callbacks !== undefined }, 'workers started'),
    (err: unknown) => log.warn({ err: String(err) }, 'workers not ready yet')
  )
}

const CLOSE_READY_WAIT_MS = 2_000

/** Which process ran a job: host name (the container id under Docker) and pid. */
export function workerId (): string {
  return `${hostname()}:${process.pid}`
}
