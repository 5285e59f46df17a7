// v2 footer comments of a page or a blog post. A comment is readable by whoever may read its container.
import { v2Error } from '../errors'
import { webui } from '../representations'
import type { SiteData } from '../seed'
import type { OpHandler } from './context'
import { cursorPage, list, statusFilter } from './content-lists'
import { readableContent } from './pages'

function iso (seconds: number): string { return new Date(seconds * 1000).toISOString() }

export function v2FooterComment (site: SiteData, k: number, format?: string): Record<string, unknown> {
  const comments = site.comments
  const c = comments.container[k]
  const id = comments.id(k)
  const body = format === 'storage' || format === 'atlas_doc_format'
    ? { [format]: { representation: format, value: format === 'storage' ? comments.body(site, k) : JSON.stringify({ type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: comments.body(site, k).replace(/<\/?p>/g, '') }] }] }) } }
    : {}
  return {
    id,
    status: comments.statusOf(k),
    title: `Re: ${site.title(c)}`,
    ...(site.kind(c) === 'page' ? { pageId: site.contentId(c) } : { blogPostId: site.contentId(c) }),
    version: { createdAt: iso(comments.modified[k]), message: '', number: comments.version[k], minorEdit: false, authorId: site.users[comments.author[k]].accountId },
    body,
    _links: { webui: `${webui(site, c)}?focusedCommentId=${id}#comment-${id}` }
  }
}

function footerCommentsOf (kind: 'page' | 'blogpost'): OpHandler {
  return (ctx) => {
    const site = ctx.site
    const c = readableContent(ctx, ctx.path.id, kind)
    if (c === -1) return v2Error(404)
    const statuses = statusFilter(ctx.query.status, ['current'])
    const format = ctx.query['body-format'] as string | undefined
    const of = site.comments.of(c)
    const sort = ctx.query.sort as string | undefined
    const key = sort?.endsWith('modified-date') === true ? site.comments.modified : site.comments.created
    const ordered = [...of].sort((a, b) => key[a] - key[b] || a - b)
    if (sort?.startsWith('-') === true) ordered.reverse()
    return cursorPage(ctx, list(ordered), (k) => statuses.has(site.comments.status[k]), (k) => v2FooterComment(site, k, format))
  }
}

export const commentHandlers: Record<string, OpHandler> = {
  getPageFooterComments: footerCommentsOf('page'),
  getBlogPostFooterComments: footerCommentsOf('blogpost')
}
