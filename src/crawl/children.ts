// What hangs off a page or blog post and takes its ACL: attachments, footer comments and inline comments with
// their replies at any depth, and the attachments' footer comments with theirs (Confluence has no restriction of
// its own on any of them; whoever may read the page or blog post may read them).
import { createHash } from 'node:crypto'
import { AppError } from '../errors/app-error'
import { aclHash, type Acl } from './acl'
import { eachPage } from './listing'
import { segment } from './layers'
import { bodyFields } from './convert'
import type { PageContext } from './items'
import type { AttachmentRecord, CommentRecord, CrawlRecord } from './types'

export interface Hashed { record: CrawlRecord, hash: string }

/**
 * What the permissions pass compares: the ACL and the chain it came from (a move changes both) — `<kind>|<digest>`
 * — then `|<digest of the ACL alone>`, so a run can tell an effective ACL change (triggers'
 * `content.permissions.changed`) from a move that kept the ACL. Values stored before the third part existed
 * compare equal on the first two (no run re-emits everything for it).
 */
export function stateHash (kind: string, acl: Acl, ancestorIds: string[]): string {
  return `${kind}|${createHash('sha1').update(JSON.stringify([acl, ancestorIds])).digest('base64url').slice(0, 16)}|${aclHash(acl)}`
}

/** Whether a stored value and a new one say the same state (kind and ACL+chain digest; the ACL digest follows from them). */
export function sameState (stored: string | null | undefined, hash: string): boolean {
  if (stored === null || stored === undefined) return false
  return stored === hash || withoutAcl(stored) === withoutAcl(hash)
}

/** The ACL digest of a stored value (undefined: stored before it existed, or an item that failed with no earlier one). */
export function aclPartOf (value: string | null | undefined): string | undefined {
  const part = value?.split('|')[2]
  return part === undefined || part === '' ? undefined : part
}

const withoutAcl = (value: string): string => value.split('|').slice(0, 2).join('|')

const base = (kind: 'page' | 'blogpost', id: string): string => `/wiki/api/v2/${kind === 'page' ? 'pages' : 'blogposts'}/${segment(id)}`

/** Where an attachment sits, for its record (an index needs no second read to place or filter it). */
export interface AttachmentPlace { spaceId: string, spaceKey: string, containerType: 'page' | 'blogpost', ancestorIds: string[] }

export async function attachmentsOf (ctx: PageContext, containerId: string, acl: Acl, place: AttachmentPlace): Promise<Hashed[]> {
  const out: Hashed[] = []
  const str = (v: unknown): string => typeof v === 'string' ? v : ''
  await eachPage(ctx.call, `${base(ctx.kind, containerId)}/attachments`, { limit: 250, status: 'current' }, ctx.signal, async (results) => {
    for (const a of results as Array<Record<string, any> | null>) {
      if (a === null || typeof a !== 'object' || (typeof a.id !== 'string' && typeof a.id !== 'number')) continue
      const att: AttachmentRecord = {
        recordId: `attachment:${String(a.id)}`,
        kind: 'attachment',
        id: String(a.id),
        containerId,
        containerType: place.containerType,
        spaceId: place.spaceId,
        spaceKey: place.spaceKey,
        ancestorIds: [containerId, ...place.ancestorIds],
        title: str(a.title),
        mediaType: str(a.mediaType),
        fileSize: typeof a.fileSize === 'number' ? a.fileSize : 0,
        url: `${ctx.siteUrl}/wiki${str(a.webuiLink) !== '' ? str(a.webuiLink) : str(a._links?.webui)}`,
        downloadUrl: `${ctx.siteUrl}/wiki${str(a.downloadLink) !== '' ? str(a.downloadLink) : str(a._links?.download)}`,
        version: typeof a.version?.number === 'number' ? a.version.number : 0,
        updatedAt: str(a.version?.createdAt),
        ...(typeof a.version?.authorId === 'string' ? { authorId: a.version.authorId } : {}),
        ...(typeof a.createdAt === 'string' ? { createdAt: a.createdAt } : {}),
        acl
      }
      out.push({ record: att, hash: stateHash('attachment', acl, [containerId]) })
    }
  })
  return out
}

