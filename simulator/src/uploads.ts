// Attachments uploaded through the API (v1 multipart), their versions, and the download of their bytes.
// A multipart body is parsed as it arrives: text parts are kept, each file part is written to a temporary
// file, so a 50 MB upload never sits in this process's memory. The gateway then checks the parsed body
// against the operation's multipart schema (contract.ts) like any JSON body. Files live under one temporary
// directory per simulator and are removed when it closes.
//
// The download follows Confluence Cloud: the v1 `.../download` operation answers 302 to a short-lived media
// URL carrying its own token (api.media.atlassian.com in production; `/media/file/...` on this simulator's
// host here), which is fetched without the bearer token and streams the bytes with Content-Type,
// Content-Disposition and Content-Length.
import { randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import Busboy from '@fastify/busboy'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { SiteData } from './seed'
import type { SimState } from './state'

/** One file part as received: where its bytes are until an operation keeps them. */
export interface ReceivedFile { field: string, filename: string, mediaType: string, path: string, size: number, kept: boolean }

/** A parsed multipart/form-data body (the gateway validates `specView()` against the operation's schema). */
export class MultipartBody {
  readonly fields: Record<string, string[]> = {}
  readonly files: ReceivedFile[] = []
  /** The X-Atlassian-Token header of the request: Confluence refuses multipart writes without `no-check` (XSRF). */
  constructor (readonly atlassianToken: string | undefined) {}

  field (name: string): string | undefined { return this.fields[name]?.[0] }

  /** The body as the spec's multipart schema sees it: one string per part name (a file's value is its name). */
  specView (): Record<string, string> {
    const view: Record<string, string> = {}
    for (const [name, values] of Object.entries(this.fields)) view[name] = values[0]
    for (const f of this.files) view[f.field] = f.filename
    return view
  }

  /** Removes the temporary files no operation kept (a refused or failed request). */
  dispose (): void {
    for (const f of this.files) if (!f.kept) { try { unlinkSync(f.path) } catch { /* already gone */ } }
  }
}

export interface StoredVersion {
  number: number
  path: string
  size: number
  mediaType: string
  comment: string
  minorEdit: boolean
  createdAt: number
  author: number
}

export interface Upload {
  /** numeric id; Confluence names it `att<id>` */
  id: string
  /** content index of the page or blog post it is attached to */
  container: number
  title: string
  fileId: string
  versions: StoredVersion[]
}

/** Uploaded attachments of one site (seeded attachments stay in SiteData). */
export class SiteUploads {
  private readonly byId = new Map<string, Upload>()
  private readonly byName = new Map<string, Upload>()
  private next = 1

  constructor (private readonly site: SiteData) {}

  /** Ids far above every seeded content, comment and folder id of the site. */
  private newId (): string { return String(7_000_000_000 + this.site.number * 10_000_000 + this.next++) }

  get (id: string): Upload | undefined { return this.byId.get(id.startsWith('att') ? id.slice(3) : id) }
  named (container: number, title: string): Upload | undefined { return this.byName.get(`${container}/${title}`) }
  count (): number { return this.byId.size }

  create (container: number, title: string, version: StoredVersion): Upload {
    const upload: Upload = { id: this.newId(), container, title, fileId: randomUUID(), versions: [version] }
    this.byId.set(upload.id, upload)
    this.byName.set(`${container}/${title}`, upload)
    return upload
  }

  addVersion (upload: Upload, version: StoredVersion): void { upload.versions.push(version) }
}

interface MediaGrant { cloudId: string, attachmentId: string, version: number, expiresAt: number }

/** Every upload of a simulator, the directory their bytes live in, and the media tokens handed out by downloads. */
export class UploadStore {
  private dir: string | undefined
  private readonly sites = new WeakMap<SiteData, SiteUploads>()
  private readonly grants = new Map<string, MediaGrant>()

  of (site: SiteData): SiteUploads {
    let s = this.sites.get(site)
    if (s === undefined) { s = new SiteUploads(site); this.sites.set(site, s) }
    return s
  }

  directory (): string { return (this.dir ??= mkdtempSync(join(tmpdir(), 'confluence-sim-files-'))) }

  /** Takes a received file into the store (a rename: the bytes are not copied). */
  keep (file: ReceivedFile): string {
    const path = join(this.directory(), `v-${randomUUID()}`)
    renameSync(file.path, path)
    file.kept = true
    return path
  }

  /** A media URL path for one version; its token is good for 5 minutes. */
  grant (cloudId: string, upload: { fileId: string, id: string }, version: number, filename: string): string {
    const token = randomBytes(18).toString('base64url')
    this.grants.set(token, { cloudId, attachmentId: upload.id, version, expiresAt: Date.now() + 300_000 })
    if (this.grants.size > 10_000) for (const [t, g] of this.grants) if (g.expiresAt < Date.now()) this.grants.delete(t)
    return `/media/file/${upload.fileId}/binary?token=${token}&dl=true&name=${encodeURIComponent(filename)}&version=${version}`
  }

  redeem (token: string): MediaGrant | undefined {
    const g = this.grants.get(token)
    return g !== undefined && g.expiresAt > Date.now() ? g : undefined
  }

  close (): void { if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true }) }
}

