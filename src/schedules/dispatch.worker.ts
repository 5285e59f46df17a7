// The worker of the `schedule` queue: each job its schedulers fire is one tick, which enqueues the action as
// a normal run-action job (schedule-service dispatch). One tick at a time per process; a tick that fails
// (Redis away) is not retried — the next tick comes anyway.
import { Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { bullPrefix } from '../jobs/queues'
import { SCHEDULE_QUEUE, type DispatchData, type ScheduleService } from './schedule-service'

export function startScheduleWorker (service: ScheduleService, opts: { connection: Redis, keyPrefix: string, log: Logger }): Worker<DispatchData> {
  const worker = new Worker<DispatchData>(SCHEDULE_QUEUE, async (job) => await service.dispatch(job.data.scheduleId), {
    connection: opts.connection, prefix: bullPrefix(opts.keyPrefix), concurrency: 1
  })
  worker.on('error', (err) => opts.log.debug({ err }, 'schedule worker connection error'))
  worker.on('failed', (job, err) => opts.log.warn({ schedule: job?.data.scheduleId, err: err.message }, 'schedule tick failed'))
  return worker
}
