// Content writes: pages and blog posts (create, update, delete), footer comments, labels. What a request
// template cannot say, and why each rule is here:
// - Managed spaces: a write goes only into a space of the alias's managed spaces (403 SPACE_NOT_MANAGED).
//   A create names its space, so it is refused before any request; an update, delete, comment or label first
//   reads its target (a GET) to learn the space, and is refused before any write.
// - Versions: an update names the version it read (`expectedVersion`); another current version is 409
//   VERSION_CONFLICT with the current version and who made it. Without it the spoke reads the current version
//   and says so in meta.write. Confluence's own 409 (an edit between our read and our write) is a
//   VERSION_CONFLICT too: never a silent overwrite.
// - Titles: a page title is unique in its space. A create whose title is taken answers TITLE_TAKEN with the
//   existing page's id, or returns it, or updates it (`ifExists`).
// - dryRun: the exact request that would be sent, checked against the official spec; no write is sent (a
//   create sends nothing at all; the others make only the read their checks need).
// - Jobs: a create records its intent before the POST and the id after, so a run resumed after a crash
//   takes the page it created itself instead of creating another or failing on its own title.
import { UpstreamInvalidError, TitleTakenError, VersionConflictError } from '../../errors/errors'
import { writeBody, type BodyInput, type WriteBody } from '../../content/body'
import { assertSpaceManaged } from '../../content/managed-spaces'
import { checked, preview, type WriteRequest } from '../../content/write-request'
import type { ConfluenceResponse, ConfluenceSite } from '../../confluence/types'
import type { HandlerContext, HandlerModule } from './types'

type Kind = 'page' | 'blogpost'
const V2 = '/wiki/api/v2'
const COLLECTION: Record<Kind, string> = { page: 'pages', blogpost: 'blogposts' }
const OPS = {
  page: { create: 'createPage', update: 'updatePage', delete: 'deletePage' },
  blogpost: { create: 'createBlogPost', update: 'updateBlogPost', delete: 'deleteBlogPost' }
} as const

/** A page or blog post as v2 answers (every field optional in the spec). */
interface Content {
  id?: string | number
  status?: string
  title?: string
  spaceId?: string | number
  parentId?: string | number
  version?: { number?: number, authorId?: string, createdAt?: string }
  body?: { storage?: { value?: string } }
  labels?: { results?: Array<{ name?: string }> }
  _links?: { webui?: string, base?: string }
}

const str = (v: unknown): string | undefined => typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined

function siteUrl (site: ConfluenceSite, webui: string | undefined): string | undefined {
  if (webui === undefined || !webui.startsWith('/')) return undefined
  try { return new URL(`/wiki${webui}`, site.url).href } catch { return undefined }
}

/** The output fields of a written page or blog post (only what Confluence returned). */
async function contentOutput (ctx: HandlerContext, c: Content): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  if (str(c.id) !== undefined) out.id = str(c.id)
  if (typeof c.title === 'string') out.title = c.title
  if (str(c.spaceId) !== undefined) out.spaceId = str(c.spaceId)
  if (typeof c.status === 'string') out.status = c.status
  if (typeof c.version?.number === 'number') out.version = c.version.number
  const url = c._links?.webui !== undefined ? siteUrl(await ctx.site(), c._links.webui) : undefined
  if (url !== undefined) out.url = url
  return out
}

async function readContent (ctx: HandlerContext, kind: Kind, id: string, query: Record<string, string | boolean> = {}): Promise<Content> {
  const res = await ctx.call({ method: 'GET', path: `${V2}/${COLLECTION[kind]}/${encodeURIComponent(id)}`, query, operation: kind === 'page' ? 'getPageById' : 'getBlogPostById' })
  const c = res.body as Content | null
  if (c === null || typeof c !== 'object') throw new UpstreamInvalidError(`Confluence answered the ${kind} read without a ${kind}`, { retryable: false })
  return c
}

/** Read the target, then refuse it unless its space is managed: before any write. */
async function managedTarget (ctx: HandlerContext, kind: Kind, id: string, query: Record<string, string | boolean> = {}): Promise<Content & { spaceId: string }> {
  const c = await readContent(ctx, kind, id, query)
  const spaceId = str(c.spaceId)
  assertSpaceManaged(ctx.connection, spaceId)
  return { ...c, spaceId: spaceId as string }
}

