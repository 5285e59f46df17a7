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
  permissions: boolean
  principals: boolean
  /** with `attachment` and `comment`: also each attachment's footer comments (default true) */
  attachmentComments?: boolean
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
  parentId?: string
  /** what parentId is: `page` or `folder` (v2 parentType) */
  parentType?: string
  ancestorIds: string[]
  version: number
  updatedAt: string
  body?: { format: 'storage', value: string }
  acl?: Acl
}
/**
 * A footer or inline comment: `parentId` is its container (`containerType`: a page, a blog post or an
 * attachment), `ancestorIds` that container then its ancestors (an attachment's: its page or blog post, then
 * that page's ancestors); a reply names the comment it answers, an inline comment its resolution status.
 */
export type CommentRecord = Omit<ContentRecord, 'kind' | 'parentType'> & {
  kind: 'comment'
  commentType: 'footer' | 'inline'
  containerType: 'page' | 'blogpost' | 'attachment'
  parentCommentId?: string
  resolutionStatus?: string
}
export type AttachmentRecord = Base & {
  kind: 'attachment', id: string, containerId: string, title: string, mediaType: string, fileSize: number, downloadUrl: string, version: number, updatedAt: string, acl?: Acl
}
export type DeletedRecord = Base & { kind: 'deleted', id: string, contentKind: string }
export type UserRecord = Base & { kind: 'user', accountId: string, displayName: string, accountType: string, active: boolean, email: string | null, emailSource: 'org' | 'profile' | null }
export type GroupRecord = Base & { kind: 'group', groupId: string, name: string, members: string[] }
export type CrawlRecord = SpaceRecord | ContentRecord | CommentRecord | AttachmentRecord | DeletedRecord | UserRecord | GroupRecord

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
}
