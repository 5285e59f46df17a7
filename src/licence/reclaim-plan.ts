// Which members of the given managed groups reclamation would take the seat from, computed once per job
// and checkpointed: a resumed run must not recompute it (the accounts it already removed are no longer
// members, so a fresh plan would forget them). An account is a candidate when the org lists it, it is
// billable with Confluence access on the site, Atlassian records its last Confluence activity, and that is
// more than `inactiveDays` ago. Excluded accounts, and accounts whose activity is unknown (not listed by
// the org, or no activity recorded), are counted and listed, never candidates. Longest inactive first;
// at most `maxAccounts`, the rest counted as over the cap.
import type { HandlerContext } from '../actions/handlers/types'
import { membersOfGroups } from './group-members'
import { orgAccess, orgUserPages } from './org-users'
import { confluenceSeat, inactiveFor } from './seats'

export interface ReclaimInput {
  inactiveDays: number
  groups: string[]
  exclude?: string[]
  maxAccounts?: number
  dryRun?: boolean
}

export interface Candidate { accountId: string, lastActive: string, groups: string[] }
export type UnknownReason = 'not_listed_by_org' | 'no_activity_recorded'

export interface ReclaimPlan {
  asOf: string
  candidates: Candidate[]
  overCap: { count: number, accountIds: string[] }
  excluded: { count: number, accountIds: string[] }
  unknownActivity: { count: number, accounts: Array<{ accountId: string, reason: UnknownReason }> }
  /** members active within inactiveDays */
  active: number
  /** members the org lists without a billable Confluence seat on the site: nothing to reclaim */
  noSeat: number
}

/** Ids listed per skipped category (the counts are always complete). */
const MAX_LISTED = 10_000
export const DEFAULT_MAX_ACCOUNTS = 100

export async function planReclaim (ctx: HandlerContext, input: ReclaimInput, asOf: number): Promise<ReclaimPlan> {
  const access = await orgAccess(ctx)
  const site = await ctx.site()
  const exclude = new Set(input.exclude ?? [])
  ctx.onProgress?.({ message: 'reading the groups' })
  const groupsOf = await membersOfGroups(ctx, input.groups)
  const plan: ReclaimPlan = {
    asOf: new Date(asOf).toISOString(),
    candidates: [],
    overCap: { count: 0, accountIds: [] },
    excluded: { count: 0, accountIds: [] },
    unknownActivity: { count: 0, accounts: [] },
    active: 0,
    noSeat: 0
  }
  const unknown = (accountId: string, reason: UnknownReason): void => {
    if (plan.unknownActivity.count++ < MAX_LISTED) plan.unknownActivity.accounts.push({ accountId, reason })
  }
  const excluded = (accountId: string): void => {
    if (plan.excluded.count++ < MAX_LISTED) plan.excluded.accountIds.push(accountId)
  }
  const listed = new Set<string>()
  let read = 0
  for await (const page of orgUserPages(access, ctx.signal)) {
    for (const user of page.users) {
      const accountId = user.account_id
      if (typeof accountId !== 'string' || !groupsOf.has(accountId)) continue
      listed.add(accountId)
      const seat = confluenceSeat(user, site.url)
      if (exclude.has(accountId)) excluded(accountId)
      else if (seat === undefined || !seat.billable) plan.noSeat++
      else if (seat.lastActive === null) unknown(accountId, 'no_activity_recorded')
      else if (!inactiveFor(seat.lastActive, input.inactiveDays, asOf)) plan.active++
      else plan.candidates.push({ accountId, lastActive: seat.lastActive, groups: groupsOf.get(accountId) as string[] })
    }
    read += page.users.length
    ctx.onProgress?.({ done: read, total: page.total, message: 'reading the organization\'s accounts' })
  }
  for (const accountId of groupsOf.keys()) {
    if (listed.has(accountId)) continue
    if (exclude.has(accountId)) excluded(accountId); else unknown(accountId, 'not_listed_by_org')
  }
  plan.candidates.sort((a, b) => Date.parse(a.lastActive) - Date.parse(b.lastActive) || (a.accountId < b.accountId ? -1 : 1))
  const cap = input.maxAccounts ?? DEFAULT_MAX_ACCOUNTS
  const over = plan.candidates.splice(cap)
  plan.overCap = { count: over.length, accountIds: over.slice(0, MAX_LISTED).map(c => c.accountId) }
  return plan
}
