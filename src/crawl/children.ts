// What hangs off a page or blog post and takes its ACL: attachments, footer comments and inline comments with
// their replies at any depth (Confluence has no restriction of its own on any of them; whoever may read the container may
// read them).
import { createHash } from 'node:crypto'
import { AppError } from '../errors/app-error'
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
 * Comments of a page or blog post, current only: root footer comments (v2 `…/footer-comments`), root inline
 * comments (v2 `…/inline-comments`, every resolution status), then the replies of each comment exported, at
 * any depth (`footer-comments/{id}/children`, `inline-comments/{id}/children`; a reply is a comment whose
 * replies are read in turn). No v2 listing says whether a comment has replies, so each costs one request.
 * parentId is the container; a reply also names the comment it answers (parentCommentId).
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
  const ids = new Set<string>()
  const add = (c: Record<string, any>, commentType: 'footer' | 'inline'): void => {
    if (!current(c) || ids.has(String(c.id))) return // (a comment met twice would be a cycle: read once)
    ids.add(String(c.id))
    out.push(toRecord(c, commentType))
  }
  for (const commentType of ['footer', 'inline'] as const) {
    await eachPage(ctx.call, `${base(ctx, container.id)}/${commentType}-comments`, { limit: 250, status: ['current'], ...body }, ctx.signal, async (results) => {
      for (const c of results as Array<Record<string, any>>) add(c, commentType)
    })
  }
  // The records are the work list: each comment's replies are appended behind it and read in their turn (no
  // recursion, nothing held beyond the container's records, which the listing page holds anyway).
  for (let i = 0; i < out.length; i++) {
    const parent = out[i].record as CommentRecord
    try {
      await eachPage(ctx.call, `/wiki/api/v2/${parent.commentType}-comments/${parent.id}/children`, { limit: 250, ...body }, ctx.signal, async (results) => {
        for (const c of results as Array<Record<string, any>>) add({ parentCommentId: parent.id, ...c }, parent.commentType)
      })
    } catch (err) {
      // deleted since it was listed: it has no replies left to export (its own record goes at the next full listing)
      if (!(err instanceof AppError) || err.code !== 'UPSTREAM_NOT_FOUND' || ctx.signal?.aborted === true) throw err
    }
  }
  return out
}