function send (ctx: HandlerContext, req: WriteRequest, okStatuses?: number[]): Promise<ConfluenceResponse> {
  return ctx.call(checked(req), okStatuses !== undefined ? { okStatuses } : undefined)
}

// ---- create ----

interface CreateInput {
  spaceId: string
  title: string
  parentId?: string
  body: BodyInput
  status?: 'current' | 'draft'
  ifExists?: 'fail' | 'return' | 'update'
  dryRun?: boolean
}

function createRequest (kind: Kind, input: CreateInput, body: WriteBody): WriteRequest {
  return {
    operation: OPS[kind].create,
    method: 'POST',
    path: `${V2}/${COLLECTION[kind]}`,
    body: {
      spaceId: input.spaceId,
      status: input.status ?? 'current',
      title: input.title,
      ...(kind === 'page' && input.parentId !== undefined ? { parentId: input.parentId } : {}),
      body
    }
  }
}

/** The current page (or blog post) of the space with this title, if any (v2 getPages / getBlogPosts by space and title). */
async function pageTitled (ctx: HandlerContext, spaceId: string, title: string, kind: Kind = 'page'): Promise<Content | undefined> {
  const res = await ctx.call({ method: 'GET', path: `${V2}/${COLLECTION[kind]}`, query: { 'space-id': spaceId, title, status: 'current', limit: 1 }, operation: kind === 'page' ? 'getPages' : 'getBlogPosts' })
  const first = (res.body as { results?: Content[] } | null)?.results?.[0]
  return first !== null && typeof first === 'object' ? first : undefined
}

async function createContent (ctx: HandlerContext, kind: Kind): Promise<unknown> {
  const input = ctx.input as unknown as CreateInput
  assertSpaceManaged(ctx.connection, input.spaceId)
  const body = writeBody(input.body)
  const req = createRequest(kind, input, body)
  if (input.dryRun === true) return { dryRun: true, request: preview(req) }

  const resumed = ctx.job !== undefined ? (await ctx.job.checkpoint.load()).get('create') : undefined
  if (resumed !== undefined && resumed !== 'pending') {
    // This job created it before a crash: answer with it, create nothing.
    return await finishCreate(ctx, kind, input, await readContent(ctx, kind, resumed), 'created')
  }
  if (resumed === 'pending' && kind === 'blogpost') {
    // Blog post titles need not be unique, so Confluence would take a second one: look for ours first.
    const mine = await pageTitled(ctx, input.spaceId, input.title, 'blogpost')
    if (mine !== undefined) return await finishCreate(ctx, kind, input, mine, 'created')
  }
  await ctx.job?.checkpoint.save('create', 'pending')
  const res = await send(ctx, req, kind === 'page' ? [400] : undefined)
  if (res.status === 400) {
    // Confluence refuses a taken title with a 400; any other 400 is passed on as it came.
    const existing = await pageTitled(ctx, input.spaceId, input.title)
    if (existing === undefined) throw new UpstreamInvalidError(`Confluence answered 400 to POST ${req.path}: ${upstreamText(res.body)}`)
    const existingId = str(existing.id) as string
    // A resumed job whose POST went through before the crash: the page is its own.
    if (resumed === 'pending') return await finishCreate(ctx, kind, input, existing, 'created')
    const ifExists = input.ifExists ?? 'fail'
    if (ifExists === 'fail') {
      throw new TitleTakenError(`Space ${input.spaceId} already has a page titled "${input.title}" (id ${existingId}); use ifExists "return" or "update" to reuse it`,
        { errors: [{ existingId, spaceId: input.spaceId, title: input.title }] })
    }
    if (ifExists === 'return') return await finishCreate(ctx, kind, input, existing, 'existing')
    const updated = await updateContent(ctx, kind, { pageId: existingId, title: input.title, body: input.body, status: input.status ?? 'current' }, 'existing')
    return { ...(updated as Record<string, unknown>), result: 'updated' }
  }
  return await finishCreate(ctx, kind, input, res.body as Content, 'created')
}

