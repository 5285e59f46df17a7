// The pieces of file transfer that need no I/O beyond a temp file: the multipart body the client sends
// (its announced length is its real length, a parser reads the parts back, a re-open sends the same bytes),
// where a download redirect may lead, and what counts as asking for raw bytes.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Busboy from '@fastify/busboy'
import type { FastifyRequest } from 'fastify'
import { MultipartUpload } from '../../src/confluence/multipart'
import { mediaHostAllowed } from '../../src/confluence/client'
import { acceptsBinary } from '../../src/actions/file-transfer'

async function collect (body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of body) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

async function parse (bytes: Buffer, contentType: string): Promise<{ fields: Record<string, string>, files: Array<{ field: string, filename: string, type: string, data: Buffer }> }> {
  const fields: Record<string, string> = {}
  const files: Array<{ field: string, filename: string, type: string, data: Buffer }> = []
  await new Promise<void>((resolve, reject) => {
    const bb = Busboy({ headers: { 'content-type': contentType } })
    bb.on('field', (name, value) => { fields[name] = value })
    bb.on('file', (field, stream, filename, _enc, type) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => files.push({ field, filename, type, data: Buffer.concat(chunks) }))
    })
    bb.on('finish', resolve)
    bb.on('error', reject)
    bb.end(bytes)
  })
  return { fields, files }
}

describe('MultipartUpload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-mp-'))
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('streams a file from disk with the length it announces, parts a parser reads back, the same bytes on every open', async () => {
    const data = Buffer.alloc(300_000)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff
    const path = join(dir, 'f.bin')
    writeFileSync(path, data)
    const sha256 = createHash('sha256').update(data).digest('hex')
    const upload = new MultipartUpload({ name: 'file', filename: 'naïve "report".pdf', contentType: 'application/pdf', size: data.length, sha256 },
      { path }, [{ name: 'minorEdit', value: 'true' }, { name: 'comment', value: 'Zahlen für Q3' }])
    const first = await collect(upload.open())
    expect(first.length).toBe(upload.length)
    expect(await collect(upload.open())).toEqual(first)
    const parsed = await parse(first, upload.contentType)
    expect(parsed.fields).toEqual({ minorEdit: 'true', comment: 'Zahlen für Q3' })
    expect(parsed.files).toHaveLength(1)
    expect(parsed.files[0]).toMatchObject({ field: 'file', type: 'application/pdf' })
    expect(parsed.files[0].data.equals(data)).toBe(true)
    // a quote in the name cannot end the header parameter early: the RFC 5987 form carries it exactly,
    // the plain form (what a parser without filename* support reads) has it replaced
    expect(['naïve "report".pdf', 'naïve _report_.pdf']).toContain(parsed.files[0].filename)
    expect(first.toString('latin1')).toContain('filename="na')
    expect(first.toString()).toContain('filename="naïve _report_.pdf"')
    // what dryRun shows and the cases compare: the parts, not the bytes' source
    expect(JSON.parse(JSON.stringify(upload))).toEqual({ multipart: upload.multipart })
  })

  it('sends a small buffer the same way', async () => {
    const bytes = Buffer.from('hello')
    const upload = new MultipartUpload({ name: 'file', filename: 'a.txt', contentType: 'text/plain', size: 5, sha256: '' }, { bytes }, [{ name: 'minorEdit', value: 'false' }])
    const body = await collect(upload.open())
    expect(body.length).toBe(upload.length)
    expect((await parse(body, upload.contentType)).files[0].data.toString()).toBe('hello')
  })
})

it('follows a download only to the gateway origin or an https Atlassian host', () => {
  const gateway = 'https://api.atlassian.com'
  expect(mediaHostAllowed(new URL('https://api.atlassian.com/ex/confluence/x/media'), gateway)).toBe(true)
  expect(mediaHostAllowed(new URL('https://api.media.atlassian.com/file/1/binary?token=t'), gateway)).toBe(true)
  expect(mediaHostAllowed(new URL('https://acme.atlassian.net/download/x'), gateway)).toBe(true)
  expect(mediaHostAllowed(new URL('http://api.media.atlassian.com/file/1/binary'), gateway)).toBe(false)
  expect(mediaHostAllowed(new URL('https://evil.example/atlassian.com'), gateway)).toBe(false)
  expect(mediaHostAllowed(new URL('https://atlassian.com.evil.example/x'), gateway)).toBe(false)
  expect(mediaHostAllowed(new URL('https://evilatlassian.com/x'), gateway)).toBe(false)
  expect(mediaHostAllowed(new URL('http://127.0.0.1:4010/media/file/1'), 'http://127.0.0.1:4010')).toBe(true)
  expect(mediaHostAllowed(new URL('http://169.254.169.254/latest'), gateway)).toBe(false)
})

it('raw bytes are asked for by naming application/octet-stream in Accept', () => {
  const req = (accept?: string): FastifyRequest => ({ headers: accept === undefined ? {} : { accept } }) as unknown as FastifyRequest
  expect(acceptsBinary(req('application/octet-stream'))).toBe(true)
  expect(acceptsBinary(req('application/json, application/octet-stream;q=0.5'))).toBe(true)
  expect(acceptsBinary(req('application/json'))).toBe(false)
  expect(acceptsBinary(req('application/octet-streamish'))).toBe(false)
  expect(acceptsBinary(req())).toBe(false)
})
