// What code deep inside an action run may know about the job running it, without threading it through the
// engine: the job id (for checkpoints), whether this is the last attempt, and the abort signal. Absent in
// sync runs. AsyncLocalStorage carries it across every await of the run.
import { AsyncLocalStorage } from 'node:async_hooks'

export interface Checkpoint {
  /** Every outcome saved so far (field → value). */
  load: () => Promise<Map<string, string>>
  save: (field: string, value: string) => Promise<void>
}

export interface JobContext {
  jobId: string
  /** No attempt follows this one: record failures instead of leaving them for a retry. */
  finalAttempt: boolean
  signal: AbortSignal
  checkpoint: Checkpoint
}

const storage = new AsyncLocalStorage<JobContext>()

export function runInJob<T> (ctx: JobContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(ctx, fn)
}

export function currentJob (): JobContext | undefined {
  return storage.getStore()
}
