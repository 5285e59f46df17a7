// Schedules for any action (docs/api.md#schedules): a definition { action, connection, input, every | cron }
// kept in Redis, and a BullMQ job scheduler (queue.upsertJobScheduler) on the small `schedule` queue that
// fires a dispatch job at each tick. The dispatch enqueues a normal run-action job through the jobs service,
// so what a schedule creates is an ordinary job: the jobs API, Bull Board, retries, cancel, callbacks. A tick
// whose previous job is still waiting, active or delayed is skipped (two crawls of one scope never overlap).
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ActionRegistry } from '../actions/action-registry'
import type { ActionEngine } from '../actions/execute-action'
import type { ConnectionResolver } from '../connections/types'
import { AppError } from '../errors/app-error'
import { ScheduleNotFoundError } from '../errors/errors'
import { guard } from '../jobs/job-service'
import { bullPrefix } from '../jobs/queues'
import { newTraceparent, traceIdOf } from '../lib/trace-context'
import type { TraceSpan, Tracing } from '../lib/tracing'
import { NO_REPLICATION_WAIT, type ReplicationWait } from '../lib/replication'
import { checkTiming, repeatOptions, type Timing } from './timing'

import { DEFAULT_ALIAS as DEFAULT_CONNECTION } from '../connections/alias-id'
import type { JobService } from '../jobs/job-service'
import { closeQueues } from '../lib/bullmq-close'

export const SCHEDULE_QUEUE = 'schedule'

export interface ScheduleBody { action: string, connection?: string, input?: Record<string, unknown>, every?: number | string, cron?: string, timezone?: string }
export interface ScheduleDefinition extends Timing { id: string, action: string, connection: string, input: Record<string, unknown>, createdAt: string, updatedAt: string }
export interface ScheduleView extends ScheduleDefinition {
  nextRunAt?: string
  runs: number
  skipped: number
  lastRun?: { at: string, jobId?: string, skippedBecause?: string, error?: { code: string, message: string } }
}
export interface DispatchData { scheduleId: string }

export interface ScheduleDeps {
  actions: ActionRegistry
  engine: ActionEngine
  connections: ConnectionResolver
  jobs: JobService
  log: Logger
  store: Redis
  producer: Redis
  keyPrefix: string
  /** A root consumer span per tick when tracing is on (lib/tracing.ts). */
  tracing?: Tracing
  /** WAIT for the replicas before a PUT is answered (lib/replication.ts). */
  replication?: ReplicationWait
}

const UNFINISHED = new Set(['waiting', 'active', 'delayed'])

export class ScheduleService {
  readonly queue: Queue<DispatchData>
  private readonly defsKey: string
  private readonly log: Logger

  constructor (private readonly deps: ScheduleDeps) {
    this.queue = new Queue<DispatchData>(SCHEDULE_QUEUE, { connection: deps.producer, prefix: bullPrefix(deps.keyPrefix), defaultJobOptions: { removeOnComplete: 100, removeOnFail: 100 } })
    this.queue.on('error', (err) => deps.log.debug({ err }, 'schedule queue connection error'))
    this.defsKey = `${deps.keyPrefix}:schedules`
    this.log = deps.log
  }

  private stateKey (id: string): string { return `${this.defsKey}:state:${id}` }

  /** Validates (action, input against its schema, alias, timing) and creates or replaces the schedule. */
  async put (id: string, body: ScheduleBody): Promise<{ view: ScheduleView, created: boolean }> {
    const timing = checkTiming(body)
    const action = this.deps.actions.get(body.action)
    const input = this.deps.engine.validateInput(action.id, body.input ?? {})
    const connection = body.connection ?? DEFAULT_CONNECTION
    await guard(this.deps.connections.resolve(connection))
    const existing = await this.definition(id)
    const now = new Date().toISOString()
    const def: ScheduleDefinition = { id, action: action.id, connection, input, ...timing, createdAt: existing?.createdAt ?? now, updatedAt: now }
    await guard(this.deps.store.hset(this.defsKey, id, JSON.stringify(def)))
    await guard(this.queue.upsertJobScheduler(id, repeatOptions(timing), { name: 'dispatch', data: { scheduleId: id } }))
    // The definition went through store, the scheduler through producer: each connection waits for its own writes.
    const replication = this.deps.replication ?? NO_REPLICATION_WAIT
    await Promise.all([replication.replicated(this.deps.store, this.defsKey, 'schedule'), replication.replicated(this.deps.producer, this.defsKey, 'schedule')])
    this.log.info({ schedule: id, action: def.action, every: def.every, cron: def.cron }, existing === undefined ? 'schedule created' : 'schedule replaced')
    return { view: await this.get(id), created: existing === undefined }
  }

