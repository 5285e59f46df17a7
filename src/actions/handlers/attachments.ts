// confluence.attachment.upload and .download (docs/actions.md#files).
// Upload: a write, so confined to the alias's managed spaces (403 SPACE_NOT_MANAGED before any request);
// the file comes from the caller's multipart part (spooled to disk by the route) or from `dataBase64` (small
// files); the container is read first to check it is in the space named, then the file goes to Confluence's
// v1 multipart operation: PUT (createOrUpdateAttachments: a new version when the name exists) or, with
// ifExists "fail", POST (createAttachment: Confluence refuses a taken name). dryRun answers the request that
// would be sent and sends nothing.
// Download: v2 GET attachment (name, type, size, container), then the v1 download, whose redirect to the
// media host the client follows; the bytes go to the caller unread (Accept: application/octet-stream) or,
// up to SPOKE_ATTACHMENT_JSON_MAX_BYTES, as base64 in the JSON output.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  AttachmentTooLargeError, AttachmentTooLargeForJsonError, InputInvalidError, SpaceNotManagedError, UpstreamInvalidError
} from '../../errors/errors'
import type { ConfluenceRequest } from '../../confluence/types'
import { MultipartUpload, type FilePart, type FileSource, type TextPart } from '../../confluence/multipart'
import { encodeInputComponent } from '../../lib/uri'
import { wikiUrl } from '../template'
import { DEFAULT_FILE_LIMITS, StreamedFile } from '../file-transfer'
import type { HandlerContext, HandlerModule } from './types'
import { assertSpaceManaged } from '../../content/managed-spaces'

const NO_PARAMS = { type: 'object', additionalProperties: false }

interface UploadInput {
  spaceId: string
  containerId: string
  containerType?: 'page' | 'blogpost'
  filename?: string
  mediaType?: string
  comment?: string
  minorEdit?: boolean
  ifExists?: 'newVersion' | 'fail'
  dataBase64?: string
  dryRun?: boolean
}

/** Decoded size of a base64 text, without decoding it. */
function base64Bytes (text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  return Math.floor(text.length * 3 / 4) - padding
}

