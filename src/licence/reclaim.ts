// confluence.license.reclaim: takes Confluence seats back from accounts inactive for longer than
// `inactiveDays` by removing them from the given managed groups (the groups that grant the product), with
// the bulk membership machinery (membership-tasks.ts): per-account check-then-write, checkpointed per
// (group, account), paced by the site's rate budget, exactly once across a crash. dryRun (the default)
// checks every membership and changes nothing. Only the given groups are touched, and each must be a
// managed group of the alias (403 GROUP_NOT_MANAGED, checked before the job is queued).
import { InputInvalidError } from '../errors/errors'
import type { ResolvedConnection } from '../connections/types'
import { assertManaged } from '../actions/handlers/group-membership'
import { runMembershipTasks, type MembershipTask } from '../actions/handlers/membership-tasks'
import type { ActionHandler } from '../actions/handlers/types'
import { planReclaim, type ReclaimInput, type ReclaimPlan } from './reclaim-plan'

type Outcome = 'removed' | 'already_removed' | 'would_remove' | 'not_a_member' | 'failed'

const PLAN_FIELD = 'plan'

/** The check that can run before the job is queued: every group is one of the alias's managed groups. */
export function checkReclaimInput (input: Record<string, unknown>, connection: ResolvedConnection): void {
  const { groups } = input as unknown as ReclaimInput
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new InputInvalidError('groups must name at least one managed group', { errors: [{ path: '/groups', message: 'at least one group', keyword: 'minItems', params: { limit: 1 } }] })
  }
  for (const groupId of groups) assertManaged({ connection }, groupId)
}

export const licenceReclaim: ActionHandler = async (ctx) => {
  checkReclaimInput(ctx.input, ctx.connection)
  const input = ctx.input as unknown as ReclaimInput
  const dryRun = input.dryRun !== false
  const plan = await loadOrPlan(ctx, input)
  const tasks: MembershipTask[] = plan.candidates.flatMap(c => c.groups.map(groupId => ({ groupId, accountId: c.accountId, op: 'remove' as const })))
  const phase = dryRun ? 'checking memberships' : 'removing memberships'
  const results = await runMembershipTasks({ ...ctx, onProgress: u => ctx.onProgress?.({ ...u, message: phase }) }, tasks, { dryRun, keyOf: t => `remove:${t.groupId}:${t.accountId}` })

  let t = 0
  const counts: Record<Outcome, number> = { removed: 0, already_removed: 0, would_remove: 0, not_a_member: 0, failed: 0 }
  const accounts = plan.candidates.map(c => {
    const groups = c.groups.map(groupId => {
      const r = results[t++]
      return { groupId, changed: r.changed, ...(r.error !== undefined ? { error: r.error } : {}) }
    })
    const outcome: Outcome = groups.some(g => g.error !== undefined)
      ? 'failed'
      : groups.some(g => g.changed) ? (dryRun ? 'would_remove' : 'removed') : (dryRun ? 'not_a_member' : 'already_removed')
    counts[outcome]++
    return { accountId: c.accountId, lastActive: c.lastActive, outcome, groups }
  })
  // Seats this run took back: removed now, or found already out of the groups the plan saw them in
  // (a write that landed just before a crash, before its checkpoint).
  const reclaimed = dryRun ? counts.would_remove : counts.removed + counts.already_removed
  if (!dryRun && reclaimed > 0) ctx.services?.metrics?.licenceSeatsReclaimed.inc({ alias: ctx.connection.resolved }, reclaimed)
  return {
    dryRun,
    asOf: plan.asOf,
    inactiveDays: input.inactiveDays,
    groups: input.groups,
    summary: {
      reclaimed,
      failed: counts.failed,
      ...(dryRun ? { notAMember: counts.not_a_member } : { alreadyRemoved: counts.already_removed }),
      excluded: plan.excluded.count,
      unknownActivity: plan.unknownActivity.count,
      overCap: plan.overCap.count,
      active: plan.active,
      noSeat: plan.noSeat
    },
    accounts,
    skipped: { excluded: plan.excluded.accountIds, unknownActivity: plan.unknownActivity.accounts, overCap: plan.overCap.accountIds }
  }
}

/** The plan this job computed before (a resumed or retried run), or a new one, checkpointed before any write. */
async function loadOrPlan (ctx: Parameters<ActionHandler>[0], input: ReclaimInput): Promise<ReclaimPlan> {
  const saved = ctx.job === undefined ? undefined : (await ctx.job.checkpoint.load()).get(PLAN_FIELD)
  if (saved !== undefined) return JSON.parse(saved) as ReclaimPlan
  const plan = await planReclaim(ctx, input, Date.now())
  await ctx.job?.checkpoint.save(PLAN_FIELD, JSON.stringify(plan))
  if (ctx.job !== undefined) await ctx.services?.privacy?.index.recordValue(ctx.connection.resolved, plan, `job:${ctx.job.jobId}`) // a failed job's plan names accounts (docs/privacy.md)
  return plan
}
