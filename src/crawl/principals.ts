// The principals an index needs to evaluate the ACLs: every group with its members by groupId, and every
// account those groups or the ACLs name, with an email from the Organizations API (managed accounts, with
// the alias's org admin key), else from the profile when visible, else null — such accounts are counted
// and listed, never dropped. Emails of the org are staged in Redis, not in memory.
import type { HandlerContext } from '../actions/handlers/types'
import { OrgAdminNotConfiguredError } from '../errors/errors'
import { orgAccess, orgUserPages } from '../licence/org-users'
import type { CrawlState } from './state'
import { field, segment } from './layers'
import type { CrawlRecord, GroupRecord, UserRecord } from './types'

const GROUP_PAGE = 200
const USER_BATCH = 100
const UNRESOLVED_LISTED = 1000

type Call = HandlerContext['call']
type Emit = (records: CrawlRecord[]) => Promise<void>

/** Groups, one offset page at a time; returns the next offset, or undefined when done. */
export async function exportGroups (call: Call, state: CrawlState, start: number, emit: Emit, signal?: AbortSignal, onError: (code: string) => void = () => {}): Promise<number | undefined> {
  const res = await call({ method: 'GET', path: '/wiki/rest/api/group', query: { start, limit: GROUP_PAGE }, signal })
  const listed = field(res.body, 'results')
  const all = Array.isArray(listed) ? listed : []
  const groups: Array<{ id: string, name: string }> = []
  for (const g of all) {
    const id = field(g, 'id')
    const name = field(g, 'name')
    // (a null entry or one without an id: a group we cannot name, so nobody is let in through it)
    if (typeof id === 'string' && id !== '') groups.push({ id, name: typeof name === 'string' ? name : '' }); else onError('GROUP_INCOMPLETE')
  }
  const records: GroupRecord[] = []
  for (const g of groups) {
    const members: string[] = []
    for (let at = 0; ; at += GROUP_PAGE) {
      const page = await call({ method: 'GET', path: `/wiki/rest/api/group/${segment(g.id)}/membersByGroupId`, query: { start: at, limit: GROUP_PAGE }, signal })
      const list = field(page.body, 'results')
      const users = Array.isArray(list) ? list : []
      // a member we cannot name is left out (a false denial at worst, never a grant), and counted
      for (const u of users) { const accountId = field(u, 'accountId'); if (typeof accountId === 'string' && accountId !== '') members.push(accountId); else onError('GROUP_MEMBER_INCOMPLETE') }
      if (users.length < GROUP_PAGE) break
    }
    records.push({ recordId: `group:${g.id}`, kind: 'group', groupId: g.id, name: g.name, members })
    await state.addAccounts(members)
  }
  await emit(records)
  return all.length < GROUP_PAGE ? undefined : start + GROUP_PAGE
}

/**
 * Stages the org's managed accounts' emails (accountId → email) in Redis; false when the alias has no org key
 * or the key sees no organization. Read through the one Organizations API client (licence/org-users): retries,
 * timeouts, and the key sent only to the alias's own API origin.
 */
export async function stageOrgEmails (ctx: Pick<HandlerContext, 'services' | 'connection' | 'signal'>, state: CrawlState): Promise<boolean> {
  let access
  try {
    access = await orgAccess(ctx)
  } catch (err) {
    if (err instanceof OrgAdminNotConfiguredError) return false
    throw err
  }
  for await (const page of orgUserPages(access, ctx.signal)) {
    await state.saveEmails(page.users.filter((u) => u.account_id && u.email).map((u) => [u.account_id as string, u.email as string]))
  }
  return true
}

export interface UserExport { count: number, unresolved: number, unresolvedIds: string[] }

/** Every staged account, a bulk lookup of 100 at a time. */
export async function exportUsers (call: Call, state: CrawlState, emit: Emit, signal?: AbortSignal): Promise<UserExport> {
  const out: UserExport = { count: 0, unresolved: 0, unresolvedIds: [] }
  for await (const ids of state.accounts()) {
    for (let i = 0; i < ids.length; i += USER_BATCH) {
      const batch = ids.slice(i, i + USER_BATCH)
      const res = await call({ method: 'GET', path: '/wiki/rest/api/user/bulk', query: { accountId: batch.join(',') }, signal })
      const listed = field(res.body, 'results')
      const byId = new Map<string, Record<string, any>>()
      for (const u of Array.isArray(listed) ? listed : []) {
        const accountId = field(u, 'accountId')
        if (typeof accountId === 'string' && batch.includes(accountId)) byId.set(accountId, u as Record<string, any>)
      }
      // every account asked for gets a record, also one the bulk read did not return (deleted, or hidden):
      // an index that meets an accountId in an ACL or a group can always resolve it
      const orgEmails = await state.emails(batch)
      const records: UserRecord[] = batch.map((accountId, k) => {
        const u = byId.get(accountId)
        const profile = typeof u?.email === 'string' && u.email !== '' ? u.email as string : null
        const email = orgEmails[k] ?? profile
        const name = typeof u?.displayName === 'string' ? u.displayName as string : typeof u?.publicName === 'string' ? u.publicName as string : ''
        return {
          recordId: `user:${accountId}`,
          kind: 'user',
          accountId,
          displayName: name,
          accountType: typeof u?.accountType === 'string' && u.accountType !== '' ? u.accountType as string : u === undefined ? 'unknown' : 'atlassian',
          active: u === undefined ? false : u.accountStatus === undefined ? true : u.accountStatus === 'active',
          email,
          emailSource: orgEmails[k] !== null ? 'org' : profile !== null ? 'profile' : null
        }
      })
      for (const r of records) {
        if (r.email === null) { out.unresolved++; if (out.unresolvedIds.length < UNRESOLVED_LISTED) out.unresolvedIds.push(r.accountId) }
      }
      out.count += records.length
      await emit(records)
    }
  }
  return out
}
