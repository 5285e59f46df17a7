// The principals an index needs to evaluate the ACLs: every group with its members by groupId, and every
// account those groups or the ACLs name, with an email from the Organizations API (managed accounts, with
// the alias's org admin key), else from the profile when visible, else null — such accounts are counted
// and listed, never dropped. Emails of the org are staged in Redis, not in memory.
import type { HandlerContext } from '../actions/handlers/types'
import { OrgAdminNotConfiguredError } from '../errors/errors'
import { orgAccess, orgUserPages } from '../licence/org-users'
import type { CrawlState } from './state'
import type { CrawlRecord, GroupRecord, UserRecord } from './types'

const GROUP_PAGE = 200
const USER_BATCH = 100
const UNRESOLVED_LISTED = 1000

type Call = HandlerContext['call']
type Emit = (records: CrawlRecord[]) => Promise<void>

/** Groups, one offset page at a time; returns the next offset, or undefined when done. */
export async function exportGroups (call: Call, state: CrawlState, start: number, emit: Emit, signal?: AbortSignal): Promise<number | undefined> {
  const res = await call({ method: 'GET', path: '/wiki/rest/api/group', query: { start, limit: GROUP_PAGE }, signal })
  const groups = ((res.body as { results?: Array<{ id?: string, name?: string }> } | null)?.results ?? []).filter((g) => typeof g.id === 'string')
  const records: GroupRecord[] = []
  for (const g of groups) {
    const members: string[] = []
    for (let at = 0; ; at += GROUP_PAGE) {
      const page = await call({ method: 'GET', path: `/wiki/rest/api/group/${g.id as string}/membersByGroupId`, query: { start: at, limit: GROUP_PAGE }, signal })
      const users = (page.body as { results?: Array<{ accountId?: string }> } | null)?.results ?? []
      for (const u of users) if (typeof u.accountId === 'string') members.push(u.accountId)
      if (users.length < GROUP_PAGE) break
    }
    records.push({ recordId: `group:${g.id as string}`, kind: 'group', groupId: g.id as string, name: g.name ?? '', members })
    await state.addAccounts(members)
  }
  await emit(records)
  return groups.length < GROUP_PAGE ? undefined : start + GROUP_PAGE
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
      const users = (res.body as { results?: Array<Record<string, any>> } | null)?.results ?? []
      const orgEmails = await state.emails(users.map((u) => String(u.accountId)))
      const records: UserRecord[] = users.map((u, k) => {
        const profile = typeof u.email === 'string' && u.email !== '' ? u.email : null
        const email = orgEmails[k] ?? profile
        return {
          recordId: `user:${String(u.accountId)}`,
          kind: 'user',
          accountId: String(u.accountId),
          displayName: String(u.displayName ?? u.publicName ?? ''),
          accountType: String(u.accountType ?? 'atlassian'),
          active: u.accountStatus === undefined ? true : u.accountStatus === 'active',
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
