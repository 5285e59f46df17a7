// Files through the execute route (docs/actions.md#files): a multipart/form-data execute request is read
// part by part (@fastify/multipart); its `file` part is spooled to a temporary file as it arrives (hashed on
// the way, cut off at SPOKE_ATTACHMENT_MAX_BYTES), never held whole in memory. Spooling rather than piping
// the caller's socket straight to Confluence is what lets the upload wait for the site's rate budget, be
// retried (a 429, a renewed token: the file is read again), and carry an Idempotency-Key whose fingerprint
// covers the file's bytes. A download the caller accepts as application/octet-stream comes back from the
// engine as a StreamedFile, piped to the caller with Confluence's content headers.
import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Multipart } from '@fastify/multipart'
import { AppError } from '../errors/app-error'
import { AttachmentTooLargeError, RequestInvalidError } from '../errors/errors'

/** A file received from the caller, on local disk until the run ends. */
export interface SpooledFile { path: string, filename: string, mediaType: string, size: number, sha256: string }

/** What a run carries besides its JSON input: the caller's file, and whether the caller takes raw bytes back. */
export interface Transfer { file?: SpooledFile, binary?: boolean }

/** Limits of file transfers (config: SPOKE_ATTACHMENT_MAX_BYTES, SPOKE_ATTACHMENT_JSON_MAX_BYTES). */
export interface FileLimits { maxBytes: number, jsonMaxBytes: number }
export const DEFAULT_FILE_LIMITS: FileLimits = { maxBytes: 100 * 1024 * 1024, jsonMaxBytes: 1024 * 1024 }

/** A download's bytes for the caller, unread: the route pipes them out with these headers. */
export class StreamedFile {
  constructor (readonly stream: Readable, readonly headers: { 'content-type': string, 'content-disposition'?: string, 'content-length'?: string }) {}
}

/** Text parts an execute request may send with its file: the envelope's fields, `input` as JSON. */
const ENVELOPE_PARTS = new Set(['input', 'connection', 'mode', 'callbackUrl'])
const SPOOL_DIR = join(tmpdir(), 'confluence-spoke-uploads')

/** The caller wants raw bytes: `Accept` names application/octet-stream (before or without JSON). */
export function acceptsBinary (req: FastifyRequest): boolean {
  const accept = req.headers.accept
  return typeof accept === 'string' && /(^|,)\s*application\/octet-stream\s*(;|,|$)/i.test(accept)
}

/**
 * Reads a multipart execute request: `input` (a JSON object), `connection`, `mode`, `callbackUrl`, and one
 * `file` part. The file goes to disk as it arrives; over `maxBytes` answers 413 ATTACHMENT_TOO_LARGE (the
 * part already written is removed).
 */
export async function receiveMultipart (req: FastifyRequest, limits: FileLimits): Promise<{ body: Record<string, unknown>, file?: SpooledFile }> {
  const body: Record<string, unknown> = {}
  let file: SpooledFile | undefined
  try {
    for await (const part of req.parts({ limits: { fileSize: limits.maxBytes, files: 1, fields: 8, fieldSize: 1024 * 1024 } }) as AsyncIterable<Multipart>) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') { part.file.resume(); throw new RequestInvalidError(`Unexpected file part "${part.fieldname}": send the file as the part named "file"`) }
        file = await spool(part.file, part.filename, part.mimetype)
        continue
      }
      if (!ENVELOPE_PARTS.has(part.fieldname)) throw new RequestInvalidError(`Unexpected part "${part.fieldname}" (expected input, connection, mode, callbackUrl and file)`)
      // (a part sent as application/json arrives parsed already)
      const value: unknown = part.value
      if (part.fieldname === 'input' && typeof value === 'string') {
        try { body.input = JSON.parse(value) } catch { throw new RequestInvalidError('The "input" part is not valid JSON', { errors: [{ in: 'body', path: '/input', message: 'not valid JSON' }] }) }
      } else {
        body[part.fieldname] = value
      }
    }
  } catch (err) {
    if (file !== undefined) await removeSpooled(file)
    const code = (err as { code?: string }).code
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new AttachmentTooLargeError(`The file is larger than ${limits.maxBytes} bytes (SPOKE_ATTACHMENT_MAX_BYTES)`)
    if (code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') throw new RequestInvalidError('Send one file part and at most the envelope\'s fields')
    if (err instanceof AppError || /^E[A-Z]+$/.test(code ?? '')) throw err // ours, or the disk's (ENOSPC…): not the caller's fault
    // busboy's and the plugin's complaints (no boundary, a body cut short, …): the body is malformed
    throw new RequestInvalidError(`The multipart body cannot be read: ${(err as Error).message}`)
  }
  return { body, file }
}

async function spool (stream: Readable, filename: string, mediaType: string): Promise<SpooledFile> {
  await mkdir(SPOOL_DIR, { recursive: true, mode: 0o700 })
  const path = join(SPOOL_DIR, randomUUID())
  const hash = createHash('sha256')
  let size = 0
  const count = new Transform({
    transform (chunk: Buffer, _enc, done) { size += chunk.length; hash.update(chunk); done(null, chunk) }
  })
  try {
    await pipeline(stream, count, createWriteStream(path, { mode: 0o600 }))
    // @fastify/multipart marks a file cut at the size limit; the pipeline may end cleanly before it throws
    if ((stream as Readable & { truncated?: boolean }).truncated === true) throw Object.assign(new Error('file too large'), { code: 'FST_REQ_FILE_TOO_LARGE' })
  } catch (err) {
    await rm(path, { force: true })
    throw err
  }
  return { path, filename, mediaType: mediaType === '' ? 'application/octet-stream' : mediaType, size, sha256: hash.digest('hex') }
}

export async function removeSpooled (file: SpooledFile): Promise<void> {
  await rm(file.path, { force: true })
}

/** Pipes a StreamedFile to the caller; a caller that hangs up ends the upstream read too. */
export function sendStreamedFile (reply: FastifyReply, file: StreamedFile): FastifyReply {
  for (const [k, v] of Object.entries(file.headers)) if (v !== undefined) reply.header(k, v)
  return reply.code(200).send(file.stream)
}
