// The `nested` permission profile, applied after the default seed with its own random stream (so the default
// data set, which other tests rely on, does not move): read restrictions nest under restricted ancestors and
// mix users and groups drawn from the whole site (so the space grant, the page's own restriction and every
// ancestor's all matter), a few restriction lists run past one page, some spaces grant read to an access
// class, a few pages wait as drafts (a mutation publishes them), and the site has a non-UTC time zone.
// Folders come last: some at a space's root, some in pages, some in other folders, a good part of them
// restricted (users and groups mixed), a few trashed, and pages moved into them.
import { folderRef, isFolderRef } from './folders'
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
  seedFolders(site, rng, humans, teams)
  site.rebuildChildren()
  site.recomputeReadChains()
}

const TRASHED = STATUSES.indexOf('trashed')

/** About one folder per 12 pages of a space; 40 % restricted, the third of every other space trashed; 15 % of the pages moved into one. */
function seedFolders (site: SiteData, rng: Rng, humans: number[], teams: number[]): void {
  const folders = site.folders
  for (const space of site.spaces) {
    const pages = space.pageEnd - space.pageStart
    if (pages < 2) continue
    const first = folders.count
    for (let i = 0; i < Math.max(1, Math.round(pages / 12)); i++) {
      const r = rng.next()
      const parent = r < 0.35 || (r >= 0.75 && folders.count === first)
        ? {}
        : r < 0.75 ? { page: space.pageStart + rng.int(pages) } : { folder: first + rng.int(folders.count - first) }
      const folder = folders.add(space.index, parent, space.createdAt + rng.int(365 * 86400), rng.chance(0.2) ? 0 : 2 + rng.int(site.users.length - 2))
      if (i === 2 && space.index % 2 === 1) folder.status = TRASHED
      // a trashed folder is restricted, so that skipping its restriction (Confluence does) matters
      if (folder.status === TRASHED || rng.chance(0.4)) { const read = principals(rng, humans, teams, false); folder.restriction = { read, update: read } }
    }
    if (folders.count === first) continue
    for (let c = space.pageStart + 1; c < space.pageEnd; c++) {
      if (!rng.chance(0.15)) continue
      const f = first + rng.int(folders.count - first)
      // no cycle: every page above the folder comes before c (a page's subtree only holds later pages)
      if (site.ancestorRefs(folderRef(f)).some((a) => !isFolderRef(a) && a >= c)) continue
      site.parent[c] = -1
      folders.pageFolder[c] = f
    }
  }
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
