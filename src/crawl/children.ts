// What hangs off a page or blog post and takes its ACL: attachments, footer comments and inline comments with
// their replies (Confluence has no restriction of its own on any of them; whoever may read the container may
// read them).
import { createHash } from 'node:crypto'
import type { Acl } from './acl'
import { eachPage } from './listing'
import type { PageContext } from './items'
import type { AttachmentRecord, CommentRecord, ContentRecord, CrawlRecord } from './types'

export interface Hashed { record: CrawlRecord, hash: string }

/** What the permissions pass compares: the ACL and the chain it came from (a move changes both). */
export function stateHash (kind: string, acl: Acl, ancestorIds: string[]): string {
  return `${kind}|${createHash('sha1').update(JSON.stringify([acl, ancestorIds])).digest('base64url').slice(0, 16)}`
}

const base = (ctx: PageContext, id: string): string => `/wiki/api/v2/${ctx.kind === 'page' ? 'pages' : 'blogposts'}/${id}`

export async function attachmentsOf (ctx: PageContext, containerId: string, acl: Acl): Promise<Hashed[]> {
  const out: Hashed[] = []
  await eachPage(ctx.call, `${base(ctx, containerId)}/attachments`, { limit: 250, status: 'current' }, ctx.signal, async (results) => {
    for (const a of results as Array<Record<string, any>>) {
      const att: AttachmentRecord = {
        recordId: `attachment:${String(a.id)}`,
        kind: 'attachment',
        id: String(a.id),
        containerId,
        title: String(a.title ?? ''),
        mediaType: String(a.mediaType ?? ''),
        fileSize: Number(a.fileSize ?? 0),
        downloadUrl: `${ctx.siteUrl}/wiki${String(a.downloadLink ?? a._links?.download ?? '')}`,
        version: Number(a.version?.number ?? 0),
        updatedAt: String(a.version?.createdAt ?? ''),
        acl
      }
      out.push({ record: att, hash: stateHash('attachment', acl, [containerId]) })
    }
  })
  return out
}

/**
 * Comments of a page or blog post, current only: footer comments (v2 `…/footer-comments`), then root inline
 * comments (v2 `…/inline-comments`, every resolution status) each followed by its replies
 * (`inline-comments/{id}/children`). parentId is the container; a reply also names its root comment.
 */
export async function commentsOf (ctx: PageContext, container: ContentRecord, acl: Acl): Promise<Hashed[]> {
  const out: Hashed[] = []
  const ancestorIds = [container.id, ...container.ancestorIds]
  const body: Record<string, string> = ctx.bodies ? { 'body-format': 'storage' } : {}
  const toRecord = (c: Record<string, any>, commentType: 'footer' | 'inline'): Hashed => {
    const comment: CommentRecord = {
      recordId: `comment:${String(c.id)}`,
      kind: 'comment',
      commentType,
      id: String(c.id),
      spaceId: container.spaceId,
      spaceKey: container.spaceKey,
      title: String(c.title ?? ''),
      url: `${ctx.siteUrl}/wiki${String(c._links?.webui ?? '')}`,
      parentId: container.id,
      ...(typeof c.parentCommentId === 'string' ? { parentCommentId: c.parentCommentId } : {}),
      ...(commentType === 'inline' && typeof c.resolutionStatus === 'string' ? { resolutionStatus: c.resolutionStatus } : {}),
      ancestorIds,
      version: Number(c.version?.number ?? 0),
      updatedAt: String(c.version?.createdAt ?? ''),
      ...(ctx.bodies ? { body: { format: 'storage' as const, value: String(c.body?.storage?.value ?? '') } } : {}),
      acl
    }
    return { record: comment, hash: stateHash('comment', acl, ancestorIds) }
  }
  const current = (c: Record<string, any>): boolean => c.status === undefined || c.status === 'current'
  await eachPage(ctx.call, `${base(ctx, container.id)}/footer-comments`, { limit: 250, status: ['current'], ...body }, ctx.signal, async (results) => {
    for (const c of results as Array<Record<string, any>>) if (current(c)) out.push(toRecord(c, 'footer'))
  })
  const roots: string[] = []
  await eachPage(ctx.call, `${base(ctx, container.id)}/inline-comments`, { limit: 250, status: ['current'], ...body }, ctx.signal, async (results) => {
    for (const c of results as Array<Record<string, any>>) if (current(c)) { out.push(toRecord(c, 'inline')); roots.push(String(c.id)) }
  })
  for (const root of roots) {
    await eachPage(ctx.call, `/wiki/api/v2/inline-comments/${root}/children`, { limit: 250, ...body }, ctx.signal, async (results) => {
      for (const c of results as Array<Record<string, any>>) if (current(c)) out.push(toRecord({ parentCommentId: root, ...c }, 'inline'))
    })
  }
  return out
}
