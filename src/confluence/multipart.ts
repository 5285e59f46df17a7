// A multipart/form-data request body whose file part is read from disk (or a small buffer) each time the
// request is sent, so a retry or a re-send after a token renew sends the same bytes again, and a 100 MB file
// never sits in memory: the body is the parts' headers, the file's chunks as the socket takes them, and the
// closing boundary, with a Content-Length known in advance (Confluence gets no chunked upload).
// The enumerable fields describe the parts (what dryRun shows and the action cases compare); the bytes'
// source is private.
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'

export interface FilePart { name: string, filename: string, contentType: string, size: number, sha256: string }
export interface TextPart { name: string, value: string }
export type Part = FilePart | TextPart

/** Where the file's bytes come from: a file on disk (a spooled upload) or a buffer (a small base64 upload). */
export type FileSource = { path: string } | { bytes: Buffer }

export class MultipartUpload {
  readonly multipart: Part[]
  readonly #source: FileSource
  readonly #boundary: string

  /** `file` first (as Confluence's own examples send it), then the text parts in order. */
  constructor (file: FilePart, source: FileSource, text: TextPart[]) {
    this.multipart = [file, ...text]
    this.#source = source
    this.#boundary = `----spoke${randomBytes(12).toString('hex')}`
  }

  get contentType (): string { return `multipart/form-data; boundary=${this.#boundary}` }

  private heads (): { file: Buffer, tail: Buffer } {
    const [file, ...text] = this.multipart as [FilePart, ...TextPart[]]
    const b = this.#boundary
    const fileHead = Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${quoted(file.filename)}"; filename*=UTF-8''${encodeURIComponent(file.filename)}\r\nContent-Type: ${file.contentType}\r\n\r\n`)
    // The spec asks for the comment as text/plain; charset=utf-8 so it is read as UTF-8.
    const tail = Buffer.from(`\r\n${text.map(p => `--${b}\r\nContent-Disposition: form-data; name="${p.name}"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${p.value}\r\n`).join('')}--${b}--\r\n`)
    return { file: fileHead, tail }
  }

  /** Bytes on the wire: the heads, the file, the tail. */
  get length (): number {
    const { file, tail } = this.heads()
    return file.length + (this.multipart[0] as FilePart).size + tail.length
  }

  /** A fresh stream of the whole body (call once per send). */
  open (): Readable {
    const { file, tail } = this.heads()
    const source = this.#source
    async function * body (): AsyncGenerator<Buffer> {
      yield file
      if ('bytes' in source) yield source.bytes
      else for await (const chunk of createReadStream(source.path)) yield chunk as Buffer
      yield tail
    }
    return Readable.from(body(), { objectMode: false })
  }
}

/** A filename inside a quoted header parameter: quotes, backslashes and line breaks cannot break out of it. */
function quoted (name: string): string {
  return name.replace(/["\\\r\n]/g, '_')
}
