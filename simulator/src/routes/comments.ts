// v2 footer and inline comments of a page or a blog post (roots only), footer comments of an attachment
// (roots only), and the replies to a footer or an inline comment (a reply's own replies are read from it in
// turn). A comment is readable by whoever may read its container.
import { RESOLUTIONS, type Comments } from '../comments'
import { v2Error } from '../errors'
import { webui } from '../representations'
import type { SiteData } from '../seed'
import type { OpContext, OpHandler } from './context'
import { cursorPage, list, statusFilter } from './content-lists'
import { readableContent } from './pages'

const CONTAINER_FIELD = { page: 'pageId', blogpost: 'blogPostId', attachment: 'attachmentId' } as const

function iso (seconds: number): string { return new Date(seconds * 1000).toISOString() }

/** A footer comment: a root names its container (PageCommentModel, BlogPostCommentModel, AttachmentCommentModel), a reply its parent comment (ChildrenCommentModel). */
export function v2FooterComment (site: SiteData, k: number, format?: string, comments: Comments = site.comments): Record<string, unknown> {
  const c = comments.container[k]
  const id = comments.id(k)
  const parent = comments.parentComment[k]
  const body = format === 'storage' || format === 'atlas_doc_format'
    ? { [format]: { representation: format, value: format === 'storage' ? comments.body(site, k) : JSON.stringify({ type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: comments.body(site, k).replace(/<\/?p>/g, '') }] }] }) } }
    : {}
  return {
    id,
    status: comments.statusOf(k),
    title: `Re: ${site.title(c)}`,
    // (an attachment id carries its `att` prefix, as v2 attachments name themselves)
    ...(parent !== -1 ? { parentCommentId: comments.id(parent) } : { [CONTAINER_FIELD[site.kind(c)]]: `${site.kind(c) === 'attachment' ? 'att' : ''}${site.contentId(c)}` }),
    version: { createdAt: iso(comments.modified[k]), message: '', number: comments.version[k], minorEdit: false, authorId: site.users[comments.author[k]].accountId },
    body,
    _links: { webui: `${webui(site, c)}${site.kind(c) === 'attachment' ? '&' : '?'}focusedCommentId=${id}#comment-${id}` }
  }
}

/** An inline comment: a root names its container, a reply its parent comment (InlineCommentChildrenModel). */
export function v2InlineComment (site: SiteData, k: number, format?: string): Record<string, unknown> {
  const comments = site.inlineComments
  const id = comments.id(k)
  return {
    ...v2FooterComment(site, k, format, comments),
    resolutionStatus: RESOLUTIONS[comments.resolution[k]],
    properties: { inlineMarkerRef: `marker-${id}`, inlineOriginalSelection: comments.selection(site, k) }
  }
}

function ordered (ctx: OpContext, comments: Comments, of: ArrayLike<number>): number[] {
  const sort = ctx.query.sort as string | undefined
  const key = sort?.endsWith('modified-date') === true ? comments.modified : comments.created
  const out = Array.from(of).sort((a, b) => key[a] - key[b] || a - b)
  if (sort?.startsWith('-') === true) out.reverse()
  return out
}

function footerCommentsOf (kind: 'page' | 'blogpost'): OpHandler {
  return (ctx) => {
    const site = ctx.site
    const c = readableContent(ctx, ctx.path.id, kind)
    if (c === -1) return v2Error(404)
    const statuses = statusFilter(ctx.query.status, ['current'])
    const format = ctx.query['body-format'] as string | undefined
    return cursorPage(ctx, list(ordered(ctx, site.comments, site.comments.of(c))), (k) => site.comments.parentComment[k] === -1 && statuses.has(site.comments.status[k]),
      (k) => v2FooterComment(site, k, format))
  }
}

/** Root inline comments of a page or blog post (status default current; resolution-status default all). */
function inlineCommentsOf (kind: 'page' | 'blogpost'): OpHandler {
  return (ctx) => {
    const site = ctx.site
    const comments = site.inlineComments
    const c = readableContent(ctx, ctx.path.id, kind)
    if (c === -1) return v2Error(404)
    const statuses = statusFilter(ctx.query.status, ['current'])
    const resolutions = ctx.query['resolution-status'] as string[] | undefined
    const format = ctx.query['body-format'] as string | undefined
    return cursorPage(ctx, list(ordered(ctx, comments, comments.of(c))),
      (k) => comments.parentComment[k] === -1 && statuses.has(comments.status[k]) && (resolutions === undefined || resolutions.includes(RESOLUTIONS[comments.resolution[k]])),
      (k) => v2InlineComment(site, k, format))
  }
}

/** Root footer comments of an attachment, current only (the operation has no status parameter); 404 when the attachment is gone or not readable. */
const attachmentComments: OpHandler = (ctx) => {
  const site = ctx.site
  const comments = site.attachmentComments
  const c = site.contentIndex(String(ctx.path.id).replace(/^att/, ''), 'attachment')
  if (c === -1 || site.status[c] !== 0 || !ctx.reader().canRead(c)) return v2Error(404)
  const format = ctx.query['body-format'] as string | undefined
  return cursorPage(ctx, list(ordered(ctx, comments, comments.of(c))), (k) => comments.parentComment[k] === -1 && comments.status[k] === 0,
    (k) => v2FooterComment(site, k, format, comments))
}

/** Current direct replies to a current comment (404 when the comment is not current or its container not readable). */
function childrenOf (inline: boolean): OpHandler {
  return (ctx) => {
    const site = ctx.site
    const id = String(ctx.path.id)
    // footer comments of pages and blog posts, or of attachments (their replies are read the same way)
    const comments = inline ? site.inlineComments : site.attachmentComments.index(id) !== -1 ? site.attachmentComments : site.comments
    const k = comments.index(id)
    if (k === -1 || comments.status[k] !== 0 || !ctx.reader().canRead(comments.container[k])) return v2Error(404)
    const format = ctx.query['body-format'] as string | undefined
    return cursorPage(ctx, list(ordered(ctx, comments, comments.replies(k))), (j) => comments.status[j] === 0,
      (j) => inline ? v2InlineComment(site, j, format) : v2FooterComment(site, j, format, comments))
  }
}

/** Every current footer (or inline) comment of the site, roots and replies, that the caller may read (`sort` by created or modified date). */
function siteComments (inline: boolean): OpHandler {
  return (ctx) => {
    const site = ctx.site
    const comments = inline ? site.inlineComments : site.comments
    const reader = ctx.reader()
    const format = ctx.query['body-format'] as string | undefined
    const all = Array.from({ length: comments.count }, (_, k) => k)
    return cursorPage(ctx, list(ordered(ctx, comments, all)), (k) => comments.status[k] === 0 && site.status[comments.container[k]] === 0 && reader.canRead(comments.container[k]),
      (k) => inline ? v2InlineComment(site, k, format) : v2FooterComment(site, k, format))
  }
}

export const commentHandlers: Record<string, OpHandler> = {
  getFooterComments: siteComments(false),
  getInlineComments: siteComments(true),
  getPageFooterComments: footerCommentsOf('page'),
  getBlogPostFooterComments: footerCommentsOf('blogpost'),
  getPageInlineComments: inlineCommentsOf('page'),
  getBlogPostInlineComments: inlineCommentsOf('blogpost'),
  getAttachmentComments: attachmentComments,
  getFooterCommentChildren: childrenOf(false),
  getInlineCommentChildren: childrenOf(true)
}
