// The worker of the `triggers` queue: site polls and per-subscription delivery runs. Neither waits for a
// receiver: a failed delivery is a delayed job (service.deliverPending), so a slot is only ever busy sending.
import { Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { bullPrefix } from '../jobs/queues'
import { TRIGGER_QUEUE, type TriggerJob, type TriggerService } from './service'

export function startTriggerWorker (service: TriggerService, opts: { connection: Redis, keyPrefix: string, log: Logger, concurrency?: number }): Worker<TriggerJob> {
  const worker = new Worker<TriggerJob>(TRIGGER_QUEUE, async (job) => {
    if (job.data.kind === 'poll') await service.poll(job.data.alias)
    else await service.deliverPending(job.data.id)
  }, { connection: opts.connection, prefix: bullPrefix(opts.keyPrefix), concurrency: opts.concurrency ?? 4 })
  worker.on('error', (err) => opts.log.debug({ err }, 'trigger worker connection error'))
  worker.on('failed', (job, err) => opts.log.warn({ trigger: job?.data, err: err.message }, 'trigger job failed'))
  return worker
}
