// The engine of the bulk membership job, shared by confluence.group.members.bulk and licence reclamation:
// many (group, account, add|remove) tasks through the single-account check-then-write (changeMembership),
// a few at a time. Inside a job each task's outcome is checkpointed in Redis as it completes, so a retried
// or resumed job (after a crash) skips the tasks already done; a retryable failure leaves its task for the
// job's next attempt unless this is the last one.
import { AppError } from '../../errors/app-error'
import { changeMembership, type MembershipOp } from './group-membership'
import type { HandlerContext } from './types'

export interface MembershipTask { groupId: string, accountId: string, op: MembershipOp }
export interface TaskResult { accountId: string, op: MembershipOp, changed: boolean, error?: { code: string, message: string } }

export interface TaskOptions {
  dryRun: boolean
  /** The checkpoint field of a task: stable across attempts, unique within the job. */
  keyOf: (task: MembershipTask) => string
}

/** Tasks in flight at once within one job (the site budget paces the requests themselves). */
const CONCURRENCY = 8
/** Failures that belong to one task (an unknown account, a write Confluence refuses); anything else stops the job. */
const PER_ACCOUNT_CODES = new Set(['UPSTREAM_NOT_FOUND', 'UPSTREAM_INVALID'])

/** Runs every task once (or takes its checkpointed outcome); results in task order. Throws what stops the job. */
export async function runMembershipTasks (ctx: HandlerContext, tasks: MembershipTask[], opts: TaskOptions): Promise<TaskResult[]> {
  const job = ctx.job
  const done = job === undefined ? new Map<string, string>() : await job.checkpoint.load()
  const results = new Array<TaskResult>(tasks.length)
  let finished = 0
  let retryLater: AppError | undefined
  let fatal: unknown
  const stopped = (): boolean => retryLater !== undefined || fatal !== undefined || ctx.signal?.aborted === true

  const runOne = async (i: number): Promise<void> => {
    const task = tasks[i]
    const { accountId, op } = task
    const key = opts.keyOf(task)
    const saved = done.get(key)
    if (saved !== undefined) { results[i] = JSON.parse(saved) as TaskResult; finished++; return }
    let result: TaskResult
    try {
      const r = await changeMembership(ctx, { groupId: task.groupId, accountId, op, dryRun: opts.dryRun })
      result = { accountId, op, changed: r.changed }
    } catch (err) {
      if (ctx.signal?.aborted === true) return
      if (!(err instanceof AppError)) { fatal ??= err; return }
      if (err.retryable && job !== undefined && !job.finalAttempt) { retryLater ??= err; return }
      if (!err.retryable && !PER_ACCOUNT_CODES.has(err.code)) { fatal ??= err; return }
      result = { accountId, op, changed: false, error: { code: err.code, message: err.message } }
    }
    results[i] = result
    if (job !== undefined) await job.checkpoint.save(key, JSON.stringify(result))
    finished++
    ctx.onProgress?.({ done: finished, total: tasks.length })
  }

  let next = 0
  // A throw from runOne (e.g. the checkpoint write while Redis fails over) stops every runner, and this
  // waits for the tasks in flight: were the other runners left going, they would still be changing accounts
  // when the retried attempt starts on the same accounts, and both would add them.
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, tasks.length) }, async () => {
    while (next < tasks.length && !stopped()) {
      try { await runOne(next++) } catch (err) { fatal ??= err }
    }
  }))
  if (ctx.signal?.aborted === true) throw ctx.signal.reason
  if (fatal !== undefined) throw fatal
  if (retryLater !== undefined) throw retryLater
  ctx.onProgress?.({ done: finished, total: tasks.length })
  return results
}