async function finishCreate (ctx: HandlerContext, kind: Kind, input: CreateInput, c: Content, result: 'created' | 'existing'): Promise<unknown> {
  const id = str(c.id)
  if (id !== undefined) await ctx.job?.checkpoint.save('create', id)
  if (result === 'created') ctx.audit?.(`${kind} created`, { space: input.spaceId, contentId: id ?? null })
  return { ...(await contentOutput(ctx, c)), result, dryRun: false }
}

function upstreamText (body: unknown): string {
  const b = body as { errors?: Array<{ title?: string, detail?: string }>, message?: string } | null
  return b?.errors?.[0]?.detail ?? b?.errors?.[0]?.title ?? b?.message ?? ''
}

// ---- update ----

interface UpdateInput {
  pageId?: string
  blogPostId?: string
  title?: string
  body?: BodyInput
  status?: 'current' | 'draft'
  parentId?: string
  expectedVersion?: number
  versionMessage?: string
  dryRun?: boolean
}

function conflict (id: string, c: Content, expected?: number): InstanceType<typeof VersionConflictError> {
  const current = c.version?.number
  const by = c.version?.authorId
  return new VersionConflictError(
    `Content ${id} is at version ${current ?? 'unknown'}${by !== undefined ? `, last changed by ${by}` : ''}${c.version?.createdAt !== undefined ? ` at ${c.version.createdAt}` : ''}` +
    `${expected !== undefined ? `; the update expected version ${expected}` : '; it changed while the update was sent'}. Read it again and update with the current version.`,
    { errors: [{ contentId: id, currentVersion: current ?? null, changedBy: by ?? null, changedAt: c.version?.createdAt ?? null, ...(expected !== undefined ? { expectedVersion: expected } : {}) }] })
}

async function updateContent (ctx: HandlerContext, kind: Kind, input: UpdateInput, versionFrom?: 'existing'): Promise<unknown> {
  const id = (kind === 'page' ? input.pageId : input.blogPostId) as string
  // The current body is needed only when the update keeps it (the spec requires a body on every update).
  const current = await managedTarget(ctx, kind, id, input.body === undefined ? { 'body-format': 'storage' } : {})
  const base = current.version?.number
  if (typeof base !== 'number') throw new UpstreamInvalidError(`Confluence answered the ${kind} read without a version number`, { retryable: false })
  if (input.expectedVersion !== undefined && input.expectedVersion !== base) throw conflict(id, current, input.expectedVersion)
  const meta = { versionFrom: input.expectedVersion !== undefined ? 'expectedVersion' : versionFrom === 'existing' ? 'read (ifExists: update)' : 'read', baseVersion: base }
  ctx.setWriteMeta?.(meta)

  const body: WriteBody = input.body !== undefined
    ? writeBody(input.body)
    : { representation: 'storage', value: current.body?.storage?.value ?? '' }
  const status = input.status ?? (current.status === 'draft' ? 'draft' : 'current')
  const req: WriteRequest = {
    operation: OPS[kind].update,
    method: 'PUT',
    path: `${V2}/${COLLECTION[kind]}/${encodeURIComponent(id)}`,
    body: {
      id,
      status,
      title: input.title ?? current.title ?? '',
      ...(kind === 'page' && input.parentId !== undefined ? { parentId: input.parentId } : {}),
      body,
      version: { number: status === 'draft' && current.status === 'current' ? 1 : base + 1, ...(input.versionMessage !== undefined ? { message: input.versionMessage } : {}) }
    }
  }
  if (input.dryRun === true) return { dryRun: true, id, spaceId: current.spaceId, version: base, request: preview(req) }
  const res = await send(ctx, req, [409])
  if (res.status === 409) {
    // Someone edited it between our read and our write: say who, change nothing.
    throw conflict(id, await readContent(ctx, kind, id), input.expectedVersion)
  }
  ctx.audit?.(`${kind} updated`, { space: current.spaceId, contentId: id, version: (res.body as Content | null)?.version?.number ?? base + 1 })
  return { ...(await contentOutput(ctx, res.body as Content)), result: 'updated', dryRun: false }
}

