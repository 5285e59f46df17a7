// Writes to pages and blog posts (v2 create, update, delete with trash and purge), footer comments (v2), and
// labels (v1: v2 has no label write). What Confluence does, as far as its behaviour is visible from outside:
// an update names the version it makes (current + 1, else 409 with the current version), a page title is
// unique in its space (400 on create and rename), who may read but is not on an edit restriction gets 403,
// a storage body must be well-formed XHTML (400), delete trashes, `purge=true` removes a trashed page.
import { hash32 } from '../random'
import { v1Error, v2Error, type OpResult } from '../errors'
import { iso } from '../representations'
import type { SiteData } from '../seed'
import { storageProblem, writesOf, type WrittenComment, type WrittenDoc } from '../writes'
import type { OpContext, OpHandler } from './context'
import { v2FooterComment } from './comments'

type Kind = 'page' | 'blogpost'
const now = (): number => Math.floor(Date.now() / 1000)
const TITLE_TAKEN = 'A page with this title already exists: A page already exists with the same TITLE in this space'

function conflict (detail: string): OpResult {
  return { status: 409, body: { errors: [{ status: 409, code: 'CONFLICT', title: 'Conflict', detail }] } }
}

/** A readable, not purged page or blog post by id (seeded or written), or undefined. */
function readableDoc (ctx: OpContext, id: string, kind: Kind | undefined, materialise = false): WrittenDoc | undefined {
  const writes = writesOf(ctx.site)
  const d = writes.doc(id, kind, materialise)
  if (!d || d.status === 'deleted') return undefined
  const reader = ctx.reader()
  if (d.seeded !== -1 ? !reader.canRead(d.seeded) : !reader.canReadSpace(d.space)) return undefined
  return d
}

/** Whether the caller may edit: an update restriction (seeded content only) lists the caller or one of its groups. */
function mayEdit (ctx: OpContext, d: WrittenDoc): boolean {
  if (d.seeded === -1) return true
  return ctx.reader().listed(ctx.site.restrictions.get(d.seeded)?.update)
}

/** The body of a write, as { storage, adf }, or the reason Confluence would refuse it. */
export function bodyOf (body: any): { storage: string, adf: string } | { problem: string } {
  const b = body?.representation !== undefined ? body : body?.storage ?? body?.atlas_doc_format ?? body?.wiki
  if (b === undefined || typeof b.value !== 'string') return { problem: 'a body with a representation and a value is required' }
  const rep = b.representation ?? (body.storage !== undefined ? 'storage' : body.atlas_doc_format !== undefined ? 'atlas_doc_format' : 'wiki')
  if (rep === 'storage') {
    const problem = storageProblem(b.value)
    return problem !== undefined ? { problem: `Error parsing xhtml: ${problem}` } : { storage: b.value, adf: adfOfText(b.value.replace(/<[^>]*>/g, ' ')) }
  }
  if (rep === 'atlas_doc_format') {
    let doc: any
    try { doc = JSON.parse(b.value) } catch { return { problem: 'atlas_doc_format value is not JSON' } }
    if (doc?.type !== 'doc' || !Array.isArray(doc.content)) return { problem: 'atlas_doc_format value is not an ADF document' }
    return { storage: `<p>${escapeXml(adfText(doc))}</p>`, adf: b.value }
  }
  return { storage: `<p>${escapeXml(b.value)}</p>`, adf: adfOfText(b.value) }
}

