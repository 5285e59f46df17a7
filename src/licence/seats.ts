// What the Organizations API says of one account for one site's Confluence, and the activity buckets
// (pure; shared by the usage report and reclamation so both count the same way).
import type { OrgUser } from './org-users'

export const ACTIVITY_BUCKETS = ['last30', 'last60', 'last90', 'older', 'never'] as const
export type ActivityBucket = typeof ACTIVITY_BUCKETS[number]
export const ACCOUNT_STATUSES = ['active', 'inactive', 'closed'] as const

const DAY_MS = 86_400_000

export interface ConfluenceSeat {
  accountId: string
  /** account_status as Atlassian gives it (active, inactive, closed) */
  status: string
  billable: boolean
  /** last activity in this site's Confluence (ISO), null when Atlassian records none */
  lastActive: string | null
}

/** The account's Confluence access on the site, or undefined when it has none there (or the item is malformed). */
export function confluenceSeat (user: OrgUser, siteUrl: string): ConfluenceSeat | undefined {
  if (typeof user.account_id !== 'string' || !Array.isArray(user.product_access)) return undefined
  const host = hostOf(siteUrl)
  const product = user.product_access.find(p => p?.key === 'confluence' && typeof p.url === 'string' && hostOf(p.url) === host)
  if (product === undefined) return undefined
  const last = typeof product.last_active === 'string' && !Number.isNaN(Date.parse(product.last_active)) ? product.last_active : null
  return { accountId: user.account_id, status: String(user.account_status ?? 'unknown'), billable: user.access_billable === true, lastActive: last }
}

/** last30: at most 30 days ago; last60: 30 to 60; last90: 60 to 90; older; never: no activity recorded. */
export function activityBucket (lastActive: string | null, asOf: number): ActivityBucket {
  if (lastActive === null) return 'never'
  const age = asOf - Date.parse(lastActive)
  if (age <= 30 * DAY_MS) return 'last30'
  if (age <= 60 * DAY_MS) return 'last60'
  if (age <= 90 * DAY_MS) return 'last90'
  return 'older'
}

/** Inactive for reclamation: activity recorded, and longer ago than `days`. */
export function inactiveFor (lastActive: string, days: number, asOf: number): boolean {
  return asOf - Date.parse(lastActive) > days * DAY_MS
}

/** Product URLs come as `https://acme.atlassian.net` (sometimes with a path or without a scheme): compare hosts. */
function hostOf (url: string): string {
  try { return new URL(/^[a-z]+:\/\//i.test(url) ? url : `https://${url}`).host.toLowerCase() } catch { return url.toLowerCase() }
}
