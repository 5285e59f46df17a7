// Worker role: BullMQ workers that run jobs on the shared core. Each feature that owns a queue registers
// its worker here; closers registered on the core stop them (waiting for active jobs) before Redis closes.
import type { Core } from './core'

export async function startWorkers (core: Core): Promise<void> {
  core.log.info({ concurrency: core.config.workerConcurrency }, 'workers started')
}
