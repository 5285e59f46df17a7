// Read access to the seeded data for tests: what exists, who can read what, who is in which group, plus
// the few mutations tests need to set up a scenario (edit content, change memberships).
import type { Comments } from './comments'
import { applyMutation, type Mutation } from './mutations'
import { effectiveReadAccess, Reader, type ReadAccess } from './permissions'
import type { ContentKind, SiteData } from './seed'
import { DEFAULT_CLOUD_ID, type SimState } from './state'

export interface ContentSummary {
  id: string
  kind: ContentKind | 'comment' | 'folder'
  spaceId: string
  spaceKey: string
  title: string
  status: string
  /** parent page or folder (pages, folders), container (attachments, comments) */
  parentId: string | null
  /** comments: footer or inline */
  commentType?: 'footer' | 'inline'
  /** comments on an attachment (parentId is the attachment; its page or blog post is the attachment's parentId) */
  containerType?: 'attachment'
  /** replies (footer or inline, any depth): the comment answered */
  parentCommentId?: string
  version: number
  createdAt: string
  modifiedAt: string
}

export class GroundTruth {
  constructor (private readonly state: SimState) {}

  site (cloudId = DEFAULT_CLOUD_ID): SiteData {
    const site = this.state.sites.get(cloudId)
    if (!site) throw new Error(`unknown cloudId ${cloudId}`)
    return site
  }

  users (): Array<{ accountId: string, displayName: string, accountType: string, email: string | null, emailVisible: boolean, managed: boolean }> {
    return this.state.users.map(({ accountId, displayName, accountType, email, emailVisible, managed }) => ({ accountId, displayName, accountType, email, emailVisible, managed }))
  }

  spaces (cloudId?: string): Array<{ id: string, key: string, name: string, status: string, homepageId: string | null, accessClasses: string[] }> {
    const site = this.site(cloudId)
    return site.spaces.map((s) => ({ id: s.id, key: s.key, name: s.name, status: s.status, homepageId: s.pageEnd > s.pageStart ? site.contentId(s.pageStart) : null, accessClasses: [...s.accessClasses] }))
  }

  /** Changes the site as a person would between crawl runs (see mutations.ts); the ground truth follows. */
  mutate (mutation: Mutation, cloudId?: string): ContentSummary {
    const site = this.site(cloudId)
    applyMutation(site, (a) => this.state.userByAccountId(a), mutation)
    const f = site.folders.index(mutation.id)
    if (f !== -1) return this.folderSummary(site, f)
    for (const comments of [site.comments, site.inlineComments, site.attachmentComments]) {
      const k = comments.index(mutation.id)
      if (k !== -1) return this.commentSummary(site, comments, k)
    }
    return this.summary(site, site.contentIndex(mutation.id))
  }

  /** Every folder (parentId = the page or folder it sits in, null at a space's root), in id order. */
  * folders (cloudId?: string): Generator<ContentSummary> {
    const site = this.site(cloudId)
    for (let f = 0; f < site.folders.count; f++) yield this.folderSummary(site, f)
  }

  groups (cloudId?: string): Array<{ id: string, name: string, members: string[] }> {
    const site = this.site(cloudId)
    return site.groups.map((g) => ({ id: g.id, name: g.name, members: this.accountIds(site, g.members) }))
  }

  /** Every content item of a kind (all kinds by default), lazily, in id order. */
  * content (kind?: ContentKind, cloudId?: string): Generator<ContentSummary> {
    const site = this.site(cloudId)
    for (let c = 0; c < site.total; c++) if (!kind || site.kind(c) === kind) yield this.summary(site, c)
  }

  /**
   * Every footer comment, then every inline comment (parentId = its page or blog post), then every comment on
   * an attachment (parentId = the attachment, containerType `attachment`), lazily, in id order.
   */
  * comments (cloudId?: string): Generator<ContentSummary> {
    const site = this.site(cloudId)
    yield * this.commentsOf(site, site.comments)
    yield * this.commentsOf(site, site.inlineComments)
    yield * this.commentsOf(site, site.attachmentComments)
  }

  private * commentsOf (site: SiteData, comments: Comments): Generator<ContentSummary> {
    for (let k = 0; k < comments.count; k++) yield this.commentSummary(site, comments, k)
  }

  private commentSummary (site: SiteData, comments: Comments, k: number): ContentSummary {
    const c = comments.container[k]
    const space = site.spaces[site.space[c]]
    return {
      id: comments.id(k),
      kind: 'comment',
      spaceId: space.id,
      spaceKey: space.key,
      title: `Re: ${site.title(c)}`,
      status: comments.statusOf(k),
      parentId: site.contentId(c),
      version: comments.version[k],
      createdAt: new Date(comments.created[k] * 1000).toISOString(),
      modifiedAt: new Date(comments.modified[k] * 1000).toISOString(),
      commentType: comments.inline ? 'inline' : 'footer',
      ...(comments.onAttachments ? { containerType: 'attachment' as const } : {}),
      ...(comments.parentComment[k] !== -1 ? { parentCommentId: comments.id(comments.parentComment[k]) } : {})
    }
  }

  contentById (contentId: string, cloudId?: string): ContentSummary | undefined {
    const site = this.site(cloudId)
    const f = site.folders.index(contentId)
    if (f !== -1) return this.folderSummary(site, f)
    const c = site.contentIndex(contentId)
    return c === -1 ? undefined : this.summary(site, c)
  }

  /** Ids of the content carrying its own read or update restriction. */
  restrictedContentIds (cloudId?: string): string[] {
    const site = this.site(cloudId)
    return [...site.restrictions.keys()].sort((a, b) => a - b).map((c) => site.contentId(c))
  }

