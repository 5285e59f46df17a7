// Expected results of licence reclamation, from the simulator's ground truth: which members of the given
// groups the org lists as billable with Confluence on the site, with recorded activity older than the cut.
import type { Simulator } from 'confluence-cloud-simulator'

const DAY_MS = 86_400_000

export interface ExpectedReclaim {
  candidates: string[]
  excluded: string[]
  unknown: string[]
  memberships: number
}

export function expectedReclaim (sim: Simulator, groupIds: string[], inactiveDays: number, exclude: string[], asOf: number): ExpectedReclaim {
  const truth = sim.org.usage({ asOf })
  const members = new Map<string, number>()
  for (const g of groupIds) for (const a of sim.data.groupMembers(g) ?? []) members.set(a, (members.get(a) ?? 0) + 1)
  const out: ExpectedReclaim = { candidates: [], excluded: [], unknown: [], memberships: 0 }
  const skip = new Set(exclude)
  for (const [accountId, groups] of members) {
    if (skip.has(accountId)) { out.excluded.push(accountId); continue }
    const listed = sim.org.account(accountId) !== undefined
    const seat = truth.accounts.get(accountId)
    if (!listed) { out.unknown.push(accountId); continue }
    if (seat === undefined || !seat.billable) continue
    if (seat.lastActive === null) { out.unknown.push(accountId); continue }
    if (asOf - Date.parse(seat.lastActive) > inactiveDays * DAY_MS) { out.candidates.push(accountId); out.memberships += groups }
  }
  for (const list of [out.candidates, out.excluded, out.unknown]) list.sort()
  return out
}

/** Every membership of the given groups, as `groupId:accountId`. */
export function membershipsOf (sim: Simulator, groupIds: string[]): Set<string> {
  return new Set(groupIds.flatMap(g => (sim.data.groupMembers(g) ?? []).map(a => `${g}:${a}`)))
}
