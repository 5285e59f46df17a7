// confluence.license.usage: who holds a Confluence seat on the alias's site and when they last used it.
// Streams every page of the org's managed accounts (Organizations API, org admin key), counts seats in use
// (billable accounts with Confluence access on the site) by activity bucket, and accounts with access by
// status; lists each account with the alias's managed groups it is in. Members of those groups the org
// does not list (not managed by the org) have no activity Atlassian reports: counted and listed as unknown.
// Accounts go into the result (up to MAX_RESULT_ACCOUNTS) or, for large orgs, to an NDJSON file.
import type { ActionHandler } from '../actions/handlers/types'
import { membersOfGroups } from './group-members'
import { licenceFilePath, openFileSink, type FileSink } from './file-sink'
import { orgAccess, orgUserPages } from './org-users'
import { ACCOUNT_STATUSES, ACTIVITY_BUCKETS, activityBucket, confluenceSeat, type ActivityBucket } from './seats'

export interface UsageInput { sink?: { type: 'result' } | { type: 'file', path: string } }

export interface AccountUsage {
  accountId: string
  /** last activity in this site's Confluence; null: none recorded, or unknown (not managed by the org) */
  lastActive: string | null
  activity: ActivityBucket | 'unknown'
  billable: boolean | null
  status: string | null
  managedGroups: string[]
}

export const MAX_RESULT_ACCOUNTS = 10_000
export const MAX_LISTED_IDS = 1_000

const zero = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map(k => [k, 0])) as Record<K, number>

/** Before the job is queued: a file sink's path must stay inside the licence directory (400 otherwise). */
export function checkUsageInput (input: Record<string, unknown>): void {
  const sink = (input as UsageInput).sink
  if (sink?.type === 'file') licenceFilePath('/spoke-data', sink.path)
}

export const licenceUsage: ActionHandler = async (ctx) => {
  const input = ctx.input as UsageInput
  const asOf = Date.now()
  const access = await orgAccess(ctx)
  const site = await ctx.site()
  ctx.onProgress?.({ message: 'reading the managed groups' })
  const groupsOf = await membersOfGroups(ctx, ctx.connection.managedGroups.map(g => g.groupId))

  const sink: FileSink | undefined = input.sink?.type === 'file' ? await openFileSink(requireDataDir(ctx), input.sink.path) : undefined
  const accounts: AccountUsage[] = []
  let truncated = false
  const emit = async (batch: AccountUsage[]): Promise<void> => {
    if (sink !== undefined) { await sink.write(batch); return }
    const room = MAX_RESULT_ACCOUNTS - accounts.length
    if (batch.length > room) truncated = true
    accounts.push(...batch.slice(0, Math.max(0, room)))
  }

  const seatsByActivity = zero(ACTIVITY_BUCKETS)
  const byStatus: Record<string, number> = zero(ACCOUNT_STATUSES)
  let seatsInUse = 0
  let withConfluence = 0
  let listedByOrg = 0
  const listedMembers = new Set<string>()
  try {
    for await (const page of orgUserPages(access, ctx.signal)) {
      const batch: AccountUsage[] = []
      for (const user of page.users) {
        listedByOrg++
        if (typeof user.account_id === 'string' && groupsOf.has(user.account_id)) listedMembers.add(user.account_id)
        const seat = confluenceSeat(user, site.url)
        if (seat === undefined) continue
        withConfluence++
        byStatus[seat.status] = (byStatus[seat.status] ?? 0) + 1
        const activity = activityBucket(seat.lastActive, asOf)
        if (seat.billable) { seatsInUse++; seatsByActivity[activity]++ }
        batch.push({ accountId: seat.accountId, lastActive: seat.lastActive, activity, billable: seat.billable, status: seat.status, managedGroups: groupsOf.get(seat.accountId) ?? [] })
      }
      await emit(batch)
      ctx.onProgress?.({ done: listedByOrg, total: page.total, message: 'reading the organization\'s accounts' })
    }
    const unknown: AccountUsage[] = []
    for (const [accountId, managedGroups] of groupsOf) {
      if (!listedMembers.has(accountId)) unknown.push({ accountId, lastActive: null, activity: 'unknown', billable: null, status: null, managedGroups })
    }
    await emit(unknown)
    const file = await sink?.close()
    ctx.services?.metrics?.licenceSeatsInUse.set({ alias: ctx.connection.resolved }, seatsInUse)
    return {
      asOf: new Date(asOf).toISOString(),
      site: site.url,
      seatsInUse,
      seatsByActivity,
      byStatus,
      withConfluence,
      listedByOrg,
      unknownActivity: { count: unknown.length, accountIds: unknown.slice(0, MAX_LISTED_IDS).map(u => u.accountId) },
      ...(file !== undefined ? { file } : { accounts, accountsTruncated: truncated })
    }
  } catch (err) {
    await sink?.abort()
    throw err
  }
}

function requireDataDir (ctx: Parameters<ActionHandler>[0]): string {
  const dir = ctx.services?.dataDir
  if (dir === undefined) throw new Error('the file sink needs the process data directory (engine services)')
  return dir
}
