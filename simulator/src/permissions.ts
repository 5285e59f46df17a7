// Who may read what. Confluence's rule: the space must grant read, and every read restriction on the
// content or its ancestors must list the user (directly or through a group). Attachments follow their
// container. A space may also grant read to a whole access class (anonymous, all licensed users). The
// restriction of a trashed or draft ancestor no longer applies (Confluence moves the children of a trashed
// page up, and the API answers 404 for its restrictions), so the chain walk skips it. Folders are part of
// the chain like pages: a page in a restricted folder needs that folder's read restriction too.
import { folderRef } from './folders'
import { STATUSES, type Principals, type SiteData } from './seed'

const GONE = new Set([STATUSES.indexOf('trashed'), STATUSES.indexOf('deleted'), STATUSES.indexOf('draft')])

export interface ReadAccess {
  /** where the access comes from: the content's own restriction, an ancestor's, or the space permissions */
  source: 'content' | 'ancestor' | 'space'
  /** content id of the restricting content, or the space id */
  sourceId: string
  users: string[]
  groups: Array<{ groupId: string, name: string }>
}

/** Per-request reader: caches per-space verdicts (memberships are read live, so writes show at once). */
export class Reader {
  private readonly spaceVerdicts = new Map<number, boolean>()

  constructor (private readonly site: SiteData, readonly userIndex: number) {}

  listed (p: Principals | undefined): boolean {
    if (!p) return true
    return p.users.includes(this.userIndex) || p.groups.some((g) => this.site.groups[g].members.has(this.userIndex))
  }

  canReadSpace (s: number): boolean {
    let verdict = this.spaceVerdicts.get(s)
    if (verdict === undefined) {
      const space = this.site.spaces[s]
      verdict = this.listed(space.read) || space.accessClasses.some((k) => this.inClass(k))
      this.spaceVerdicts.set(s, verdict)
    }
    return verdict
  }

  /** anonymous-users: everyone; all-licensed-users: every human account (app accounts hold no licence) */
  inClass (accessClass: string): boolean {
    if (accessClass === 'anonymous-users') return true
    return accessClass === 'all-licensed-users' && this.site.users[this.userIndex]?.accountType === 'atlassian'
  }

  canRead (c: number): boolean {
    const site = this.site
    if (!this.canReadSpace(site.space[c])) return false
    const own = site.kind(c) === 'attachment' ? site.parent[c] : c
    if (site.folders.count > 0) return this.chainListed(own)
    for (let r = site.nearestReadRestricted[own]; r !== -1; r = parentRestricted(site, r)) {
      if (r !== own && GONE.has(site.status[r])) continue
      if (!this.listed(site.restrictions.get(r)?.read)) return false
    }
    return true
  }

  canReadFolder (f: number): boolean {
    return this.canReadSpace(this.site.folders.list[f].space) && this.chainListed(folderRef(f))
  }

  /** The restriction of `own` and of every page and folder above it that is not trashed or a draft. */
  private chainListed (own: number): boolean {
    const site = this.site
    for (let r = own; r !== -1; r = site.parentRef(r)) {
      if (r !== own && GONE.has(site.refStatus(r))) continue
      if (!this.listed(site.restrictionOf(r)?.read)) return false
    }
    return true
  }
}

function parentRestricted (site: SiteData, r: number): number {
  const p = site.parent[r]
  return site.kind(r) === 'page' && p !== -1 ? site.nearestReadRestricted[p] : -1
}

/** Ground truth for crawl tests: the principals of the closest read restriction (a page's or a folder's), else the space's. */
export function effectiveReadAccess (site: SiteData, c: number): ReadAccess {
  const own = site.kind(c) === 'attachment' ? site.parent[c] : c
  let restricted = -1
  for (let r = own; r !== -1 && restricted === -1; r = site.parentRef(r)) if (site.restrictionOf(r)?.read !== undefined) restricted = r
  const space = site.spaces[site.space[c]]
  const principals = restricted === -1 ? space.read : site.restrictionOf(restricted)?.read as Principals
  return {
    source: restricted === -1 ? 'space' : restricted === c ? 'content' : 'ancestor',
    sourceId: restricted === -1 ? space.id : site.refId(restricted),
    users: principals.users.map((u) => site.users[u].accountId),
    groups: principals.groups.map((g) => ({ groupId: site.groups[g].id, name: site.groups[g].name }))
  }
}
