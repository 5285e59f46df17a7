// v1 attachment writes and the download redirect, as the v1 spec defines them:
// - POST /wiki/rest/api/content/{id}/child/attachment (createAttachment): new files only; a file name the
//   container already has is a 400, as Confluence answers;
// - PUT  same path (createOrUpdateAttachments): a new attachment, or a new version of the one of that name;
// - POST .../child/attachment/{attachmentId}/data (updateAttachmentData): a new version of that attachment;
// - GET  .../child/attachment/{attachmentId}/download (downloadAttatchment, sic): 302 to a media URL.
// Each write needs the `X-Atlassian-Token: no-check` header (403 otherwise: Confluence's XSRF check), a
// container the caller can read (404 otherwise) and may edit (403 when an edit restriction leaves them out).
// Answers are the v1 ContentArray / Content of attachments (`att<id>`, extensions with mediaType, fileSize).
import { v1Error } from '../errors'
import { iso, webui } from '../representations'
import type { SiteData } from '../seed'
import { MultipartBody, uploadsOf, type ReceivedFile, type StoredVersion, type Upload } from '../uploads'
import type { OpContext, OpHandler } from './context'

const XSRF_REFUSED = v1Error(403, 'XSRF check failed')

/** A container the caller may attach to: -1 unreadable or gone; -2 readable but edit-restricted. */
function writableContainer (ctx: OpContext): number {
  const site = ctx.site
  const c = site.contentIndex(String(ctx.path.id))
  if (c === -1 || site.kind(c) === 'attachment' || !ctx.reader().canRead(c)) return -1
  const wanted = ctx.query.status ?? 'current'
  if (site.statusOf(c) !== wanted) return -1
  const update = site.restrictions.get(c)?.update
  if (update !== undefined && !ctx.reader().listed(update)) return -2
  return c
}

function filesOf (ctx: OpContext): { body: MultipartBody, files: ReceivedFile[] } | undefined {
  const body = ctx.body
  if (!(body instanceof MultipartBody)) return undefined
  return { body, files: body.files.filter((f) => f.field === 'file') }
}

function versionOf (ctx: OpContext, file: ReceivedFile, comment: string, minorEdit: boolean, number: number): StoredVersion {
  const path = uploadsOf(ctx.state).keep(file)
  return {
    number, path, size: file.size, comment, minorEdit,
    mediaType: file.mediaType === '' ? 'application/octet-stream' : file.mediaType,
    createdAt: Math.floor(Date.now() / 1000),
    author: ctx.caller.index
  }
}

function downloadPath (site: SiteData, upload: Upload, v: StoredVersion): string {
  return `/download/attachments/${site.contentId(upload.container)}/${encodeURIComponent(upload.title)}?version=${v.number}&modificationDate=${v.createdAt * 1000}&api=v2`
}

/** v1 Content of an uploaded attachment (latest version). */
export function v1Upload (site: SiteData, upload: Upload): Record<string, unknown> {
  const v = upload.versions[upload.versions.length - 1]
  const container = upload.container
  const id = `att${upload.id}`
  return {
    id,
    type: 'attachment',
    status: 'current',
    title: upload.title,
    container: { id: site.contentId(container), type: site.kind(container), status: site.statusOf(container), title: site.title(container) },
    version: { number: v.number, when: iso(v.createdAt), message: v.comment, minorEdit: v.minorEdit },
    metadata: { mediaType: v.mediaType, comment: v.comment },
    extensions: { mediaType: v.mediaType, fileSize: v.size, comment: v.comment, fileId: upload.fileId },
    _expandable: { space: `/rest/api/space/${site.spaces[site.space[container]].key}` },
    _links: {
      webui: `${webui(site, container)}?preview=${encodeURIComponent(upload.title)}`,
      download: downloadPath(site, upload, v),
      self: `${site.base}/rest/api/content/${id}`
    }
  }
}

/** v2 AttachmentSingle of an uploaded attachment, at `version` (default the latest). */
export function v2Upload (site: SiteData, upload: Upload, version?: number, withBase = false): Record<string, unknown> | undefined {
  const v = version === undefined ? upload.versions[upload.versions.length - 1] : upload.versions[version - 1]
  if (v === undefined) return undefined
  const container = upload.container
  const download = downloadPath(site, upload, v)
  const ui = `${webui(site, container)}?preview=${encodeURIComponent(upload.title)}`
  return {
    id: `att${upload.id}`,
    status: 'current',
    title: upload.title,
    createdAt: iso(upload.versions[0].createdAt),
    ...(site.kind(container) === 'page' ? { pageId: site.contentId(container) } : { blogPostId: site.contentId(container) }),
    mediaType: v.mediaType,
    mediaTypeDescription: v.mediaType.split('/')[1]?.toUpperCase() ?? v.mediaType,
    comment: v.comment,
    fileId: upload.fileId,
    fileSize: v.size,
    webuiLink: ui,
    downloadLink: download,
    version: { createdAt: iso(v.createdAt), message: v.comment, number: v.number, minorEdit: v.minorEdit, authorId: site.users[v.author].accountId },
    _links: { webui: ui, download, ...(withBase ? { base: site.base } : {}) }
  }
}