  /** The principals whose members can read the content: its restriction, the closest restricted ancestor's, or the space's. */
  effectiveReadAccess (contentId: string, cloudId?: string): ReadAccess | undefined {
    const site = this.site(cloudId)
    const c = site.contentIndex(contentId)
    return c === -1 ? undefined : effectiveReadAccess(site, c)
  }

  canRead (accountId: string, contentId: string, cloudId?: string): boolean {
    const site = this.site(cloudId)
    const user = this.state.userByAccountId(accountId)
    if (user === undefined) return false
    const f = site.folders.index(contentId)
    if (f !== -1) return new Reader(site, user.index).canReadFolder(f)
    // a comment is readable by whoever may read its container (an attachment's: its page's or blog post's)
    const comments = [site.comments, site.inlineComments, site.attachmentComments].find((all) => all.index(contentId) !== -1)
    const c = comments !== undefined ? comments.container[comments.index(contentId)] : site.contentIndex(contentId)
    return c !== -1 && new Reader(site, user.index).canRead(c)
  }

  groupMembers (groupId: string, cloudId?: string): string[] | undefined {
    const site = this.site(cloudId)
    const group = site.groupById.get(groupId)
    return group && this.accountIds(site, group.members)
  }

  userGroups (accountId: string, cloudId?: string): Array<{ id: string, name: string }> {
    const user = this.state.userByAccountId(accountId)
    return user ? this.site(cloudId).groups.filter((g) => g.members.has(user.index)).map((g) => ({ id: g.id, name: g.name })) : []
  }

  setGroupMembership (groupId: string, accountId: string, member: boolean, cloudId?: string): void {
    const site = this.site(cloudId)
    const group = site.groupById.get(groupId)
    const user = this.state.userByAccountId(accountId)
    if (!group || !user) throw new Error(`unknown group ${groupId} or account ${accountId}`)
    if (member) group.members.add(user.index); else group.members.delete(user.index)
    site.revision++
  }

  /** Archives a space (or brings it back): the v2 space listing with `status=current` no longer shows it. */
  setSpaceStatus (spaceId: string, status: 'current' | 'archived', cloudId?: string): void {
    const site = this.site(cloudId)
    const space = site.spaceById.get(spaceId)
    if (!space) throw new Error(`unknown space ${spaceId}`)
    space.status = status
    site.revision++
  }

  /** Grants read on a space to one account directly (a user permission, not through a group). */
  grantSpaceRead (spaceId: string, accountId: string, cloudId?: string): void {
    const site = this.site(cloudId)
    const space = site.spaceById.get(spaceId)
    const user = this.state.userByAccountId(accountId)
    if (!space || !user) throw new Error(`unknown space ${spaceId} or account ${accountId}`)
    if (space.read.users.includes(user.index)) return
    space.read = { users: [...space.read.users, user.index], groups: space.read.groups }
    space.permissions = [...space.permissions, { id: String(Number(space.id) * 100 + 90 + space.permissions.length), principalType: 'user', principal: user.index, key: 'read', targetType: 'space' }]
    site.revision++
  }

  /**
   * Takes read on a space away from an account, as an admin would: the account and every group it is in lose
   * their space grants (read and the rest), and so do the access classes that include it. The space leaves the
   * account's view (listings, reads), and the ground truth follows for everyone those grants covered.
   */
  revokeSpaceAccess (spaceId: string, accountId: string, cloudId?: string): void {
    const site = this.site(cloudId)
    const space = site.spaceById.get(spaceId)
    const user = this.state.userByAccountId(accountId)
    if (!space || !user) throw new Error(`unknown space ${spaceId} or account ${accountId}`)
    const groups = new Set(site.groups.filter((g) => g.members.has(user.index)).map((g) => g.index))
    space.read = { users: space.read.users.filter((u) => u !== user.index), groups: space.read.groups.filter((g) => !groups.has(g)) }
    space.permissions = space.permissions.filter((p) => p.principalType === 'user' ? p.principal !== user.index : !groups.has(p.principal))
    space.accessClasses = space.accessClasses.filter((k) => k !== 'anonymous-users' && !(k === 'all-licensed-users' && user.accountType === 'atlassian'))
    site.revision++
  }

  /** A new version of the content, modified now (for incremental-crawl tests). */
  touchContent (contentId: string, cloudId?: string): ContentSummary {
    const site = this.site(cloudId)
    const c = site.contentIndex(contentId)
    if (c === -1) throw new Error(`unknown content ${contentId}`)
    site.touch(c)
    return this.summary(site, c)
  }

  private summary (site: SiteData, c: number): ContentSummary {
    const space = site.spaces[site.space[c]]
    return {
      id: site.contentId(c),
      kind: site.kind(c),
      spaceId: space.id,
      spaceKey: space.key,
      title: site.title(c),
      status: site.statusOf(c),
      parentId: site.kind(c) === 'attachment' ? site.contentId(site.parent[c]) : site.parentRef(c) === -1 ? null : site.refId(site.parentRef(c)),
      version: site.version[c],
      createdAt: new Date(site.created[c] * 1000).toISOString(),
      modifiedAt: new Date(site.modified[c] * 1000).toISOString()
    }
  }

  private folderSummary (site: SiteData, f: number): ContentSummary {
    const folder = site.folders.list[f]
    const space = site.spaces[folder.space]
    const parent = site.folders.parentRef(f)
    const at = new Date(folder.created * 1000).toISOString()
    return { id: folder.id, kind: 'folder', spaceId: space.id, spaceKey: space.key, title: site.folders.title(f), status: site.folders.statusOf(f), parentId: parent === -1 ? null : site.refId(parent), version: folder.version, createdAt: at, modifiedAt: at }
  }

  private accountIds (site: SiteData, members: Set<number>): string[] {
    return [...members].sort((a, b) => a - b).map((i) => site.users[i].accountId)
  }
}
