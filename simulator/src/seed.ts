// Seeded, deterministic data: one user directory (the organisation) shared by one or more sites, each
// site with its groups, spaces, page trees, blog posts, attachments and restrictions. Content lives in
// typed arrays indexed by a content index (pages, then blog posts, then attachments); titles, bodies and
// labels are recomputed from (seed, index) on demand, so 100,000 pages cost a few megabytes.
import { hash32, Rng } from './random'
import type { Comments } from './comments'
import { Folders, folderOfRef, folderRef, isFolderRef } from './folders'
import { ADJECTIVES, BODY_WORDS, FIRST_NAMES, LABELS, LAST_NAMES, NOUNS, SPACE_THEMES, TIME_ZONES } from './words'

export interface SizeSpec {
  pages: number
  spaces: number
  blogposts: number
  attachments: number
  users: number
  groups: number
  /** footer comments (default: none, except in the `nested` profile: a quarter of the pages) */
  comments?: number
  /** inline comments (default: none, except in the `nested` profile: a fifth of the pages) */
  inlineComments?: number
  /** footer comments on attachments (default: none, except in the `nested` profile: three fifths of the attachments) */
  attachmentComments?: number
}
export type SizeOption = number | Partial<SizeSpec>

export interface User {
  index: number
  accountId: string
  accountType: 'atlassian' | 'app'
  displayName: string
  /** the real address (ground truth); null for app accounts */
  email: string | null
  /** whether the profile shows the email to apps (privacy setting) */
  emailVisible: boolean
  /** managed by the organisation: listed, with email, by the Organizations API */
  managed: boolean
  timeZone: string
}

export interface Group { index: number, id: string, name: string, members: Set<number> }
export interface Principals { users: number[], groups: number[] }
export interface Restriction { read?: Principals, update?: Principals }
/** Access classes a space may grant read to (v2 role assignments with principal type ACCESS_CLASS). */
export type AccessClass = 'anonymous-users' | 'all-licensed-users'
export interface SpacePermission { id: string, principalType: 'user' | 'group', principal: number, key: 'read' | 'create' | 'administer', targetType: 'space' | 'page' | 'blogpost' }

export interface Space {
  index: number
  id: string
  key: string
  name: string
  status: 'current' | 'archived'
  createdAt: number
  pageStart: number
  pageEnd: number
  blogStart: number
  blogEnd: number
  read: Principals
  /** read granted to a whole class of accounts, besides `read` */
  accessClasses: AccessClass[]
  permissions: SpacePermission[]
}

export type ContentKind = 'page' | 'blogpost' | 'attachment'
export const STATUSES = ['current', 'archived', 'trashed', 'deleted', 'draft'] as const
export type ContentStatus = typeof STATUSES[number]

export const ADMIN_ACCOUNT_ID = '712020:5f1e0000-ad00-4c1d-9a00-000000000000'
export const SERVICE_ACCOUNT_ID = '712020:5f1e0001-5e4b-4c1d-9a00-000000000001'
export const SITE_ADMINS_GROUP = 'site-admins'
export const ALL_USERS_GROUP = 'confluence-users'
const EPOCH_2023 = 1672531200
const SEED_SPAN_SECONDS = 2.4 * 365 * 86400

export function sizeSpec (size: SizeOption = 100): SizeSpec {
  const given = typeof size === 'number' ? { pages: size } : size
  const pages = Math.max(1, given.pages ?? 100)
  const spaces = Math.min(pages, given.spaces ?? clamp(Math.ceil(pages / 1000), 3, 500))
  const users = Math.max(4, given.users ?? clamp(Math.ceil(pages / 20), 12, 5000))
  return {
    pages,
    spaces,
    blogposts: given.blogposts ?? Math.ceil(pages / 10),
    attachments: given.attachments ?? Math.ceil(pages / 5),
    users,
    groups: Math.max(0, given.groups ?? clamp(Math.ceil(users / 10), 4, 300)),
    ...(given.comments !== undefined ? { comments: given.comments } : {}),
    ...(given.inlineComments !== undefined ? { inlineComments: given.inlineComments } : {}),
    ...(given.attachmentComments !== undefined ? { attachmentComments: given.attachmentComments } : {})
  }
}