/** `update`: false → createAttachment (existing names refused); true → createOrUpdateAttachments. */
function upload (update: boolean): OpHandler {
  return (ctx) => {
    const parsed = filesOf(ctx)
    if (parsed === undefined) return v1Error(400, 'multipart/form-data with a file part is required')
    if (parsed.body.atlassianToken !== 'no-check' && parsed.body.atlassianToken !== 'nocheck') return XSRF_REFUSED
    const c = writableContainer(ctx)
    if (c === -1) return v1Error(404, `No content with id ${String(ctx.path.id)} found`)
    if (c === -2) return v1Error(403, 'You do not have permission to edit this content')
    const comments = parsed.body.fields.comment ?? []
    if (comments.length > 0 && comments.length !== parsed.files.length) return v1Error(400, 'Every file must have a comment, in the same order as the files')
    const minorEdit = parsed.body.field('minorEdit') === 'true'
    const site = ctx.site
    const store = uploadsOf(ctx.state).of(site)
    for (const f of parsed.files) {
      if (!update && store.named(c, f.filename) !== undefined) {
        return v1Error(400, `Cannot add a new attachment with same file name as an existing attachment: ${f.filename}`)
      }
    }
    const results = parsed.files.map((f, i) => {
      const existing = store.named(c, f.filename)
      if (existing !== undefined) {
        store.addVersion(existing, versionOf(ctx, f, comments[i] ?? '', minorEdit, existing.versions.length + 1))
        return existing
      }
      return store.create(c, f.filename, versionOf(ctx, f, comments[i] ?? '', minorEdit, 1))
    })
    site.revision++
    return { status: 200, body: { results: results.map((u) => v1Upload(site, u)), start: 0, limit: results.length, size: results.length, _links: { base: site.base, context: '/wiki' } } }
  }
}

const updateAttachmentData: OpHandler = (ctx) => {
  const parsed = filesOf(ctx)
  if (parsed === undefined || parsed.files.length !== 1) return v1Error(400, 'exactly one file part is required')
  if (parsed.body.atlassianToken !== 'no-check' && parsed.body.atlassianToken !== 'nocheck') return XSRF_REFUSED
  const c = writableContainer(ctx)
  if (c === -1) return v1Error(404, `No content with id ${String(ctx.path.id)} found`)
  if (c === -2) return v1Error(403, 'You do not have permission to edit this content')
  const store = uploadsOf(ctx.state).of(ctx.site)
  const existing = store.get(String(ctx.path.attachmentId))
  if (existing === undefined || existing.container !== c) return v1Error(404, `No attachment with id ${String(ctx.path.attachmentId)} found`)
  store.addVersion(existing, versionOf(ctx, parsed.files[0], parsed.body.field('comment') ?? '', parsed.body.field('minorEdit') === 'true', existing.versions.length + 1))
  ctx.site.revision++
  return { status: 200, body: v1Upload(ctx.site, existing) }
}

/** 302 to the media URL of the attachment's version (latest by default); 400 past the latest version. */
const downloadAttachment: OpHandler = (ctx) => {
  const site = ctx.site
  const c = site.contentIndex(String(ctx.path.id))
  if (c === -1 || site.kind(c) === 'attachment' || !ctx.reader().canRead(c)) return v1Error(404, 'No content found')
  const store = uploadsOf(ctx.state)
  const attachmentId = String(ctx.path.attachmentId)
  const wanted = ctx.query.version as number | undefined
  const uploaded = store.of(site).get(attachmentId)
  let location: string
  if (uploaded !== undefined) {
    if (uploaded.container !== c) return v1Error(404, 'No attachment found')
    const latest = uploaded.versions.length
    if (wanted !== undefined && (wanted < 1 || wanted > latest)) return v1Error(400, `Version ${wanted} is greater than the latest version ${latest}`)
    location = store.grant(site.cloudId, uploaded, wanted ?? latest, uploaded.title)
  } else {
    const a = site.contentIndex(attachmentId, 'attachment')
    if (a === -1 || site.parent[a] !== c || site.statusOf(a) !== 'current') return v1Error(404, 'No attachment found')
    if (wanted !== undefined && (wanted < 1 || wanted > site.version[a])) return v1Error(400, `Version ${wanted} is greater than the latest version ${site.version[a]}`)
    location = store.grant(site.cloudId, { id: site.contentId(a), fileId: site.attachmentInfo(a).fileId }, wanted ?? site.version[a], site.title(a))
  }
  return { status: 302, headers: { location: `${ctx.state.publicUrl}${location}` }, objects: { core: 1 } }
}

export const attachmentWriteHandlers: Record<string, OpHandler> = {
  createAttachment: upload(false),
  createOrUpdateAttachments: upload(true),
  updateAttachmentData,
  downloadAttatchment: downloadAttachment
}