/** The file part and where its bytes are: the caller's spooled multipart file, or the decoded base64. */
function fileOf (ctx: HandlerContext, input: UploadInput): { part: FilePart, source: FileSource } {
  const limits = ctx.services?.files ?? DEFAULT_FILE_LIMITS
  const spooled = ctx.transfer?.file
  if (spooled !== undefined && input.dataBase64 !== undefined) {
    throw new InputInvalidError('Send the file once: as the multipart "file" part or as dataBase64, not both', { errors: [{ path: '/dataBase64', message: 'not with a file part', keyword: 'file', params: {} }] })
  }
  if (spooled !== undefined) {
    return {
      part: { name: 'file', filename: input.filename ?? spooled.filename, contentType: input.mediaType ?? spooled.mediaType, size: spooled.size, sha256: spooled.sha256 },
      source: { path: spooled.path }
    }
  }
  if (input.dataBase64 === undefined) {
    throw new InputInvalidError('No file: send it as the multipart "file" part, or as dataBase64', { errors: [{ path: '/dataBase64', message: 'required without a file part', keyword: 'required', params: {} }] })
  }
  if (base64Bytes(input.dataBase64) > limits.jsonMaxBytes) {
    throw new AttachmentTooLargeError(`dataBase64 holds more than ${limits.jsonMaxBytes} bytes (SPOKE_ATTACHMENT_JSON_MAX_BYTES): send the file as multipart/form-data`)
  }
  if (input.filename === undefined) {
    throw new InputInvalidError('filename is required with dataBase64', { errors: [{ path: '/filename', message: 'required with dataBase64', keyword: 'required', params: {} }] })
  }
  const bytes = Buffer.from(input.dataBase64, 'base64')
  return {
    part: { name: 'file', filename: input.filename, contentType: input.mediaType ?? 'application/octet-stream', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    source: { bytes }
  }
}

/** The parts of a v1 attachment the output uses; the spec types few of them, so each is checked. */
interface V1Attachment {
  id?: unknown
  title?: unknown
  version?: { number?: unknown }
  extensions?: { mediaType?: unknown, fileSize?: unknown }
  metadata?: { mediaType?: unknown }
  _links?: { webui?: unknown }
}

async function upload (ctx: HandlerContext): Promise<unknown> {
  const input = ctx.input as unknown as UploadInput
  assertSpaceManaged(ctx.connection, input.spaceId)
  const { part, source } = fileOf(ctx, input)
  const text: TextPart[] = [{ name: 'minorEdit', value: String(input.minorEdit ?? true) }]
  if (input.comment !== undefined && input.comment !== '') text.push({ name: 'comment', value: input.comment })
  const body = new MultipartUpload(part, source, text)
  const containerType = input.containerType ?? 'page'
  const request: ConfluenceRequest = {
    method: input.ifExists === 'fail' ? 'POST' : 'PUT',
    path: `/wiki/rest/api/content/${encodeInputComponent(input.containerId)}/child/attachment`,
    // Confluence refuses multipart writes without it (its XSRF check)
    headers: { 'x-atlassian-token': 'no-check' },
    body
  }
  if (input.dryRun === true) {
    return { dryRun: true, request: { method: request.method, path: request.path, headers: request.headers, multipart: body.multipart } }
  }

  // The managed-space check covers the space the caller named; this covers the container being in it.
  const containerPath = `/wiki/api/v2/${containerType === 'page' ? 'pages' : 'blogposts'}/${encodeInputComponent(input.containerId)}`
  const container = await ctx.call({ method: 'GET', path: containerPath })
  const actualSpace = (container.body as { spaceId?: unknown } | null)?.spaceId
  if (String(actualSpace) !== input.spaceId) {
    throw new SpaceNotManagedError(`The ${containerType} ${input.containerId} is in space ${String(actualSpace)}, not in space ${input.spaceId}`)
  }

  const res = await ctx.call(request)
  const result = ((res.body as { results?: unknown } | null)?.results as V1Attachment[] | undefined)?.[0]
  if (typeof result?.id !== 'string') throw new UpstreamInvalidError('Confluence answered the upload without the attachment', { retryable: false })
  const site = (await ctx.site()).url
  // What the spec leaves optional falls back to what was sent.
  const out: Record<string, unknown> = {
    dryRun: false,
    attachmentId: result.id,
    title: str(result.title) ?? part.filename,
    version: int(result.version?.number) ?? 1,
    mediaType: str(result.extensions?.mediaType) ?? str(result.metadata?.mediaType) ?? part.contentType,
    fileSize: int(result.extensions?.fileSize) ?? part.size,
    sha256: part.sha256,
    containerId: input.containerId,
    containerType,
    spaceId: input.spaceId
  }
  const url = wikiUrl(str(result._links?.webui), site)
  if (url !== undefined) out.url = url
  return out
}

const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
const int = (v: unknown): number | undefined => Number.isSafeInteger(v) ? v as number : undefined

interface V2Attachment { id?: unknown, title?: unknown, mediaType?: unknown, fileSize?: unknown, pageId?: unknown, blogPostId?: unknown, version?: { number?: unknown } }

async function download (ctx: HandlerContext): Promise<unknown> {
  const input = ctx.input as { attachmentId: string, version?: number }
  const limits = ctx.services?.files ?? DEFAULT_FILE_LIMITS
  const id = input.attachmentId.startsWith('att') ? input.attachmentId : `att${input.attachmentId}`
  const query = input.version === undefined ? undefined : { version: input.version }
  const meta = (await ctx.call({ method: 'GET', path: `/wiki/api/v2/attachments/${encodeInputComponent(id)}`, query })).body as V2Attachment | null
  const containerId = str(meta?.pageId) ?? str(meta?.blogPostId)
  if (meta === null || containerId === undefined) throw new UpstreamInvalidError('Confluence answered the attachment without its page or blog post', { retryable: false })
  const binary = ctx.transfer?.binary === true
  if (!binary && (int(meta.fileSize) ?? 0) > limits.jsonMaxBytes) {
    throw new AttachmentTooLargeForJsonError(`The attachment has ${meta.fileSize} bytes, more than ${limits.jsonMaxBytes} (SPOKE_ATTACHMENT_JSON_MAX_BYTES) in JSON: ask with Accept: application/octet-stream to get the bytes streamed`)
  }
  const res = await ctx.call({
    method: 'GET',
    path: `/wiki/rest/api/content/${encodeInputComponent(containerId)}/child/attachment/${encodeInputComponent(id)}/download`,
    query,
    headers: { accept: '*/*' },
    download: true
  })
  const stream = asStream(res.body)
  const mediaType = res.headers['content-type'] ?? str(meta.mediaType) ?? 'application/octet-stream'
  if (binary) {
    const headers: StreamedFile['headers'] = { 'content-type': mediaType }
    if (res.headers['content-disposition'] !== undefined) headers['content-disposition'] = res.headers['content-disposition']
    if (res.headers['content-length'] !== undefined) headers['content-length'] = res.headers['content-length']
    return new StreamedFile(stream, headers)
  }
  const bytes = await readAtMost(stream, limits.jsonMaxBytes)
  if (bytes === undefined) throw new AttachmentTooLargeForJsonError(`The attachment is larger than ${limits.jsonMaxBytes} bytes (SPOKE_ATTACHMENT_JSON_MAX_BYTES) in JSON: ask with Accept: application/octet-stream`)
  return {
    attachmentId: str(meta.id) ?? id,
    title: str(meta.title) ?? '',
    mediaType,
    fileSize: bytes.length,
    version: int(meta.version?.number) ?? input.version ?? 1,
    containerId,
    containerType: str(meta.pageId) !== undefined ? 'page' : 'blogpost',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    dataBase64: bytes.toString('base64')
  }
}

/** The client hands a download's body back unread; a canned answer (the action cases) may be text. */
function asStream (body: unknown): Readable {
  if (body instanceof Readable) return body
  if (typeof body === 'string' || Buffer.isBuffer(body)) return Readable.from([Buffer.from(body)])
  if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) return Readable.from(body as AsyncIterable<Buffer>)
  return Readable.from([])
}

/** The whole body when it has at most `max` bytes; undefined (and the stream destroyed) past that. */
async function readAtMost (stream: Readable, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += (chunk as Buffer).length
    if (size > max) { stream.destroy(); return undefined }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export const attachmentUpload: HandlerModule = {
  params: NO_PARAMS,
  precheck: (ctx) => { assertSpaceManaged(ctx.connection, (ctx.input as { spaceId: string }).spaceId) },
  run: upload
}

export const attachmentDownload: HandlerModule = { params: NO_PARAMS, run: download }
