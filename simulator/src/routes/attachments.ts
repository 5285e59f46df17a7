// v2 attachments: get by id (seeded or uploaded: attachment-writes.ts), list, attachments of a page or a blog post.
import { v2Error } from '../errors'
import { v2Attachment } from '../representations'
import { uploadsOf } from '../uploads'
import { v2Upload } from './attachment-writes'
import type { OpContext, OpHandler } from './context'
import { cursorPage, list, range, sorted, statusFilter, type Candidates } from './content-lists'
import { labelList, labelsOf, readableContent } from './pages'

const getAttachmentById: OpHandler = (ctx) => {
  const uploaded = uploadsOf(ctx.state).of(ctx.site).get(String(ctx.path.id))
  if (uploaded !== undefined) {
    const body = ctx.reader().canRead(uploaded.container) ? v2Upload(ctx.site, uploaded, ctx.query.version as number | undefined, true) : undefined
    return body === undefined ? v2Error(404) : { status: 200, body, objects: { core: 1 } }
  }
  const c = ctx.site.contentIndex(String(ctx.path.id), 'attachment')
  if (c === -1 || !ctx.reader().canRead(c)) return v2Error(404)
  return { status: 200, body: v2Attachment(ctx.site, c, true), objects: { core: 1 } }
}

/** GET /attachments/{id}/labels: a seeded attachment's labels (written ones win); an uploaded one has none. */
const getAttachmentLabels: OpHandler = (ctx) => {
  const uploaded = uploadsOf(ctx.state).of(ctx.site).get(String(ctx.path.id))
  if (uploaded !== undefined) return ctx.reader().canRead(uploaded.container) ? { status: 200, body: labelList(ctx, []), objects: { core: 0 } } : v2Error(404)
  const c = ctx.site.contentIndex(String(ctx.path.id), 'attachment')
  if (c === -1 || !ctx.reader().canRead(c)) return v2Error(404)
  const body = labelsOf(ctx, c)
  return { status: 200, body, objects: { core: (body.results as unknown[]).length } }
}

const getAttachments: OpHandler = (ctx) =>
  listAttachments(ctx, range(ctx.site.pageCount + ctx.site.blogCount, ctx.site.total))

function attachmentsOf (kind: 'page' | 'blogpost'): OpHandler {
  return (ctx) => {
    const c = readableContent(ctx, ctx.path.id, kind)
    if (c === -1) return v2Error(404)
    return listAttachments(ctx, list(ctx.site.attachmentList.subarray(ctx.site.attachmentStart[c], ctx.site.attachmentStart[c + 1])))
  }
}

function listAttachments (ctx: OpContext, candidates: Candidates): ReturnType<OpHandler> {
  const site = ctx.site
  const statuses = statusFilter(ctx.query.status, ['current', 'archived'])
  const { mediaType, filename } = ctx.query as { mediaType?: string, filename?: string }
  const reader = ctx.reader()
  return cursorPage(ctx, sorted(site, candidates, ctx.query.sort),
    (c) => statuses.has(site.status[c]) &&
      (mediaType === undefined || site.attachmentInfo(c).mediaType === mediaType) &&
      (filename === undefined || site.title(c) === filename) &&
      reader.canRead(c),
    (c) => v2Attachment(site, c), 50)
}

export const attachmentHandlers: Record<string, OpHandler> = {
  getAttachmentById,
  getAttachmentLabels,
  getAttachments,
  getPageAttachments: attachmentsOf('page'),
  getBlogpostAttachments: attachmentsOf('blogpost')
}