// ---- delete ----

async function deleteContent (ctx: HandlerContext, kind: Kind): Promise<unknown> {
  const input = ctx.input as { pageId?: string, blogPostId?: string, purge?: boolean, dryRun?: boolean }
  const id = (kind === 'page' ? input.pageId : input.blogPostId) as string
  const current = await managedTarget(ctx, kind, id)
  const purge = input.purge === true
  const path = `${V2}/${COLLECTION[kind]}/${encodeURIComponent(id)}`
  const steps: WriteRequest[] = []
  if (current.status !== 'trashed') steps.push({ operation: OPS[kind].delete, method: 'DELETE', path })
  if (purge) steps.push({ operation: OPS[kind].delete, method: 'DELETE', path, query: { purge: true } })
  const outcome = purge ? 'purged' : 'trashed'
  if (input.dryRun === true) return { id, spaceId: current.spaceId, status: outcome, changed: steps.length > 0, dryRun: true, requests: steps.map(preview) }
  for (const step of steps) {
    // A retried DELETE that Confluence already applied answers 404: the goal is met.
    await send(ctx, step, [404])
  }
  if (steps.length > 0) ctx.audit?.(`${kind} ${outcome}`, { space: current.spaceId, contentId: id })
  return { id, spaceId: current.spaceId, status: outcome, changed: steps.length > 0, dryRun: false }
}

// ---- comments ----

const COMMENT_TARGETS = ['pageId', 'blogPostId', 'attachmentId', 'parentCommentId'] as const

/** The space of a comment's target, walking a reply up to its root and an attachment to its container. */
async function commentSpace (ctx: HandlerContext, field: typeof COMMENT_TARGETS[number], id: string): Promise<string | undefined> {
  let f: string = field
  let target = id
  for (let hops = 0; hops < 32; hops++) {
    if (f === 'pageId') return str((await readContent(ctx, 'page', target)).spaceId)
    if (f === 'blogPostId') return str((await readContent(ctx, 'blogpost', target)).spaceId)
    const path = f === 'attachmentId' ? `${V2}/attachments/${encodeURIComponent(target)}` : `${V2}/footer-comments/${encodeURIComponent(target)}`
    const res = await ctx.call({ method: 'GET', path, operation: f === 'attachmentId' ? 'getAttachmentById' : 'getFooterCommentById' })
    const b = (res.body ?? {}) as Record<string, unknown>
    const next = (['pageId', 'blogPostId', 'attachmentId', 'parentCommentId'] as const).find(k => str(b[k]) !== undefined && !(f === 'attachmentId' && k === 'attachmentId'))
    if (next === undefined) return undefined
    f = next
    target = str(b[next]) as string
  }
  return undefined
}

async function createComment (ctx: HandlerContext): Promise<unknown> {
  const input = ctx.input as Record<string, unknown> & { body: BodyInput, dryRun?: boolean }
  const field = COMMENT_TARGETS.find(k => input[k] !== undefined) as typeof COMMENT_TARGETS[number]
  const target = String(input[field])
  const spaceId = await commentSpace(ctx, field, target)
  assertSpaceManaged(ctx.connection, spaceId)
  const req: WriteRequest = { operation: 'createFooterComment', method: 'POST', path: `${V2}/footer-comments`, body: { [field]: target, body: writeBody(input.body) } }
  if (input.dryRun === true) return { dryRun: true, spaceId, request: preview(req) }
  const res = await send(ctx, req)
  const c = (res.body ?? {}) as Record<string, unknown> & { version?: { number?: number }, _links?: { webui?: string } }
  const id = str(c.id)
  ctx.audit?.('comment created', { space: spaceId, contentId: id ?? null, on: { [field]: target } })
  const out: Record<string, unknown> = { dryRun: false, spaceId }
  if (id !== undefined) out.id = id
  for (const k of COMMENT_TARGETS) if (str(c[k]) !== undefined) out[k] = str(c[k])
  if (typeof c.version?.number === 'number') out.version = c.version.number
  const url = siteUrl(await ctx.site(), c._links?.webui)
  if (url !== undefined) out.url = url
  return out
}