function adfOfText (text: string): string {
  return JSON.stringify({ type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: text.replace(/\s+/g, ' ').trim() || ' ' }] }] })
}
function adfText (node: any): string {
  if (typeof node?.text === 'string') return node.text
  return Array.isArray(node?.content) ? node.content.map(adfText).join(' ') : ''
}
function escapeXml (text: string): string { return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') }

export function webuiOf (site: SiteData, d: WrittenDoc): string {
  const key = site.spaces[d.space].key
  const slug = encodeURIComponent(d.title).replace(/%20/g, '+')
  return d.kind === 'blogpost'
    ? `/spaces/${key}/blog/${iso(d.createdAt).slice(0, 10).replace(/-/g, '/')}/${d.id}/${slug}`
    : `/spaces/${key}/pages/${d.id}/${slug}`
}

/** A written (or materialised) page or blog post as v2 PageSingle / BlogPostSingle. */
export function v2Written (site: SiteData, d: WrittenDoc, format?: string, withBase = true): Record<string, unknown> {
  const value = format === 'storage' ? d.storage : format === 'atlas_doc_format' ? d.adf : format === undefined ? undefined : `<div class="wiki-content">${d.storage}</div>`
  return {
    id: d.id,
    status: d.status,
    title: d.title,
    spaceId: site.spaces[d.space].id,
    ...(d.kind === 'page' && d.parentId !== undefined ? { parentId: d.parentId, parentType: 'page' } : {}),
    ...(d.kind === 'page' ? { position: hash32(site.seed, Number(d.id), 17) % 10000 } : {}),
    authorId: d.authorId,
    ...(d.kind === 'page' ? { ownerId: d.authorId, lastOwnerId: null } : {}),
    createdAt: iso(d.createdAt),
    version: { createdAt: iso(d.modifiedAt), message: d.versionMessage, number: d.version, minorEdit: false, authorId: d.versionAuthor },
    body: value === undefined ? {} : { [format as string]: { representation: format, value } },
    _links: { webui: webuiOf(site, d), editui: `/pages/resumedraft.action?draftId=${d.id}`, tinyui: `/x/${Buffer.from(d.id).toString('base64url')}`, ...(withBase ? { base: site.base } : {}) }
  }
}

function create (kind: Kind): OpHandler {
  return (ctx) => {
    const site = ctx.site
    const writes = writesOf(site)
    const b = ctx.body ?? {}
    const space = site.spaceById.get(String(b.spaceId))
    if (!space || !ctx.reader().canReadSpace(space.index)) return v2Error(404, `No space with id ${String(b.spaceId)} found or you do not have permission`)
    const status = b.status ?? 'current'
    if (status !== 'draft' && (typeof b.title !== 'string' || b.title.trim() === '')) return v2Error(400, 'Title is required for a published page')
    if (typeof b.title === 'string' && b.title.length > 255) return v2Error(400, 'Title cannot be longer than 255 characters')
    const title = typeof b.title === 'string' ? b.title : ''
    let parentId: string | undefined
    if (kind === 'page') {
      if (status === 'current' && writes.pageTitled(space.index, title) !== undefined) return v2Error(400, TITLE_TAKEN)
      if (b.parentId !== undefined) {
        const parent = readableDoc(ctx, String(b.parentId), 'page')
        if (!parent || parent.space !== space.index) return v2Error(400, `Parent ${String(b.parentId)} is not a page of space ${space.id}`)
        parentId = parent.id
      } else if (ctx.query['root-level'] !== true) {
        parentId = site.contentId(space.pageStart)
      }
    }
    const body = b.body === undefined ? { storage: '', adf: adfOfText('') } : bodyOf(b.body)
    if ('problem' in body) return v2Error(400, body.problem)
    const t = now()
    const doc: WrittenDoc = {
      id: writes.newId(), kind, seeded: -1, space: space.index, title, storage: body.storage, adf: body.adf, version: 1, versionMessage: '',
      versionAuthor: ctx.caller.accountId, modifiedAt: t, createdAt: t, authorId: ctx.caller.accountId, status, labels: [], ...(parentId !== undefined ? { parentId } : {})
    }
    writes.add(doc)
    return { status: 200, body: v2Written(site, doc, representationOf(b.body)), objects: { core: 1 } }
  }
}

function representationOf (body: any): string {
  if (body?.representation !== undefined) return body.representation
  return body?.atlas_doc_format !== undefined ? 'atlas_doc_format' : 'storage'
}

function update (kind: Kind): OpHandler {
  return (ctx) => {
    const writes = writesOf(ctx.site)
    const id = String(ctx.path.id)
    const b = ctx.body ?? {}
    const d = readableDoc(ctx, id, kind, true)
    if (!d) return v2Error(404)
    if (!mayEdit(ctx, d)) return v2Error(403, 'You do not have permission to edit this content')
    if (String(b.id) !== id) return v2Error(400, 'The id in the body does not match the id in the path')
    if (b.spaceId !== undefined && String(b.spaceId) !== ctx.site.spaces[d.space].id) return v2Error(400, 'Moving content to another space is not supported')
    if (d.status === 'trashed' && b.status === 'current') {
      // restoration: only the status changes
      writes.changed({ ...d, status: 'current', modifiedAt: now() })
      return { status: 200, body: v2Written(ctx.site, writes.doc(id) as WrittenDoc, representationOf(b.body)), objects: { core: 1 } }
    }
    if (d.status === 'trashed') return v2Error(404)
    const expected = b.status === 'draft' ? 1 : d.version + 1
    if (b.version?.number !== expected) return conflict(`Version must be incremented on update. Current version is: ${d.version}`)
    if (kind === 'page' && b.title !== d.title && writes.pageTitled(d.space, b.title, id) !== undefined) return v2Error(400, TITLE_TAKEN)
    if (typeof b.title !== 'string' || b.title.length > 255 || b.title.trim() === '') return v2Error(400, 'A title of 1 to 255 characters is required')
    const body = bodyOf(b.body)
    if ('problem' in body) return v2Error(400, body.problem)
    let parentId = d.parentId
    if (kind === 'page' && b.parentId !== undefined && b.parentId !== d.parentId) {
      const parent = readableDoc(ctx, String(b.parentId), 'page')
      if (!parent || parent.space !== d.space || parent.id === id) return v2Error(400, `Parent ${String(b.parentId)} is not a page of the same space`)
      parentId = parent.id
    }
    const next: WrittenDoc = {
      ...d, title: b.title, storage: body.storage, adf: body.adf, version: d.version + 1, versionMessage: typeof b.version.message === 'string' ? b.version.message : '',
      versionAuthor: ctx.caller.accountId, modifiedAt: now(), status: b.status, ...(parentId !== undefined ? { parentId } : {})
    }
    writes.changed(next)
    return { status: 200, body: v2Written(ctx.site, next, representationOf(b.body)), objects: { core: 1 } }
  }
}

function remove (kind: Kind): OpHandler {
  return (ctx) => {
    const writes = writesOf(ctx.site)
    const d = readableDoc(ctx, String(ctx.path.id), kind, true)
    if (!d) return v2Error(404)
    if (!mayEdit(ctx, d)) return v2Error(403, 'You do not have permission to delete this content')
    if (ctx.query.purge === true) {
      if (d.status !== 'trashed') return v2Error(400, 'Only trashed content can be purged; delete it first')
      writes.changed({ ...d, status: 'deleted', modifiedAt: now() })
      return { status: 204 }
    }
    if (d.status === 'trashed') return v2Error(404)
    writes.changed({ ...d, status: 'trashed', modifiedAt: now() })
    return { status: 204 }
  }
}

// ---- footer comments ----

const createFooterComment: OpHandler = (ctx) => {
  const site = ctx.site
  const writes = writesOf(site)
  const b = ctx.body ?? {}
  const targets = (['pageId', 'blogPostId', 'attachmentId', 'parentCommentId', 'customContentId'] as const).filter((f) => b[f] !== undefined)
  if (targets.length !== 1) return v2Error(400, 'Give exactly one of pageId, blogPostId, attachmentId, parentCommentId')
  const field = targets[0]
  const target = String(b[field])
  let webui: string
  if (field === 'pageId' || field === 'blogPostId') {
    const d = readableDoc(ctx, target, field === 'pageId' ? 'page' : 'blogpost')
    if (!d || d.status !== 'current') return v2Error(404)
    webui = webuiOf(site, d)
  } else if (field === 'attachmentId') {
    const c = site.contentIndex(target, 'attachment')
    if (c === -1 || site.status[c] !== 0 || !ctx.reader().canRead(c)) return v2Error(404)
    webui = `/spaces/${site.spaces[site.space[c]].key}/pages/${site.contentId(site.parent[c])}?preview=${encodeURIComponent(site.title(c))}`
  } else if (field === 'parentCommentId') {
    const parent = writes.comments.get(target)
    if (parent !== undefined) {
      if (parent.status !== 'current') return v2Error(404)
      webui = commentLinks(site, writes.comments, parent)
    } else {
      const comments = site.attachmentComments.index(target) !== -1 ? site.attachmentComments : site.comments
      const k = comments.index(target)
      if (k === -1 || comments.status[k] !== 0 || !ctx.reader().canRead(comments.container[k])) return v2Error(404)
      webui = String((v2FooterComment(site, k, undefined, comments)._links as { webui: string }).webui)
    }
  } else {
    return v2Error(404)
  }
  const body = bodyOf(b.body)
  if ('problem' in body) return v2Error(400, body.problem)
  const comment: WrittenComment = {
    id: writes.newId(), container: { field, id: target } as WrittenComment['container'], storage: body.storage, version: 1,
    authorId: ctx.caller.accountId, createdAt: now(), status: 'current'
  }
  writes.comments.set(comment.id, comment)
  site.revision++
  return {
    status: 201,
    body: {
      id: comment.id,
      status: 'current',
      title: `Re: ${comment.id}`,
      [field]: target,
      version: { createdAt: iso(comment.createdAt), message: '', number: 1, minorEdit: false, authorId: comment.authorId },
      body: { storage: { representation: 'storage', value: comment.storage } },
      _links: { webui: `${webui.split('?')[0]}?focusedCommentId=${comment.id}#comment-${comment.id}` }
    },
    objects: { core: 1 }
  }
}

/** GET /footer-comments/{comment-id}: a written comment, or a seeded footer comment (of a page, blog post or attachment). */
const getFooterCommentById: OpHandler = (ctx) => {
  const site = ctx.site
  const id = String(ctx.path['comment-id'])
  const format = ctx.query['body-format'] as string | undefined
  const written = writesOf(site).comments.get(id)
  if (written !== undefined) {
    if (written.status !== 'current') return v2Error(404)
    return {
      status: 200,
      body: {
        id, status: 'current', title: `Re: ${id}`, [written.container.field]: written.container.id,
        version: { createdAt: iso(written.createdAt), message: '', number: written.version, minorEdit: false, authorId: written.authorId },
        body: format === 'storage' ? { storage: { representation: 'storage', value: written.storage } } : {},
        _links: { webui: `${commentLinks(site, writesOf(site).comments, written)}?focusedCommentId=${id}#comment-${id}` }
      },
      objects: { core: 1 }
    }
  }
  for (const comments of [site.comments, site.attachmentComments]) {
    const k = comments.index(id)
    if (k === -1) continue
    if (comments.status[k] !== 0 || !ctx.reader().canRead(comments.container[k])) return v2Error(404)
    return { status: 200, body: v2FooterComment(site, k, format, comments), objects: { core: 1 } }
  }
  return v2Error(404)
}

function commentLinks (site: SiteData, comments: Map<string, WrittenComment>, c: WrittenComment): string {
  let k: WrittenComment | undefined = c
  for (let i = 0; k !== undefined && k.container.field === 'parentCommentId' && i < 100; i++) k = comments.get(k.container.id)
  if (k === undefined) return ''
  if (k.container.field === 'parentCommentId') return ''
  const d = writesOf(site).doc(k.container.id)
  return d !== undefined ? webuiOf(site, d) : ''
}

// ---- labels (v1) ----

const LABEL_NAME = /^[^\s:;,.?&!#()[\]{}<>*@^%|\\/"'`~=+]{1,255}$/

function labelArray (ctx: OpContext, d: WrittenDoc): Record<string, unknown> {
  return {
    results: d.labels.map((name) => ({ prefix: 'global', name, id: String(hash32(0, name.length, name.charCodeAt(0)) + name.length), label: name })),
    start: 0,
    limit: 200,
    size: d.labels.length,
    _links: { self: `${ctx.site.base}/rest/api/content/${d.id}/label`, base: ctx.site.base, context: '/wiki' }
  }
}

const addLabelsToContent: OpHandler = (ctx) => {
  const writes = writesOf(ctx.site)
  const d = readableDoc(ctx, String(ctx.path.id), undefined, true)
  if (!d || d.status === 'trashed') return v1Error(404, `No content with id ${String(ctx.path.id)} found`)
  if (!mayEdit(ctx, d)) return v1Error(403, 'You do not have permission to edit labels of this content')
  const given = Array.isArray(ctx.body) ? ctx.body : [ctx.body]
  const names: string[] = []
  for (const l of given) {
    const name = String(l?.name ?? '').toLowerCase()
    if (!['global', 'my', 'team'].includes(String(l?.prefix))) return v1Error(400, `Unknown label prefix ${String(l?.prefix)}`)
    if (!LABEL_NAME.test(name)) return v1Error(400, `Invalid label name '${name}'`)
    names.push(name)
  }
  writes.changed({ ...d, labels: [...new Set([...d.labels, ...names])] })
  return { status: 200, body: labelArray(ctx, writes.doc(d.id) as WrittenDoc), objects: { core: 1 } }
}

function removeLabel (from: 'query' | 'path'): OpHandler {
  return (ctx) => {
    const writes = writesOf(ctx.site)
    const d = readableDoc(ctx, String(ctx.path.id), undefined, true)
    if (!d || d.status === 'trashed') return v1Error(404, `No content with id ${String(ctx.path.id)} found`)
    if (!mayEdit(ctx, d)) return v1Error(403, 'You do not have permission to edit labels of this content')
    const name = String(from === 'query' ? ctx.query.name : ctx.path.label).toLowerCase()
    writes.changed({ ...d, labels: d.labels.filter((l) => l !== name) })
    return { status: 204 }
  }
}

export const contentWriteHandlers: Record<string, OpHandler> = {
  createPage: create('page'),
  updatePage: update('page'),
  deletePage: remove('page'),
  createBlogPost: create('blogpost'),
  updateBlogPost: update('blogpost'),
  deleteBlogPost: remove('blogpost'),
  createFooterComment,
  getFooterCommentById,
  addLabelsToContent,
  removeLabelFromContentUsingQueryParameter: removeLabel('query'),
  removeLabelFromContent: removeLabel('path')
}