  async get (id: string): Promise<ScheduleView> {
    const def = await this.definition(id)
    if (def === undefined) throw new ScheduleNotFoundError(`No schedule "${id}"`)
    return await this.view(def)
  }

  async list (): Promise<ScheduleView[]> {
    const all = await guard(this.deps.store.hgetall(this.defsKey))
    const defs = Object.values(all).map((v) => JSON.parse(v) as ScheduleDefinition).sort((a, b) => a.id.localeCompare(b.id))
    return await Promise.all(defs.map(async (d) => await this.view(d)))
  }

  /** Stops the schedule (its scheduler and definition); jobs it already created stay as they are. */
  async delete (id: string): Promise<void> {
    if (await this.definition(id) === undefined) throw new ScheduleNotFoundError(`No schedule "${id}"`)
    await guard(this.queue.removeJobScheduler(id))
    await guard(this.deps.store.multi().hdel(this.defsKey, id).del(this.stateKey(id)).exec())
    this.log.info({ schedule: id }, 'schedule deleted')
  }

  /** One tick: enqueue the action as a normal job, unless the previous one has not finished. */
  async dispatch (id: string): Promise<string | undefined> {
    const def = await this.definition(id)
    if (def === undefined) { await this.queue.removeJobScheduler(id).catch(() => false); return undefined }
    const at = new Date().toISOString()
    const last = await this.deps.store.hget(this.stateKey(id), 'lastJobId')
    const lastState = last === null ? undefined : await this.deps.jobs.get(last).then((j) => j.state, () => undefined)
    if (lastState !== undefined && UNFINISHED.has(lastState)) {
      await this.record(id, { at, skippedBecause: `job ${String(last)} is ${lastState}` }, 'skipped')
      return undefined
    }
    // Each tick that runs starts a trace of its own: a root span (tracing on), else fresh random ids, so the
    // job's log lines carry a traceId either way and its upstream requests the traceparent.
    const span = this.tickSpan(id, def.action)
    const traceparent = span?.traceparent ?? newTraceparent()
    try {
      const res = await this.deps.jobs.enqueue({ actionId: def.action, body: { connection: def.connection, input: def.input }, requestId: `schedule:${id}:${Date.now()}`, traceparent })
      const jobId = (res.body as { jobId: string }).jobId
      await this.deps.store.hset(this.stateKey(id), 'lastJobId', jobId)
      await this.record(id, { at, jobId }, 'runs')
      span?.setAttributes({ 'spoke.job_id': jobId })
      span?.end()
      return jobId
    } catch (err) {
      span?.end(err)
      const error = err instanceof AppError ? { code: err.code, message: err.message } : { code: 'INTERNAL', message: String(err) }
      this.log.warn({ schedule: id, traceId: traceIdOf(traceparent), ...error }, 'schedule could not enqueue its job')
      await this.record(id, { at, error }, 'skipped')
      return undefined
    }
  }

  /** The tick's root span (tracing on): a consumer of the schedule queue; the job it queues goes under it. */
  private tickSpan (id: string, action: string): TraceSpan | undefined {
    const tracing = this.deps.tracing
    if (tracing?.enabled !== true) return undefined
    return tracing.start(`schedule ${action}`, 'consumer', undefined, {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': SCHEDULE_QUEUE,
      'spoke.action': action,
      'spoke.schedule': id
    })
  }

  async close (): Promise<void> { await closeQueues([this.queue]) }

  private async record (id: string, lastRun: ScheduleView['lastRun'], counter: 'runs' | 'skipped'): Promise<void> {
    await this.deps.store.multi().hset(this.stateKey(id), 'lastRun', JSON.stringify(lastRun)).hincrby(this.stateKey(id), counter, 1).exec()
  }

  private async definition (id: string): Promise<ScheduleDefinition | undefined> {
    const raw = await guard(this.deps.store.hget(this.defsKey, id))
    return raw === null ? undefined : JSON.parse(raw) as ScheduleDefinition
  }

  private async view (def: ScheduleDefinition): Promise<ScheduleView> {
    const [state, scheduler] = await guard(Promise.all([this.deps.store.hgetall(this.stateKey(def.id)), this.queue.getJobScheduler(def.id)]))
    const next = scheduler?.next
    return {
      ...def,
      ...(typeof next === 'number' ? { nextRunAt: new Date(next).toISOString() } : {}),
      runs: Number(state.runs ?? 0),
      skipped: Number(state.skipped ?? 0),
      ...(state.lastRun !== undefined ? { lastRun: JSON.parse(state.lastRun) } : {})
    }
  }
}
