// The principals an index needs to evaluate the ACLs: every group with its members by groupId, and every
// account those groups or the ACLs name, with an email from the Organizations API (managed accounts, with
// the alias's org admin key), else from the profile when visible, else null — such accounts are counted
// and listed, never dropped. Emails of the org are staged in Redis, not in memory.
import { request } from 'undici'
import type { HandlerContext, HandlerServices } from '../actions/handlers/types'
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

/** Stages the org's managed accounts' emails (accountId → email) in Redis; false when the alias has no org key. */
export async function stageOrgEmails (services: HandlerServices, alias: string, state: CrawlState): Promise<boolean> {
  const org = await services.orgAdmin(alias)
  if (org === undefined) return false
  const auth = { authorization: `Bearer ${org.apiKey}`, accept: 'application/json' }
  let orgId = org.orgId
  if (orgId === undefined) {
    const res = await request(`${org.connectionUrl}admin/v1/orgs`, { headers: auth })
    orgId = ((await res.body.json()) as { data?: Array<{ id?: string }> }).data?.[0]?.id
    if (orgId === undefined) return false
  }
  let url: string | undefined = `${org.connectionUrl}admin/v1/orgs/${orgId}/users`
  for (let n = 0; url !== undefined && n < 100_000; n++) {
    const res = await request(url, { headers: auth })
    if (res.statusCode !== 200) { await res.body.dump(); throw new Error(`the Organizations API answered ${res.statusCode}`) }
    const body = await res.body.json() as { data?: Array<{ account_id?: string, email?: string }>, links?: { next?: string } }
    await state.saveEmails((body.data ?? []).filter((u) => u.account_id && u.email).map((u) => [u.account_id as string, u.email as string]))
    url = body.links?.next
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
