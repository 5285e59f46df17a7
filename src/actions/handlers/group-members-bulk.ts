// confluence.group.members.bulk: many accounts through the single-account logic of the sync membership
// actions, run by the shared membership task runner (membership-tasks.ts): a few at a time, each account's
// outcome checkpointed as it completes so a retried or resumed job (after a crash) skips the accounts done.
import { InputInvalidError } from '../../errors/errors'
import { assertManaged, type MembershipOp } from './group-membership'
import { runMembershipTasks, type TaskResult } from './membership-tasks'
import type { ActionHandler, HandlerModule, PrecheckContext } from './types'

export interface BulkInput { groupId: string, add?: string[], remove?: string[], dryRun?: boolean }
export type AccountResult = TaskResult

export const MAX_BULK_ACCOUNTS = 10_000

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
  const tasks = [
    ...add.map(accountId => ({ groupId, accountId, op: 'add' as MembershipOp })),
    ...remove.map(accountId => ({ groupId, accountId, op: 'remove' as MembershipOp }))
  ]
  // Checkpoint fields `${op}:${accountId}`, as before the runner was shared (jobs in flight keep resuming).
  const results = await runMembershipTasks(ctx, tasks, { dryRun, keyOf: t => `${t.op}:${t.accountId}` })
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
