// What hangs off a page or blog post and takes its ACL: attachments and footer comments (Confluence has no
// restriction of its own on either; whoever may read the container may read them).
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

/** Footer comments (v2 `pages|blogposts/{id}/footer-comments`, current only): parentId is the container. */
export async function commentsOf (ctx: PageContext, container: ContentRecord, acl: Acl): Promise<Hashed[]> {
  const out: Hashed[] = []
  const ancestorIds = [container.id, ...container.ancestorIds]
  await eachPage(ctx.call, `${base(ctx, container.id)}/footer-comments`, { limit: 250, status: ['current'], ...(ctx.bodies ? { 'body-format': 'storage' } : {}) }, ctx.signal, async (results) => {
    for (const c of results as Array<Record<string, any>>) {
      if (c.status !== undefined && c.status !== 'current') continue
      const comment: CommentRecord = {
        recordId: `comment:${String(c.id)}`,
        kind: 'comment',
        id: String(c.id),
        spaceId: container.spaceId,
        spaceKey: container.spaceKey,
        title: String(c.title ?? ''),
        url: `${ctx.siteUrl}/wiki${String(c._links?.webui ?? '')}`,
        parentId: container.id,
        ancestorIds,
        version: Number(c.version?.number ?? 0),
        updatedAt: String(c.version?.createdAt ?? ''),
        ...(ctx.bodies ? { body: { format: 'storage' as const, value: String(c.body?.storage?.value ?? '') } } : {}),
        acl
      }
      out.push({ record: comment, hash: stateHash('comment', acl, ancestorIds) })
    }
  })
  return out
}
