// confluence.attachment.upload and .download end to end: the real spoke as its own OS process (an api process
// and, for async mode, a worker process, both `node --import tsx src/server.ts`), the simulator in this
// process. A 50 MB file goes up as multipart/form-data while this test samples the api process's resident set
// (VmRSS from /proc/<pid>/status, every 10 ms): it grows by less than 20 MB, the file being spooled to disk
// and streamed, never held. It comes back byte-identical (SHA-256) as application/octet-stream with
// Confluence's headers. Writes into an unmanaged space are refused before any request reaches the simulator
// (its request counter), dryRun sends nothing, an Idempotency-Key uploads once, base64 JSON works in sync
// and async mode, and the size limits answer their problems.
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { connectClientCredentials, newDeployment, startApiProcess, startWorkerProc, waitForJobAt, type ApiProcess, type Deployment, type WorkerProc } from '../helpers/spoke-processes'

const MB = 1024 * 1024
const JSON_MAX = 256 * 1024
let sim: Simulator
let d: Deployment
let api: ApiProcess
let small: ApiProcess
let worker: WorkerProc
let pageId: string
let spaceId: string
let otherSpaceId: string
let otherPageId: string

beforeAll(async () => {
  sim = await startSimulator({ seed: 'attachments', size: { pages: 40, spaces: 3, users: 20, groups: 4 } })
  d = newDeployment(sim.url, { SPOKE_ATTACHMENT_JSON_MAX_BYTES: String(JSON_MAX) })
  // the second api process has a 1 MiB multipart limit (the 413)
  // one after the other: on a loaded machine three tsx starts at once can each miss the helpers' 30 s start bound
  // Collected often (test/helpers/gc-often.js): the memory test measures what the process holds, not GC timing.
  api = await startApiProcess(d, { NODE_OPTIONS: `--expose-gc --require ${join(__dirname, '../helpers/gc-often.js')}` })
  small = await startApiProcess(d, { SPOKE_ATTACHMENT_MAX_BYTES: String(MB) })
  worker = await startWorkerProc(d)
  const readable = [...sim.data.content('page')].filter(p => p.status === 'current' && sim.data.canRead(sim.serviceAccountId, p.id))
  const page = readable[0]
  const other = readable.find(p => p.spaceId !== page.spaceId)
  if (page === undefined || other === undefined) throw new Error('the seed has no two readable pages in two spaces')
  pageId = page.id
  spaceId = page.spaceId as string
  otherPageId = other.id
  otherSpaceId = other.spaceId as string
  const key = sim.data.spaces().find(s => s.id === spaceId)?.key
  await connectClientCredentials(api.base, d, sim, {
    credential: { type: 'oauth2_client_credentials', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: ['write:attachment:confluence', 'read:content-details:confluence', 'read:page:confluence', 'read:attachment:confluence'], tokenUrl: `${sim.url}/oauth/token` },
    managedSpaces: [{ spaceId, key }]
  })
}, 150_000)

afterAll(async () => {
  await Promise.all([api, small, worker].filter(p => p !== undefined).map(async p => await p.kill('SIGKILL')))
  await sim?.close()
})

/** Deterministic pseudo-random bytes (AES-256-CTR of zeros), `size` of them in 1 MiB chunks, hashed as they are produced. */
function fileStream (size: number, seed: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  return (async function * () {
    const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(String(seed)).digest(), Buffer.alloc(16))
    for (let left = size; left > 0; left -= MB) {
      const chunk = cipher.update(Buffer.alloc(Math.min(MB, left)))
      hash.update(chunk)
      yield chunk
    }
  })()
}