const stores = new WeakMap<SimState, UploadStore>()
export function uploadsOf (state: SimState): UploadStore {
  let s = stores.get(state)
  if (s === undefined) { s = new UploadStore(); stores.set(state, s) }
  return s
}

/** A seeded attachment has no real bytes: it gets `fileSize` bytes of its title repeated, the same at every download. */
function seededBytes (title: string, size: number): Readable {
  const line = Buffer.from(`${title}\n`)
  const chunk = Buffer.alloc(64 * 1024)
  for (let i = 0; i < chunk.length; i += line.length) line.copy(chunk, i)
  let left = size
  return new Readable({
    read () {
      if (left <= 0) { this.push(null); return }
      const n = Math.min(left, chunk.length - (chunk.length % line.length))
      left -= n
      this.push(chunk.subarray(0, n))
    }
  })
}

/** Fields of at most 1 MB, at most 10 files, any file size. */
async function parseMultipart (state: SimState, request: FastifyRequest, payload: NodeJS.ReadableStream): Promise<MultipartBody> {
  const token = request.headers['x-atlassian-token']
  const body = new MultipartBody(typeof token === 'string' ? token : undefined)
  const dir = uploadsOf(state).directory()
  const writes: Array<Promise<void>> = []
  const bb = Busboy({ headers: request.headers as { 'content-type': string }, limits: { fieldSize: 1024 * 1024, files: 10 } })
  bb.on('field', (name, value) => { (body.fields[name] ??= []).push(value) })
  bb.on('file', (field, stream, filename, _encoding, mimeType) => {
    const file: ReceivedFile = { field, filename, mediaType: mimeType, path: join(dir, `in-${randomUUID()}`), size: 0, kept: false }
    body.files.push(file)
    stream.on('data', (chunk: Buffer) => { file.size += chunk.length })
    writes.push(pipeline(stream, createWriteStream(file.path)))
  })
  try {
    await pipeline(payload, bb)
    await Promise.all(writes)
  } catch (err) {
    body.dispose()
    throw err
  }
  return body
}

/** The multipart parser (streams files to disk) and the media host's download route. */
export function registerUploads (app: FastifyInstance, state: SimState): void {
  const store = uploadsOf(state)
  app.addContentTypeParser('multipart/form-data', async (request: FastifyRequest, payload: NodeJS.ReadableStream) => await parseMultipart(state, request, payload))
  app.addHook('onResponse', async (request) => { if (request.body instanceof MultipartBody) request.body.dispose() })
  app.addHook('onClose', async () => { store.close() })

  app.get('/media/file/:fileId/binary', async (request, reply) => {
    request.simOperation = 'mediaFileBinary'
    const { token } = request.query as { token?: string }
    const grant = token === undefined ? undefined : store.redeem(token)
    const site = grant === undefined ? undefined : state.sites.get(grant.cloudId)
    if (grant === undefined || site === undefined) return await reply.code(401).send({ error: 'token invalid or expired' })
    const upload = store.of(site).get(grant.attachmentId)
    if (upload !== undefined) {
      const v = upload.versions[grant.version - 1]
      reply.header('content-type', v.mediaType)
      reply.header('content-length', String(v.size))
      reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(upload.title)}`)
      return await reply.send(createReadStream(v.path))
    }
    const c = site.contentIndex(grant.attachmentId, 'attachment')
    if (c === -1) return await reply.code(404).send({ error: 'file not found' })
    const info = site.attachmentInfo(c)
    reply.header('content-type', info.mediaType)
    reply.header('content-length', String(info.fileSize))
    reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(site.title(c))}`)
    return await reply.send(seededBytes(site.title(c), info.fileSize))
  })
}
