// confluence.group.members.bulk: many accounts through the single-account logic of the sync membership
// actions (changeMembership), a few at a time. Inside a job each account's outcome is checkpointed in
// Redis as it completes, so a retried or resumed job (after a crash) skips the accounts already done;
// a retryable failure leaves its account for the job's next attempt unless this is the last one.
import { AppError } from '../../errors/app-error'
import { InputInvalidError } from '../../errors/errors'
import { assertManaged, changeMembership, type MembershipOp } from './group-membership'
import type { ActionHandler, HandlerModule, PrecheckContext } from './types'

export interface BulkInput { groupId: string, add?: string[], remove?: string[], dryRun?: boolean }
export interface AccountResult { accountId: string, op: MembershipOp, changed: boolean, error?: { code: string, message: string } }

export const MAX_BULK_ACCOUNTS = 10_000
/** Accounts in flight at once within one job (the site budget paces the requests themselves). */
const CONCURRENCY = 8
/** Failures that belong to one account (an unknown account, a write Confluence refuses); anything else stops the job. */
const PER_ACCOUNT_CODES = new Set(['UPSTREAM_NOT_FOUND', 'UPSTREAM_INVALID'])

/** The checks that can run before the job is queued: the managed group, and the size of the whole request. */
function checkBulkInput (ctx: PrecheckContext): void {
  const { groupId, add = [], remove = [] } = ctx.input as unknown as BulkInput
  assertManaged(ctx, groupId)
  const total = add.length + remove.length
  if (total === 0 || total > MAX_BULK_ACCOUNTS) {
    throw new InputInvalidError(`add and remove together must name 1 to ${MAX_BULK_ACCOUNTS} accounts (got ${total})`, { errors: [{ path: '', message: `1 to ${MAX_BULK_ACCOUNTS} accounts`, keyword: 'bulkSize', params: { total } }] })
  }
  const adding = new Set(add)
  const both = remove.find(a => adding.has(a))
  if (both !== undefined) {
    throw new InputInvalidError(`Account ${both} is both in add and in remove`, { errors: [{ path: '/remove', message: 'an account may not be added and removed', keyword: 'bulkOverlap', params: { accountId: both } }] })
  }
}

const runBulk: ActionHandler = async (ctx) => {
  const { groupId, add = [], remove = [], dryRun = false } = ctx.input as unknown as BulkInput
  const ops: Array<{ accountId: string, op: MembershipOp }> = [
    ...add.map(accountId => ({ accountId, op: 'add' as const })),
    ...remove.map(accountId => ({ accountId, op: 'remove' as const }))
  ]
  const job = ctx.job
  const done = job === undefined ? new Map<string, string>() : await job.checkpoint.load()
  const results = new Array<AccountResult>(ops.length)
  let finished = 0
  let retryLater: AppError | undefined
  let fatal: unknown
  const stopped = (): boolean => retryLater !== undefined || fatal !== undefined || ctx.signal?.aborted === true

  const runOne = async (i: number): Promise<void> => {
    const { accountId, op } = ops[i]
    const key = `${op}:${accountId}`
    const saved = done.get(key)
    if (saved !== undefined) { results[i] = JSON.parse(saved) as AccountResult; finished++; return }
    let result: AccountResult
    try {
      const r = await changeMembership(ctx, { groupId, accountId, op, dryRun })
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
    ctx.onProgress?.({ done: finished, total: ops.length })
  }

  let next = 0
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ops.length) }, async () => {
    while (next < ops.length && !stopped()) await runOne(next++)
  }))
  if (ctx.signal?.aborted === true) throw ctx.signal.reason
  if (fatal !== undefined) throw fatal
  if (retryLater !== undefined) throw retryLater
  ctx.onProgress?.({ done: finished, total: ops.length })

  let changed = 0
  let failed = 0
  for (const r of results) { if (r.error !== undefined) failed++; else if (r.changed) changed++ }
  return { results, summary: { total: results.length, changed, unchanged: results.length - changed - failed, failed, dryRun } }
}

export const groupMembersBulk: HandlerModule = {
  params: { type: 'object', additionalProperties: false },
  precheck: checkBulkInput,
  run: runBulk
}