/** A multipart execute request, streamed: the input part, then the file part. */
async function uploadMultipart (base: string, input: Record<string, unknown>, file: { name: string, type: string, size: number, seed: number }, headers: Record<string, string> = {}): Promise<{ status: number, json: any, headers: Record<string, unknown>, sha256: string }> {
  const boundary = `----test${randomBytes(8).toString('hex')}`
  const hash = createHash('sha256')
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="input"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(input)}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`)
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const body = Readable.from((async function * () { yield head; yield * fileStream(file.size, file.seed, hash); yield tail })())
  const res = await request(`${base}/v1/actions/confluence.attachment.upload/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.keys.invoker}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + file.size + tail.length), ...headers },
    body
  })
  const text = await res.body.text()
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text), headers: res.headers, sha256: hash.digest('hex') }
}

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024

const execute = async (actionId: string, body: Record<string, unknown>, headers: Record<string, string> = {}, base = api.base): Promise<{ status: number, json: any, headers: Record<string, unknown> }> => {
  const res = await request(`${base}/v1/actions/${actionId}/execute`, {
    method: 'POST', headers: { authorization: `Bearer ${d.keys.invoker}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body)
  })
  const text = await res.body.text()
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text), headers: res.headers }
}

/** Requests to the gateway (the media host's downloads finish their count after the caller read the last byte). */
const gatewayRequests = (): number => sim.counters().requests - (sim.counters().byOperation.mediaFileBinary ?? 0)

const uploads = (): number => {
  const ops = sim.counters().byOperation
  return (ops.createOrUpdateAttachments ?? 0) + (ops.createAttachment ?? 0)
}

it('uploads 50 MB as multipart with the api process growing by less than 20 MB, and downloads it byte-identical', async () => {
  // Warm-up: a first transfer loads the code paths and lets the process reach its working set. The api
  // process is collected every 20 ms (beforeAll): left to itself, Node 24's V8 frees the dead 64 KiB socket
  // and file chunks only in a full collection, so a cold process's first large upload shows +25-35 MB of
  // garbage (Node 20: ~1 MB). What this test tells apart is buffering (RSS grows by the file's size) from
  // streaming (it does not).
  const pid = api.proc.pid as number
  const cold = rssOf(pid)
  const warm = await uploadMultipart(api.base, { spaceId, containerId: pageId }, { name: 'warm.bin', type: 'application/octet-stream', size: 20 * MB, seed: 1 })
  expect([warm.status, warm.json?.code, warm.json?.detail]).toEqual([200, undefined, undefined])
  const before = rssOf(pid)
  let peak = before
  let samples = 0
  const sampler = setInterval(() => { peak = Math.max(peak, rssOf(pid)); samples++ }, 10)
  let up: Awaited<ReturnType<typeof uploadMultipart>>
  try {
    up = await uploadMultipart(api.base, { spaceId, containerId: pageId, comment: 'fifty megabytes' }, { name: 'big.bin', type: 'application/octet-stream', size: 50 * MB, seed: 50 })
  } finally {
    clearInterval(sampler)
  }
  peak = Math.max(peak, rssOf(pid))
  expect(up.status).toBe(200)
  expect(up.json.output).toMatchObject({ dryRun: false, title: 'big.bin', version: 1, fileSize: 50 * MB, sha256: up.sha256, containerId: pageId, spaceId })
  const growth = peak - before
  console.log(`api process RSS: ${(cold / MB).toFixed(1)} MB cold, ${(before / MB).toFixed(1)} MB after the 20 MB warm-up, ${(peak / MB).toFixed(1)} MB peak during a 50 MB upload (+${(growth / MB).toFixed(1)} MB, ${samples} samples)`)
  expect(samples).toBeGreaterThan(5) // the measurement happened while the upload ran
  expect(growth).toBeLessThan(20 * MB)

  const res = await request(`${api.base}/v1/actions/confluence.attachment.download/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.keys.invoker}`, 'content-type': 'application/json', accept: 'application/octet-stream' },
    body: JSON.stringify({ input: { attachmentId: up.json.output.attachmentId } })
  })
  expect(res.statusCode).toBe(200)
  expect(res.headers['content-type']).toBe('application/octet-stream')
  expect(res.headers['content-length']).toBe(String(50 * MB))
  expect(res.headers['content-disposition']).toContain('big.bin')
  const down = createHash('sha256')
  for await (const chunk of res.body) down.update(chunk as Buffer)
  expect(down.digest('hex')).toBe(up.sha256)
}, 120_000)

it('refuses an unmanaged space before any request reaches Confluence; a container outside the named space after one read', async () => {
  const before = gatewayRequests()
  const json = await execute('confluence.attachment.upload', { input: { spaceId: otherSpaceId, containerId: otherPageId, filename: 'x.txt', dataBase64: Buffer.from('x').toString('base64') } })
  expect(json.status).toBe(403)
  expect(json.json.code).toBe('SPACE_NOT_MANAGED')
  const multipart = await uploadMultipart(api.base, { spaceId: otherSpaceId, containerId: otherPageId }, { name: 'x.bin', type: 'application/octet-stream', size: 1024, seed: 2 })
  expect(multipart.status).toBe(403)
  expect(multipart.json.code).toBe('SPACE_NOT_MANAGED')
  const queued = await execute('confluence.attachment.upload', { mode: 'async', input: { spaceId: otherSpaceId, containerId: otherPageId, filename: 'x.txt', dataBase64: 'eA==' } })
  expect(queued.status).toBe(403)
  expect(gatewayRequests()).toBe(before)

  // a managed space named, a page of another space given: the page is read, nothing is uploaded
  const uploadsBefore = uploads()
  const mismatch = await execute('confluence.attachment.upload', { input: { spaceId, containerId: otherPageId, filename: 'x.txt', dataBase64: 'eA==' } })
  expect(mismatch.status).toBe(403)
  expect(mismatch.json.code).toBe('SPACE_NOT_MANAGED')
  expect(uploads()).toBe(uploadsBefore)
})

it('dryRun answers the request that would be sent and sends nothing', async () => {
  const before = gatewayRequests()
  const res = await execute('confluence.attachment.upload', { input: { spaceId, containerId: pageId, filename: 'plan.txt', mediaType: 'text/plain', comment: 'draft', dataBase64: Buffer.from('hello').toString('base64'), dryRun: true } })
  expect(res.status).toBe(200)
  expect(res.json.output).toEqual({
    dryRun: true,
    request: {
      method: 'PUT',
      path: `/wiki/rest/api/content/${pageId}/child/attachment`,
      headers: { 'x-atlassian-token': 'no-check' },
      multipart: [
        { name: 'file', filename: 'plan.txt', contentType: 'text/plain', size: 5, sha256: createHash('sha256').update('hello').digest('hex') },
        { name: 'minorEdit', value: 'true' },
        { name: 'comment', value: 'draft' }
      ]
    }
  })
  const multipart = await uploadMultipart(api.base, { spaceId, containerId: pageId, dryRun: true }, { name: 'dry.bin', type: 'application/octet-stream', size: 2048, seed: 3 })
  expect(multipart.status).toBe(200)
  expect(multipart.json.output.request.multipart[0]).toMatchObject({ filename: 'dry.bin', size: 2048, sha256: multipart.sha256 })
  expect(gatewayRequests()).toBe(before)
})

it('an Idempotency-Key uploads once: the repeat is replayed, other bytes under the same key are a conflict', async () => {
  const before = uploads()
  const file = { name: 'once.bin', type: 'application/octet-stream', size: 300 * 1024, seed: 4 }
  const first = await uploadMultipart(api.base, { spaceId, containerId: pageId }, file, { 'idempotency-key': 'upload-once-1' })
  const again = await uploadMultipart(api.base, { spaceId, containerId: pageId }, file, { 'idempotency-key': 'upload-once-1' })
  expect(first.status).toBe(200)
  expect(again.status).toBe(200)
  expect(again.headers['idempotent-replayed']).toBe('true')
  expect(again.json.output).toEqual(first.json.output)
  expect(uploads()).toBe(before + 1)
  const other = await uploadMultipart(api.base, { spaceId, containerId: pageId }, { ...file, seed: 5 }, { 'idempotency-key': 'upload-once-1' })
  expect(other.status).toBe(409)
  expect(other.json.code).toBe('IDEMPOTENCY_CONFLICT')
  expect(uploads()).toBe(before + 1)
})

it('base64 JSON: sync upload, a new version under the same name, async upload as a job, download as base64 in sync and async mode', async () => {
  const v1 = Buffer.from('version one\n')
  const sync = await execute('confluence.attachment.upload', { input: { spaceId, containerId: pageId, filename: 'small.txt', mediaType: 'text/plain', dataBase64: v1.toString('base64') } })
  expect(sync.status).toBe(200)
  expect(sync.json.output).toMatchObject({ version: 1, fileSize: v1.length, mediaType: 'text/plain' })
  const v2 = Buffer.from('version two, from a job\n')
  const queued = await execute('confluence.attachment.upload', { mode: 'async', input: { spaceId, containerId: pageId, filename: 'small.txt', mediaType: 'text/plain', dataBase64: v2.toString('base64') } })
  expect(queued.status).toBe(202)
  const job = await waitForJobAt(api.base, d.keys.invoker, queued.json.jobId)
  expect(job.state).toBe('completed')
  expect(job.result).toMatchObject({ attachmentId: sync.json.output.attachmentId, version: 2, fileSize: v2.length })

  const latest = await execute('confluence.attachment.download', { input: { attachmentId: sync.json.output.attachmentId } })
  expect(latest.status).toBe(200)
  expect(Buffer.from(latest.json.output.dataBase64, 'base64')).toEqual(v2)
  expect(latest.json.output).toMatchObject({ version: 2, title: 'small.txt', containerId: pageId, containerType: 'page', sha256: createHash('sha256').update(v2).digest('hex') })
  const first = await execute('confluence.attachment.download', { input: { attachmentId: sync.json.output.attachmentId, version: 1 } })
  expect(Buffer.from(first.json.output.dataBase64, 'base64')).toEqual(v1)
  // async download: the job's result carries the base64 (a job cannot stream)
  const queuedDownload = await execute('confluence.attachment.download', { mode: 'async', input: { attachmentId: sync.json.output.attachmentId } }, { accept: 'application/octet-stream' })
  expect(queuedDownload.status).toBe(202)
  const downloaded = await waitForJobAt(api.base, d.keys.invoker, queuedDownload.json.jobId)
  expect(downloaded.state).toBe('completed')
  expect(Buffer.from(downloaded.result.dataBase64, 'base64')).toEqual(v2)
})

it('answers the size limits with their problems', async () => {
  const big = Buffer.alloc(JSON_MAX + 1, 7).toString('base64')
  const before = gatewayRequests()
  const json = await execute('confluence.attachment.upload', { input: { spaceId, containerId: pageId, filename: 'big.txt', dataBase64: big } })
  expect(json.status).toBe(413)
  expect(json.json.code).toBe('ATTACHMENT_TOO_LARGE')
  const multipart = await uploadMultipart(small.base, { spaceId, containerId: pageId }, { name: 'over.bin', type: 'application/octet-stream', size: MB + 1, seed: 6 })
  expect(multipart.status).toBe(413)
  expect(multipart.json.code).toBe('ATTACHMENT_TOO_LARGE')
  expect(gatewayRequests()).toBe(before)

  // a file just over the JSON limit, asked for as JSON: refused from its size, before the download
  const up = await uploadMultipart(api.base, { spaceId, containerId: pageId }, { name: 'medium.bin', type: 'application/octet-stream', size: JSON_MAX + 10, seed: 7 })
  const downloads = sim.counters().byOperation.downloadAttatchment ?? 0
  const asJson = await execute('confluence.attachment.download', { input: { attachmentId: up.json.output.attachmentId } })
  expect(asJson.status).toBe(422)
  expect(asJson.json.code).toBe('ATTACHMENT_TOO_LARGE_FOR_JSON')
  expect(sim.counters().byOperation.downloadAttatchment ?? 0).toBe(downloads)
})
