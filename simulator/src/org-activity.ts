// The licence side of the organisation, as the Organizations API reports it for managed accounts:
// account status, whether the account is billable, and per product (Confluence on each site, Jira on the
// first) when it was last active. Seeded from (seed, account index, site number), so the same seed gives
// the same org; dates are whole days (plus 12 h) before the simulator's clock, which is fixed at start, so
// activity buckets do not move while a test runs. Unmanaged accounts are not listed: no activity known.
import { hash32, Rng } from './random'
import type { User } from './seed'
import type { SimState } from './state'

export type AccountStatus = 'active' | 'inactive' | 'closed'
export type ActivityBucket = 'last30' | 'last60' | 'last90' | 'older' | 'never'

export interface ProductAccess { key: string, name: string, url: string, lastActive: number | null }

export interface OrgAccount {
  accountId: string
  status: AccountStatus
  billable: boolean
  products: ProductAccess[]
  /** latest activity in any product, ms since epoch; null: never */
  lastActive: number | null
}

export interface LicenceUsageTruth {
  asOf: string
  siteUrl: string
  /** billable accounts with Confluence access on the site */
  seatsInUse: number
  seatsByActivity: Record<ActivityBucket, number>
  /** every listed account with Confluence access on the site, by account status */
  byStatus: Record<AccountStatus, number>
  withConfluence: number
  /** accountId → what the Organizations API says of it for this site's Confluence */
  accounts: Map<string, { billable: boolean, status: AccountStatus, lastActive: string | null }>
}

const DAY_MS = 86_400_000
const HALF_DAY_MS = DAY_MS / 2

export function bucketOf (lastActive: number | null, asOf: number): ActivityBucket {
  if (lastActive === null) return 'never'
  const age = asOf - lastActive
  if (age <= 30 * DAY_MS) return 'last30'
  if (age <= 60 * DAY_MS) return 'last60'
  if (age <= 90 * DAY_MS) return 'last90'
  return 'older'
}

export class OrgActivity {
  /** the clock activity dates are relative to (the simulator's start, to the second) */
  readonly now = Math.floor(Date.now() / 1000) * 1000
  private readonly cache = new Map<string, OrgAccount>()

  constructor (private readonly state: SimState) {}

  /** Listed (managed) accounts, in directory order. */
  managedUsers (): User[] { return this.state.users.filter((u) => u.managed) }

  /** The org's record of a managed account; undefined when the org does not manage it. */
  account (user: User): OrgAccount | undefined {
    if (!user.managed) return undefined
    const sites = [...this.state.sites.values()]
    const key = `${user.index}:${sites.length}`
    let acc = this.cache.get(key)
    if (acc === undefined) { acc = this.seedAccount(user, sites.map((s) => ({ number: s.number, url: s.url }))); this.cache.set(key, acc) }
    return acc
  }

  /** Ground truth for a site's Confluence, computed the way the spoke's licence.usage must. */
  usage (siteUrl: string, asOf: number = Date.now()): LicenceUsageTruth {
    const truth: LicenceUsageTruth = {
      asOf: new Date(asOf).toISOString(),
      siteUrl,
      seatsInUse: 0,
      seatsByActivity: { last30: 0, last60: 0, last90: 0, older: 0, never: 0 },
      byStatus: { active: 0, inactive: 0, closed: 0 },
      withConfluence: 0,
      accounts: new Map()
    }
    for (const user of this.managedUsers()) {
      const acc = this.account(user) as OrgAccount
      const product = acc.products.find((p) => p.key === 'confluence' && p.url === siteUrl)
      if (product === undefined) continue
      truth.withConfluence++
      truth.byStatus[acc.status]++
      if (acc.billable) { truth.seatsInUse++; truth.seatsByActivity[bucketOf(product.lastActive, asOf)]++ }
      truth.accounts.set(acc.accountId, { billable: acc.billable, status: acc.status, lastActive: product.lastActive === null ? null : new Date(product.lastActive).toISOString() })
    }
    return truth
  }

  private seedAccount (user: User, sites: Array<{ number: number, url: string }>): OrgAccount {
    const rng = new Rng(hash32(this.state.seed, 0x11c, user.index))
    const admin = user.index === 0
    const roll = rng.next()
    const status: AccountStatus = admin || roll < 0.88 ? 'active' : roll < 0.96 ? 'inactive' : 'closed'
    const billable = status === 'active' && (admin || rng.chance(0.93))
    const products: ProductAccess[] = []
    if (status !== 'closed') {
      for (const site of sites) {
        const r = new Rng(hash32(this.state.seed, 0x11d, user.index, site.number))
        if (admin || r.chance(0.85)) products.push({ key: 'confluence', name: 'Confluence', url: site.url, lastActive: admin ? this.daysAgo(0) : this.randomLastActive(r) })
      }
      if (rng.chance(0.35) && sites.length > 0) products.push({ key: 'jira-software', name: 'Jira Software', url: sites[0].url, lastActive: this.randomLastActive(rng) })
    }
    const dates = products.map((p) => p.lastActive).filter((d): d is number => d !== null)
    return { accountId: user.accountId, status, billable, products, lastActive: dates.length === 0 ? null : Math.max(...dates) }
  }

  /** 40 % within 30 days, 15 % 30–60, 10 % 60–90, 20 % 90–400, 15 % never. */
  private randomLastActive (rng: Rng): number | null {
    const r = rng.next()
    if (r < 0.40) return this.daysAgo(rng.int(30))
    if (r < 0.55) return this.daysAgo(30 + rng.int(30))
    if (r < 0.65) return this.daysAgo(60 + rng.int(30))
    if (r < 0.85) return this.daysAgo(90 + rng.int(310))
    return null
  }

  /** Whole days plus half a day: far from every bucket edge for a run of a few hours. */
  private daysAgo (days: number): number { return this.now - days * DAY_MS - HALF_DAY_MS }
}
