// The crawl's input, records and result (docs/crawl.md). Records carry a stable `recordId` (`<kind>:<id>`;
// a deletion reuses the id of what it deletes) so a receiver upserts and de-duplicates by it.
import type { Acl } from './acl'

export type ContentType = 'page' | 'blogpost' | 'attachment' | 'comment'

export interface CrawlInput {
  spaces?: { include?: string[], exclude?: string[] }
  types: ContentType[]
  mode: 'full' | 'incremental'
  since?: string
  bodies: boolean
  /** archived pages: `mark` (default: exported with `status: "archived"`) or `delete` (a complete listing emits them as deleted) */
  archived?: 'mark' | 'delete'
  /** besides storage XHTML: `text` and/or `markdown`, converted by the crawl */
  bodyFormats?: Array<'text' | 'markdown'>
  permissions: boolean
  principals: boolean
  /** with `attachment` and `comment`: also each attachment's footer comments (default true) */
  attachmentComments?: boolean
  /** what a space that left the crawl's view becomes: its records deleted (default) or marked `unavailable` */
  removedSpaces?: 'delete' | 'mark'
  sink: { type: 'file', path: string } | { type: 'webhook', url: string }
}

interface Base { recordId: string }
export type SpaceRecord = Base & { kind: 'space', id: string, key: string, name: string, url: string, acl?: Acl }
export type ContentRecord = Base & {
  kind: 'page' | 'blogpost'
  id: string
  spaceId: string
  spaceKey: string
  title: string
  url: string
  /** pages: the closest page or folder above, `null` at the space's root (blog posts: absent) */
  parentId?: string | null
  /** what parentId is: `page` or `folder` (v2 parentType) */
  parentType?: string
  ancestorIds: string[]
  version: number
  updatedAt: string
  /** label names, sorted; `null` when they could not be read completely (counted LABELS_UNREADABLE) */
  labels?: string[] | null
  /** unless `archived: "delete"`: `current` or `archived` */
  status?: 'current' | 'archived'
  /** who created it and when (v2 authorId, createdAt), when the answer says */
  authorId?: string
  createdAt?: string
  body?: { format: 'storage', value: string }
  /** the body as plain text and as Markdown, with `bodyFormats` */
  text?: string
  markdown?: string
  acl?: Acl
}
/**
 * A footer or inline comment: `parentId` is its container (`containerType`: a page, a blog post or an
 * attachment), `ancestorIds` that container then its ancestors (an attachment's: its page or blog post, then
 * that page's ancestors); a reply names the comment it answers, an inline comment its resolution status.
 */
export type CommentRecord = Omit<ContentRecord, 'kind' | 'parentType' | 'parentId'> & {
  kind: 'comment'
  parentId: string
  commentType: 'footer' | 'inline'
  containerType: 'page' | 'blogpost' | 'attachment'
  parentCommentId?: string
  resolutionStatus?: string
}
export type AttachmentRecord = Base & {
  kind: 'attachment'
  id: string
  /** label names, sorted; `null` when they could not be read completely (counted LABELS_UNREADABLE) */
  labels?: string[] | null
  containerId: string
  /** what containerId is: `page` or `blogpost` */
  containerType: 'page' | 'blogpost'
  spaceId: string
  spaceKey: string
  /** the container, then its ancestors (closest first) */
  ancestorIds: string[]
  title: string
  mediaType: string
  fileSize: number
  /** the attachment's page in Confluence (its preview), and the file itself */
  url: string
  downloadUrl: string
  version: number
  updatedAt: string
  authorId?: string
  createdAt?: string
  acl?: Acl
}
export type DeletedRecord = Base & { kind: 'deleted', id: string, contentKind: string }
/** A record of a space that left the crawl's view, with `removedSpaces: "mark"`: kept, readable by nobody. */
export type UnavailableRecord = Base & { kind: 'unavailable', id: string, contentKind: string, spaceId: string, acl: Acl }
export type UserRecord = Base & { kind: 'user', accountId: string, displayName: string, accountType: string, active: boolean, email: string | null, emailSource: 'org' | 'profile' | null }
export type GroupRecord = Base & { kind: 'group', groupId: string, name: string, members: string[] }
export type CrawlRecord = SpaceRecord | ContentRecord | CommentRecord | AttachmentRecord | DeletedRecord | UnavailableRecord | UserRecord | GroupRecord

export interface CrawlResult {
  complete: boolean
  mode: 'full' | 'incremental'
  counts: Record<string, number>
  deletions: number
  unresolvedUsers: { count: number, accountIds: string[] }
  errors: Record<string, number>
  watermark: string | null
  /** spaces whose listing failed somewhere (no deletions were emitted for them) */
  incompleteSpaces: string[]
  /** each space crawled: listed completely or not, and how many of its items failed */
  spaces: Array<{ id: string, key: string, complete: boolean, failed: number }>
  /** items that failed (the first 1,000): exported readable by nobody or skipped, read again by the next run */
  failed: Array<{ id: string, kind: string, spaceId: string, code: string }>
  /** spaces whose records were deleted (or marked) because the crawl no longer sees them */
  removedSpaces: string[]
  /** the alias no longer reaches the site: every space this scope held records of was removed (present only then) */
  siteLost?: true
}

/**
 * An item a crawl run found readable by another set of people than its scope had stored: a restriction edited
 * on it or an ancestor, a move under a restricted parent (neither bumps a version). `acl` is the new one.
 */
export interface AclChange {
  kind: 'page' | 'blogpost' | 'attachment' | 'comment'
  id: string
  spaceId: string
  spaceKey: string
  title: string
  /** relative to the site's `/wiki` */
  url: string
  version: number
  authorId?: string
  acl: Acl
  /** short digests of the ACL the scope had stored and of the new one (the same change always has the same pair) */
  digests: { before: string, after: string }
}

/** The site a run crawls: its alias and the site's cloudId (other aliases may be bound to the same site). */
export interface CrawlSite { alias: string, cloudId: string }

/**
 * Where a crawl run tells of ACL changes (triggers' `content.permissions.changed`). Handed in by the
 * composition root through the handler services: the crawl imports nothing of the layers above it.
 */
export interface AclChangePort {
  /** Whether anything listens for ACL changes on the site (read once per run). */
  wanted: (site: CrawlSite) => Promise<boolean>
  /** One listing page's changes, before the run records its position: a failure fails the run, which repeats the page. */
  publish: (site: CrawlSite, changes: AclChange[]) => Promise<void>
}
