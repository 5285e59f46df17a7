// v1 multipart attachment writes and the download redirect, as the spec defines them: the multipart body
// checked against the operation's schema, the XSRF header, new versions by PUT and by .../data, a taken file
// name refused by POST, and the bytes back byte for byte through the 302 to the media URL.
import { createHash } from 'node:crypto'
import { startSimulator, type Simulator } from '../src/index'
import { http } from './helpers'

let sim: Simulator
let token: string
let pageId: string
let blogPostId: string

beforeAll(async () => {
  sim = await startSimulator({ seed: 7, size: { pages: 20, spaces: 2, users: 10, groups: 3 }, validateResponses: true })
  token = sim.issueToken().accessToken
  pageId = (sim.data.content('page').next().value as { id: string }).id
  blogPostId = (sim.data.content('blogpost').next().value as { id: string }).id
})
afterAll(async () => { await sim.close() })

const base = (): string => `${sim.url}/ex/confluence/${sim.defaultCloudId}`

function form (parts: { file?: { name: string, bytes: Buffer, type?: string }, minorEdit?: string, comment?: string }): FormData {
  const f = new FormData()
  if (parts.file !== undefined) f.append('file', new Blob([parts.file.bytes], { type: parts.file.type ?? 'text/plain' }), parts.file.name)
  if (parts.minorEdit !== undefined) f.append('minorEdit', parts.minorEdit)
  if (parts.comment !== undefined) f.append('comment', parts.comment)
  return f
}

async function upload (method: 'POST' | 'PUT', path: string, body: FormData, headers: Record<string, string> = { 'x-atlassian-token': 'no-check' }): Promise<{ status: number, body: any }> {
  const res = await fetch(`${base()}${path}`, { method, body, headers: { authorization: `Bearer ${token}`, ...headers } })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

async function download (containerId: string, attachmentId: string, version?: number): Promise<{ status: number, bytes?: Buffer, headers?: Headers }> {
  const redirect = await http(`${base()}/wiki/rest/api/content/${containerId}/child/attachment/${attachmentId}/download${version === undefined ? '' : `?version=${version}`}`,
    { headers: { authorization: `Bearer ${token}` } })
  if (redirect.status !== 302) return { status: redirect.status }
  // the media URL carries its own token: fetched without the bearer
  const res = await fetch(redirect.headers.get('location') as string)
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

it('POST creates, PUT adds a version, .../data adds another; each version downloads byte-identical', async () => {
  const v1 = Buffer.from('first version\n')
  const created = await upload('POST', `/wiki/rest/api/content/${pageId}/child/attachment`, form({ file: { name: 'notes.txt', bytes: v1 }, minorEdit: 'true', comment: 'first' }))
  expect(created.status).toBe(200)
  const att = created.body.results[0]
  expect(att).toMatchObject({ type: 'attachment', title: 'notes.txt', version: { number: 1, minorEdit: true, message: 'first' }, extensions: { mediaType: 'text/plain', fileSize: v1.length } })
  expect(att.id).toMatch(/^att\d+$/)

  // POST refuses a name the page already has (Confluence: 400); PUT makes it version 2
  const again = await upload('POST', `/wiki/rest/api/content/${pageId}/child/attachment`, form({ file: { name: 'notes.txt', bytes: v1 }, minorEdit: 'true' }))
  expect(again.status).toBe(400)
  expect(again.body.message).toMatch(/same file name/)
  const v2 = Buffer.from('second version, longer\n')
  const put = await upload('PUT', `/wiki/rest/api/content/${pageId}/child/attachment`, form({ file: { name: 'notes.txt', bytes: v2 }, minorEdit: 'false' }))
  expect(put.status).toBe(200)
  expect(put.body.results[0]).toMatchObject({ id: att.id, version: { number: 2 } })
  const v3 = Buffer.from('third\n')
  const data = await upload('POST', `/wiki/rest/api/content/${pageId}/child/attachment/${att.id as string}/data`, form({ file: { name: 'notes.txt', bytes: v3 }, minorEdit: 'true' }))
  expect(data.status).toBe(200)
  expect(data.body).toMatchObject({ id: att.id, version: { number: 3 } })

  const v2get = await http(`${base()}/wiki/api/v2/attachments/${att.id as string}`, { headers: { authorization: `Bearer ${token}` } })
  expect(v2get.status).toBe(200)
  expect(v2get.body).toMatchObject({ id: att.id, title: 'notes.txt', pageId, fileSize: v3.length, mediaType: 'text/plain', version: { number: 3 } })

  for (const [n, bytes] of [[1, v1], [2, v2], [3, v3]] as const) {
    const got = await download(pageId, att.id, n)
    expect(got.status).toBe(200)
    expect(sha(got.bytes as Buffer)).toBe(sha(bytes))
    expect(got.headers?.get('content-length')).toBe(String(bytes.length))
    expect(got.headers?.get('content-disposition')).toContain('notes.txt')
  }
  expect((await download(pageId, att.id, 4)).status).toBe(400)
  expect((await download(blogPostId, att.id)).status).toBe(404)
  expect(sim.invalidRequests()).toEqual([])
  expect(sim.responseViolations()).toEqual([])
})

it('checks the multipart body against the spec and the XSRF header as Confluence does', async () => {
  // minorEdit is required by the spec's multipart schema
  const missing = await upload('POST', `/wiki/rest/api/content/${blogPostId}/child/attachment`, form({ file: { name: 'a.txt', bytes: Buffer.from('x') } }))
  expect(missing.status).toBe(400)
  expect(sim.invalidRequests().at(-1)).toMatchObject({ operationId: 'createAttachment', reason: expect.stringContaining('minorEdit') })
  const noHeader = await upload('POST', `/wiki/rest/api/content/${blogPostId}/child/attachment`, form({ file: { name: 'a.txt', bytes: Buffer.from('x') }, minorEdit: 'true' }), {})
  expect(noHeader.status).toBe(403)
  const unknown = await upload('POST', '/wiki/rest/api/content/999999999/child/attachment', form({ file: { name: 'a.txt', bytes: Buffer.from('x') }, minorEdit: 'true' }))
  expect(unknown.status).toBe(404)
})

it('streams a seeded attachment its deterministic bytes of the size it reports', async () => {
  const attachment = sim.data.content('attachment').next().value as { id: string, parentId: string }
  const meta = await http(`${base()}/wiki/api/v2/attachments/att${attachment.id}`, { headers: { authorization: `Bearer ${token}` } })
  const got = await download(meta.body.pageId ?? meta.body.blogPostId, `att${attachment.id}`)
  expect(got.status).toBe(200)
  expect(got.bytes?.length).toBe(meta.body.fileSize)
  expect(sha(got.bytes as Buffer)).toBe(sha((await download(meta.body.pageId ?? meta.body.blogPostId, `att${attachment.id}`)).bytes as Buffer))
})