// ---- labels ----

export interface LabelChange { contentId: string, kind: Kind, add: string[], remove: string[], dryRun: boolean }
export interface LabelOutcome { spaceId: string, added: string[], removed: string[], labels: string[], changed: boolean, requests: WriteRequest[] }

/**
 * One content's labels brought to `add` / `remove` (shared with the relabel job): one read (which also checks
 * the managed space), then only the writes that change something, so a repeat (a retry, a resumed job) adds
 * and removes nothing twice.
 */
export async function changeContentLabels (ctx: HandlerContext, change: LabelChange): Promise<LabelOutcome> {
  const current = await managedTarget(ctx, change.kind, change.contentId, { 'include-labels': true })
  const had = new Set((current.labels?.results ?? []).map(l => typeof l?.name === 'string' ? l.name : '').filter(n => n !== ''))
  const added = [...new Set(change.add.map(l => l.toLowerCase()))].filter(l => !had.has(l))
  const removed = [...new Set(change.remove.map(l => l.toLowerCase()))].filter(l => had.has(l))
  const path = `/wiki/rest/api/content/${encodeURIComponent(change.contentId)}/label`
  const requests: WriteRequest[] = [
    ...(added.length > 0 ? [{ operation: 'addLabelsToContent' as const, method: 'POST' as const, path, body: added.map(name => ({ prefix: 'global', name })) }] : []),
    ...removed.map(name => ({ operation: 'removeLabelFromContentUsingQueryParameter' as const, method: 'DELETE' as const, path, query: { name } }))
  ]
  const labels = [...had, ...added].filter(l => !removed.includes(l)).sort()
  const outcome = { spaceId: current.spaceId, added, removed, labels, changed: requests.length > 0, requests }
  if (change.dryRun) return outcome
  for (const r of requests) await send(ctx, r)
  if (added.length > 0) ctx.audit?.('labels added', { space: current.spaceId, contentId: change.contentId, labels: added })
  if (removed.length > 0) ctx.audit?.('labels removed', { space: current.spaceId, contentId: change.contentId, labels: removed })
  return outcome
}

async function changeLabels (ctx: HandlerContext, op: 'add' | 'remove'): Promise<unknown> {
  const input = ctx.input as { contentId: string, contentType?: Kind, labels: string[], dryRun?: boolean }
  const dryRun = input.dryRun === true
  const o = await changeContentLabels(ctx, { contentId: input.contentId, kind: input.contentType ?? 'page', add: op === 'add' ? input.labels : [], remove: op === 'remove' ? input.labels : [], dryRun })
  const out = { contentId: input.contentId, spaceId: o.spaceId, [op === 'add' ? 'added' : 'removed']: op === 'add' ? o.added : o.removed, labels: o.labels, changed: o.changed }
  return dryRun ? { ...out, dryRun: true, requests: o.requests.map(preview) } : { ...out, dryRun: false }
}

// ---- the handler modules ----

const KIND_PARAMS = { type: 'object', additionalProperties: false, required: ['kind'], properties: { kind: { enum: ['page', 'blogpost'] } } }

export const contentCreate: HandlerModule = {
  params: KIND_PARAMS,
  precheck: (ctx) => { assertSpaceManaged(ctx.connection, (ctx.input as { spaceId?: string }).spaceId) },
  run: async (ctx) => await createContent(ctx, ctx.params.kind as Kind)
}

export const contentUpdate: HandlerModule = {
  params: KIND_PARAMS,
  run: async (ctx) => await updateContent(ctx, ctx.params.kind as Kind, ctx.input as UpdateInput)
}

export const contentDelete: HandlerModule = {
  params: KIND_PARAMS,
  run: async (ctx) => await deleteContent(ctx, ctx.params.kind as Kind)
}

export const commentCreate: HandlerModule = {
  params: { type: 'object', additionalProperties: false },
  run: createComment
}

export const labelChange: HandlerModule = {
  params: { type: 'object', additionalProperties: false, required: ['op'], properties: { op: { enum: ['add', 'remove'] } } },
  run: async (ctx) => await changeLabels(ctx, ctx.params.op as 'add' | 'remove')
}
