// The `nested` permission profile, applied after the default seed with its own random stream (so the default
// data set, which other tests rely on, does not move): read restrictions nest under restricted ancestors and
// mix users and groups drawn from the whole site (so the space grant, the page's own restriction and every
// ancestor's all matter), a few restriction lists run past one page, some spaces grant read to an access
// class, a few pages wait as drafts (a mutation publishes them), and the site has a non-UTC time zone.
import { hash32, Rng } from './random'
import { STATUSES, type Principals, type SiteData } from './seed'

export type PermissionProfile = 'default' | 'nested'

const DRAFT = STATUSES.indexOf('draft')
/** Users named by a long restriction: more than one page of the restriction endpoints' default limit (100). */
const LONG_LIST = 130

export function applyNestedProfile (site: SiteData): void {
  const rng = new Rng(hash32(site.seed, 0x7e57))
  site.timeZone = 'Australia/Sydney'
  grantAccessClasses(site, rng)
  const humans = site.users.filter((u) => u.accountType === 'atlassian' && u.index > 1).map((u) => u.index)
  const teams = site.groups.slice(1).map((g) => g.index)
  let long = 0
  const blogEnd = site.pageCount + site.blogCount
  for (let c = 0; c < blogEnd; c++) {
    const isHome = site.kind(c) === 'page' && c === site.spaces[site.space[c]].pageStart
    if (!isHome && site.kind(c) === 'page' && site.statusOf(c) === 'current' && rng.chance(0.02)) site.status[c] = DRAFT
    if (!rng.chance(site.kind(c) === 'page' ? 0.12 : 0.08)) continue
    const wantLong = long < 3 && humans.length > LONG_LIST && rng.chance(0.2)
    if (wantLong) long++
    const read = principals(rng, humans, teams, wantLong)
    site.restrictions.set(c, { read, update: site.restrictions.get(c)?.update ?? read })
  }
  site.recomputeReadChains()
}

/** site-admins always (the crawl account can read everything), plus 0–2 teams and 0–3 users, at least one of them. */
function principals (rng: Rng, humans: number[], teams: number[], long: boolean): Principals {
  const groups = [0, ...rng.sample(teams.length, rng.int(3)).map((i) => teams[i])]
  const count = long ? LONG_LIST : (groups.length === 1 ? 1 : 0) + rng.int(3)
  const users = rng.sample(humans.length, Math.min(count, humans.length)).map((i) => humans[i])
  return { groups: [...new Set(groups)], users }
}

/** A third of the public spaces grant read to all licensed users instead of confluence-users; one to anonymous. */
function grantAccessClasses (site: SiteData, rng: Rng): void {
  let anonymous = false
  for (const space of site.spaces) {
    if (!space.read.groups.includes(1) || !rng.chance(0.35)) continue
    space.read = { ...space.read, groups: space.read.groups.filter((g) => g !== 1) }
    space.permissions = space.permissions.filter((p) => !(p.principalType === 'group' && p.principal === 1 && p.key === 'read'))
    space.accessClasses = anonymous ? ['all-licensed-users'] : ['anonymous-users']
    anonymous = true
  }
}