/**
 * What comments hang off: a page or blog post, or an attachment (the file preview's comments). `ancestorIds` is
 * the chain above it: a page's ancestors, or an attachment's page or blog post then that page's ancestors.
 */
export interface CommentContainer { type: 'page' | 'blogpost' | 'attachment', id: string, spaceId: string, spaceKey: string, ancestorIds: string[] }

/**
 * Comments of a container, current only. Roots: a page's or blog post's footer comments (v2 `…/footer-comments`)
 * and inline comments (v2 `…/inline-comments`, every resolution status); an attachment's footer comments
 * (v2 `attachments/{id}/footer-comments`, which has no status parameter: current ones are kept here; a 404, the
 * attachment deleted since it was listed, means none). Then the replies of each comment exported, at any depth
 * (`footer-comments/{id}/children`, `inline-comments/{id}/children`; a reply is a comment whose replies are
 * read in turn). No v2 listing says whether a comment has replies, so each costs one request.
 * parentId is the container; a reply also names the comment it answers (parentCommentId).
 */
export async function commentsOf (ctx: PageContext, container: CommentContainer, acl: Acl): Promise<Hashed[]> {
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
      containerType: container.type,
      ...(typeof c.parentCommentId === 'string' ? { parentCommentId: c.parentCommentId } : {}),
      ...(commentType === 'inline' && typeof c.resolutionStatus === 'string' ? { resolutionStatus: c.resolutionStatus } : {}),
      ancestorIds,
      version: Number(c.version?.number ?? 0),
      updatedAt: String(c.version?.createdAt ?? ''),
      // v2 comments have no creator or creation field: the author is the current version's (a comment is
      // edited by its author only), and there is no createdAt to give
      ...(typeof c.version?.authorId === 'string' ? { authorId: c.version.authorId } : {}),
      ...(ctx.bodies ? bodyFields(typeof c.body?.storage?.value === 'string' ? c.body.storage.value : '', ctx.bodyFormats) : {}),
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
  const type = container.type
  const roots = type === 'attachment'
    ? [{ path: `/wiki/api/v2/attachments/${segment(container.id)}/footer-comments`, commentType: 'footer' as const, query: { limit: 250, ...body } }]
    : (['footer', 'inline'] as const).map((commentType) => ({ path: `${base(type, container.id)}/${commentType}-comments`, commentType, query: { limit: 250, status: ['current'], ...body } }))
  for (const { path, commentType, query } of roots) {
    const listed = await goneIs404(ctx, type === 'attachment', async () => {
      await eachPage(ctx.call, path, query, ctx.signal, async (results) => {
        for (const c of results as Array<Record<string, any> | null>) if (c !== null && typeof c === 'object' && c.id !== undefined && c.id !== null) add(c, commentType)
      })
    })
    if (!listed) return out
  }
  // The records are the work list: each comment's replies are appended behind it and read in their turn (no
  // recursion, nothing held beyond the container's records, which the listing page holds anyway).
  for (let i = 0; i < out.length; i++) {
    const parent = out[i].record as CommentRecord
    // deleted since it was listed: it has no replies left to export (its own record goes at the next full listing)
    await goneIs404(ctx, true, async () => {
      await eachPage(ctx.call, `/wiki/api/v2/${parent.commentType}-comments/${segment(parent.id)}/children`, { limit: 250, ...body }, ctx.signal, async (results) => {
        for (const c of results as Array<Record<string, any> | null>) if (c !== null && typeof c === 'object' && c.id !== undefined && c.id !== null) add({ parentCommentId: parent.id, ...c }, parent.commentType)
      })
    })
  }
  return out
}

/** Runs a listing; false when it answered 404 and `tolerate` says that means "gone, nothing below it". */
async function goneIs404 (ctx: PageContext, tolerate: boolean, list: () => Promise<void>): Promise<boolean> {
  try {
    await list()
    return true
  } catch (err) {
    if (!tolerate || !(err instanceof AppError) || err.code !== 'UPSTREAM_NOT_FOUND' || ctx.signal?.aborted === true) throw err
    return false
  }
}