/** The organisation's accounts, identical on every site. Account ids depend on the index only. */
export function buildDirectory (seed: number, count: number): User[] {
  const rng = new Rng(hash32(seed, 1))
  const users: User[] = [
    { index: 0, accountId: ADMIN_ACCOUNT_ID, accountType: 'atlassian', displayName: 'Sandbox Admin', email: 'admin@acme.example', emailVisible: true, managed: true, timeZone: 'Europe/Paris' },
    { index: 1, accountId: SERVICE_ACCOUNT_ID, accountType: 'app', displayName: 'Spoke Service Account', email: null, emailVisible: false, managed: false, timeZone: 'Etc/UTC' }
  ]
  for (let i = 2; i < count; i++) {
    const first = rng.pick(FIRST_NAMES)
    const last = rng.pick(LAST_NAMES)
    const managed = rng.chance(0.6)
    const domain = managed ? 'acme.example' : 'partner.example'
    users.push({
      index: i,
      accountId: `712020:${uuid(0xacc, i)}`,
      accountType: 'atlassian',
      displayName: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}${i}@${domain}`,
      emailVisible: rng.chance(0.7),
      managed,
      timeZone: rng.pick(TIME_ZONES)
    })
  }
  return users
}

export class SiteData {
  readonly url: string
  readonly base: string
  readonly name: string
  readonly groups: Group[] = []
  readonly groupById = new Map<string, Group>()
  readonly spaces: Space[] = []
  readonly spaceById = new Map<string, Space>()
  readonly spaceByKey = new Map<string, Space>()
  readonly pageCount: number
  readonly blogCount: number
  readonly attachmentCount: number
  readonly total: number
  /** content ids are idBase + content index */
  readonly idBase: number
  /** per content: space index (attachments: the container's space) */
  readonly space: Uint32Array
  /** pages: parent page index or -1; attachments: container content index; blog posts: -1 */
  readonly parent: Int32Array
  readonly created: Uint32Array
  readonly modified: Uint32Array
  readonly version: Uint32Array
  readonly status: Uint8Array
  readonly author: Uint32Array
  /** pages and blog posts: closest content (self or page ancestor) with a read restriction, or -1; the walk stops at a folder (the Reader walks folders itself) */
  readonly nearestReadRestricted: Int32Array
  readonly restrictions = new Map<number, Restriction>()
  /** children of page i: childList[childStart[i] .. childStart[i + 1]) (rebuilt after a move) */
  childStart: Int32Array
  childList: Int32Array
  /** attachments of content c (page or blog post): attachmentList[attachmentStart[c] .. attachmentStart[c + 1]) */
  readonly attachmentStart: Int32Array
  readonly attachmentList: Int32Array
  /** bumped by every mutation (memberships, content edits), so caches of search results stay correct */
  revision = 0
  /** the site's default time zone (CQL dates are read in it; systemInfo reports it) */
  timeZone = 'Etc/UTC'
  /** footer comments (set by SimState once the site is seeded) */
  comments!: Comments
  /** inline comments (set by SimState once the site is seeded) */
  inlineComments!: Comments
  /** footer comments on attachments (set by SimState once the site is seeded) */
  attachmentComments!: Comments
  /** folders (none unless a profile seeds them) */
  readonly folders: Folders

  constructor (readonly number: number, readonly cloudId: string, readonly seed: number, readonly users: User[], size: SizeSpec) {
    this.name = `site-${number}`
    this.url = `https://site-${number}.atlassian.net`
    this.base = `${this.url}/wiki`
    this.idBase = number * 10_000_000 + 65_536
    this.pageCount = size.pages
    this.blogCount = size.blogposts
    this.attachmentCount = size.attachments
    const n = this.total = size.pages + size.blogposts + size.attachments
    this.space = new Uint32Array(n)
    this.parent = new Int32Array(n).fill(-1)
    this.created = new Uint32Array(n)
    this.modified = new Uint32Array(n)
    this.version = new Uint32Array(n)
    this.status = new Uint8Array(n)
    this.author = new Uint32Array(n)
    this.nearestReadRestricted = new Int32Array(size.pages + size.blogposts).fill(-1)
    this.folders = new Folders(seed, this.idBase, size.pages)
    const rng = new Rng(seed)
    this.seedGroups(rng, size.groups)
    this.seedSpaces(rng, size.spaces)
    this.seedPages(rng)
    this.seedBlogPosts(rng)
    this.seedAttachments(rng)
    ;[this.childStart, this.childList] = invert(this.parent, 0, this.pageCount, this.pageCount)
    ;[this.attachmentStart, this.attachmentList] = invert(this.parent, this.pageCount + this.blogCount, n, this.pageCount + this.blogCount)
  }

  kind (c: number): ContentKind {
    return c < this.pageCount ? 'page' : c < this.pageCount + this.blogCount ? 'blogpost' : 'attachment'
  }

  contentId (c: number): string { return String(this.idBase + c) }

  /** Content index of an id (`att` prefix allowed for attachments), or -1. */
  contentIndex (id: string | number, kind?: ContentKind): number {
    const text = String(id)
    const c = Number(text.startsWith('att') ? text.slice(3) : text) - this.idBase
    if (!Number.isInteger(c) || c < 0 || c >= this.total) return -1
    return kind && this.kind(c) !== kind ? -1 : c
  }

  statusOf (c: number): ContentStatus { return STATUSES[this.status[c]] }

  title (c: number): string {
    const kind = this.kind(c)
    if (kind === 'page' && c === this.spaces[this.space[c]].pageStart) return `${this.spaces[this.space[c]].name} Home`
    const h = hash32(this.seed, c, 7)
    if (kind === 'attachment') {
      const ext = ATTACHMENT_TYPES[h % ATTACHMENT_TYPES.length]
      return `${BODY_WORDS[(h >>> 8) % BODY_WORDS.length]}-${c}.${ext.ext}`
    }
    return `${ADJECTIVES[h % ADJECTIVES.length]} ${NOUNS[(h >>> 8) % NOUNS.length]} ${c + 1}`
  }

  /** The words of the body, for rendering and for `text ~` search. */
  bodyWords (c: number): string[] {
    const words: string[] = []
    for (let k = 0; k < 24; k++) words.push(BODY_WORDS[hash32(this.seed, c, 100 + k) % BODY_WORDS.length])
    return words
  }

  labels (c: number): string[] {
    const h = hash32(this.seed, c, 11)
    const count = h % 5 < 2 ? h % 5 : 0
    const labels: string[] = []
    for (let k = 0; k < count; k++) labels.push(LABELS[hash32(this.seed, c, 12 + k) % LABELS.length])
    return [...new Set(labels)]
  }

  attachmentInfo (c: number): { mediaType: string, fileSize: number, fileId: string } {
    const h = hash32(this.seed, c, 7)
    return { mediaType: ATTACHMENT_TYPES[h % ATTACHMENT_TYPES.length].mediaType, fileSize: 1024 + hash32(this.seed, c, 13) % 5_000_000, fileId: uuid(this.seed, c) }
  }

  /** Page ancestors of a page, closest first (folders in between are passed through). */
  ancestors (c: number): number[] {
    return this.ancestorRefs(c).filter((r) => !isFolderRef(r))
  }

  /** What a page or folder sits in (see folders.ts for refs): a page, a folder, or -1. Blog posts sit in nothing. */
  parentRef (ref: number): number {
    if (isFolderRef(ref)) return this.folders.parentRef(folderOfRef(ref))
    if (this.kind(ref) !== 'page') return -1
    const f = this.folders.pageFolder[ref]
    return f !== -1 ? folderRef(f) : this.parent[ref]
  }

  /** Pages and folders above a page or folder, closest first. */
  ancestorRefs (ref: number): number[] {
    const chain: number[] = []
    for (let r = this.parentRef(ref); r !== -1; r = this.parentRef(r)) chain.push(r)
    return chain
  }

  refId (ref: number): string { return isFolderRef(ref) ? this.folders.list[folderOfRef(ref)].id : this.contentId(ref) }
  refType (ref: number): 'page' | 'folder' | 'blogpost' | 'attachment' { return isFolderRef(ref) ? 'folder' : this.kind(ref) }
  refStatus (ref: number): number { return isFolderRef(ref) ? this.folders.list[folderOfRef(ref)].status : this.status[ref] }
  restrictionOf (ref: number): Restriction | undefined { return isFolderRef(ref) ? this.folders.list[folderOfRef(ref)].restriction : this.restrictions.get(ref) }

  userByAccountId (accountId: string): User | undefined { return this.directoryIndex().get(accountId) }

  /** Test mutation: a new version, modified now. */
  touch (c: number, nowSeconds = Math.floor(Date.now() / 1000)): void {
    this.version[c] += 1
    this.modified[c] = nowSeconds
    this.revision++
  }

  /** After a move: the children lists again (page children only; folders list theirs on demand). */
  rebuildChildren (): void {
    ;[this.childStart, this.childList] = invert(this.parent, 0, this.pageCount, this.pageCount)
  }

  /** After a restriction change or a move: every page's and blog post's closest read-restricted content. */
  recomputeReadChains (): void {
    const n = this.pageCount + this.blogCount
    const done = new Uint8Array(n)
    const resolve = (c: number): number => {
      const path: number[] = []
      let k = c
      while (k !== -1 && done[k] === 0) { path.push(k); k = this.kind(k) === 'page' ? this.parent[k] : -1 }
      let nearest = k === -1 ? -1 : this.nearestReadRestricted[k]
      for (let i = path.length - 1; i >= 0; i--) {
        const p = path[i]
        if (this.restrictions.get(p)?.read !== undefined) nearest = p
        this.nearestReadRestricted[p] = nearest
        done[p] = 1
      }
      return this.nearestReadRestricted[c]
    }
    for (let c = 0; c < n; c++) if (done[c] === 0) resolve(c)
  }

  private directoryCache?: Map<string, User>
  private directoryIndex (): Map<string, User> {
    return this.directoryCache ?? (this.directoryCache = new Map(this.users.map((u) => [u.accountId, u])))
  }

  private seedGroups (rng: Rng, teamCount: number): void {
    const regular = this.users.filter((u) => u.accountType === 'atlassian').map((u) => u.index)
    this.addGroup(SITE_ADMINS_GROUP, [0, 1])
    this.addGroup(ALL_USERS_GROUP, regular)
    for (let g = 0; g < teamCount; g++) {
      const theme = SPACE_THEMES[g % SPACE_THEMES.length].toLowerCase()
      const members = rng.sample(this.users.length - 2, 3 + rng.int(Math.min(28, this.users.length))).map((i) => i + 2)
      this.addGroup(`team-${theme}-${g + 1}`, members)
    }
  }

  private addGroup (name: string, members: number[]): void {
    const group: Group = { index: this.groups.length, id: uuid(this.number * 7919, this.groups.length), name, members: new Set(members) }
    this.groups.push(group)
    this.groupById.set(group.id, group)
  }

  private seedSpaces (rng: Rng, count: number): void {
    const weights = Array.from({ length: count }, () => 0.5 + rng.next())
    const sum = weights.reduce((a, b) => a + b, 0)
    const pageSplit = split(this.pageCount, weights, sum)
    const blogSplit = split(this.blogCount, weights, sum)
    const teams = this.groups.slice(2).map((g) => g.index)
    let page = 0
    let blog = this.pageCount
    for (let s = 0; s < count; s++) {
      const theme = SPACE_THEMES[hash32(this.seed, s, 3) % SPACE_THEMES.length]
      const isPrivate = teams.length > 0 && rng.chance(0.25)
      const read: Principals = isPrivate
        ? { groups: [0, ...rng.sample(teams.length, 1 + rng.int(2)).map((t) => teams[t])], users: rng.sample(this.users.length - 2, 1 + rng.int(3)).map((i) => i + 2) }
        : { groups: [0, 1], users: [] }
      const space: Space = {
        index: s,
        id: String(this.number * 1_000_000 + 32_768 + s),
        key: `${theme.slice(0, 3).toUpperCase()}${s + 1}`,
        name: `${theme} ${s + 1}`,
        status: rng.chance(0.05) ? 'archived' : 'current',
        createdAt: EPOCH_2023 + rng.int(86400 * 60),
        pageStart: page,
        pageEnd: (page += Math.max(1, pageSplit[s])),
        blogStart: blog,
        blogEnd: (blog += blogSplit[s]),
        read,
        accessClasses: [],
        permissions: []
      }
      if (space.pageEnd > this.pageCount) space.pageEnd = page = this.pageCount
      space.permissions = spacePermissions(space, teams.length > 0 ? teams[rng.int(teams.length)] : 1)
      this.spaces.push(space)
      this.spaceById.set(space.id, space)
      this.spaceByKey.set(space.key, space)
    }
    this.spaces[count - 1].pageEnd = this.pageCount
    this.spaces[count - 1].blogEnd = this.pageCount + this.blogCount
  }

  private seedPages (rng: Rng): void {
    for (const space of this.spaces) {
      for (let c = space.pageStart; c < space.pageEnd; c++) {
        this.seedCommon(rng, c, space)
        if (c === space.pageStart) continue
        this.parent[c] = rng.chance(0.03) ? -1 : space.pageStart + rng.int(c - space.pageStart)
        const r = rng.next()
        this.status[c] = r < 0.02 ? 1 : r < 0.03 ? 2 : 0
        const inherited = this.parent[c] === -1 ? -1 : this.nearestReadRestricted[this.parent[c]]
        this.nearestReadRestricted[c] = inherited
        // read restrictions never nest, so "closest restriction, else space" is the exact read access
        if (inherited === -1 && rng.chance(0.05)) this.restrict(rng, c, space)
      }
    }
  }

  private seedBlogPosts (rng: Rng): void {
    for (const space of this.spaces) {
      for (let c = space.blogStart; c < space.blogEnd; c++) {
        this.seedCommon(rng, c, space)
        this.status[c] = rng.chance(0.01) ? 2 : 0
        if (rng.chance(0.05)) this.restrict(rng, c, space)
      }
    }
  }

  private seedAttachments (rng: Rng): void {
    const containers = this.pageCount + this.blogCount
    for (let c = containers; c < this.total; c++) {
      const container = rng.chance(0.8) || this.blogCount === 0 ? rng.int(this.pageCount) : this.pageCount + rng.int(this.blogCount)
      this.parent[c] = container
      this.seedCommon(rng, c, this.spaces[this.space[container]])
      if (this.created[c] < this.created[container]) this.created[c] = this.modified[c] = this.created[container]
    }
  }

  private seedCommon (rng: Rng, c: number, space: Space): void {
    this.space[c] = space.index
    this.created[c] = space.createdAt + rng.int(SEED_SPAN_SECONDS)
    this.modified[c] = rng.chance(0.5) ? this.created[c] : this.created[c] + rng.int(200 * 86400)
    this.version[c] = 1 + rng.int(6)
    this.author[c] = rng.chance(0.2) ? 0 : 2 + rng.int(this.users.length - 2)
  }

  /** Restricts c to principals that can read its space (so the restriction, not the space, decides). */
  private restrict (rng: Rng, c: number, space: Space): void {
    const readers = space.read.groups.includes(1)
      ? { groups: this.groups.slice(2).map((g) => g.index), users: this.users.slice(2).filter((u) => u.accountType === 'atlassian').map((u) => u.index) }
      : { groups: space.read.groups.filter((g) => g !== 0), users: [...space.read.users] }
    const principals: Principals = {
      groups: [0, ...rng.sample(readers.groups.length, rng.int(2)).map((i) => readers.groups[i])],
      users: rng.sample(readers.users.length, 1 + rng.int(2)).map((i) => readers.users[i])
    }
    if (rng.chance(0.2)) { this.restrictions.set(c, { update: principals }); return }
    this.restrictions.set(c, { read: principals, update: principals })
    this.nearestReadRestricted[c] = c
  }
}

const ATTACHMENT_TYPES = [
  { ext: 'pdf', mediaType: 'application/pdf' },
  { ext: 'png', mediaType: 'image/png' },
  { ext: 'docx', mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' },
  { ext: 'txt', mediaType: 'text/plain' }
] as const

function spacePermissions (space: Space, creatorGroup: number): SpacePermission[] {
  let n = 0
  const id = (): string => String(Number(space.id) * 100 + n++)
  const perms: SpacePermission[] = []
  for (const g of space.read.groups) perms.push({ id: id(), principalType: 'group', principal: g, key: 'read', targetType: 'space' })
  for (const u of space.read.users) perms.push({ id: id(), principalType: 'user', principal: u, key: 'read', targetType: 'space' })
  perms.push({ id: id(), principalType: 'group', principal: 0, key: 'administer', targetType: 'space' })
  if (space.read.groups.includes(creatorGroup) || space.read.groups.includes(1)) {
    perms.push({ id: id(), principalType: 'group', principal: creatorGroup, key: 'create', targetType: 'page' })
    perms.push({ id: id(), principalType: 'group', principal: creatorGroup, key: 'create', targetType: 'blogpost' })
  }
  return perms
}

/** Children lists (CSR) from a parent array, for indices [from, to) whose parents are in [0, parents). */
function invert (parent: Int32Array, from: number, to: number, parents: number): [Int32Array, Int32Array] {
  const start = new Int32Array(parents + 1)
  for (let c = from; c < to; c++) if (parent[c] !== -1) start[parent[c] + 1]++
  for (let i = 0; i < parents; i++) start[i + 1] += start[i]
  const fill = start.slice(0, parents)
  const list = new Int32Array(start[parents])
  for (let c = from; c < to; c++) if (parent[c] !== -1) list[fill[parent[c]]++] = c
  return [start, list]
}

function split (total: number, weights: number[], sum: number): number[] {
  const parts = weights.map((w) => Math.floor(total * w / sum))
  parts[parts.length - 1] += total - parts.reduce((a, b) => a + b, 0)
  return parts
}

function clamp (n: number, min: number, max: number): number { return Math.min(max, Math.max(min, n)) }

/** A UUID-shaped string derived from two integers. */
export function uuid (a: number, b: number): string {
  const hex = (salt: number, len: number): string => hash32(a, b, salt).toString(16).padStart(8, '0').slice(0, len)
  return `${hex(1, 8)}-${hex(2, 4)}-4${hex(3, 3)}-a${hex(4, 3)}-${hex(5, 8)}${hex(6, 4)}`
}

