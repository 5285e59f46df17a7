// Upload throughput: confluence.attachment.upload through the spoke (an api process of its own, multipart in,
// spooled to disk, streamed to Confluence) vs the same file sent straight to the simulator's v1
// createOrUpdateAttachments, in the same run. The simulator is its own process too; this process only
// generates the bytes (a 1 MiB random block repeated, so generation costs next to nothing) and alternates the
// two targets, `rounds` uploads each. Figures: MB/s of each and the spoke's share of the direct rate; never
// asserted. The spoke's upload is two transfers (into its spool file, then to Confluence), so well under 100%
// is expected on one machine, where the client, the spoke and the simulator share the same cores and disk.
// Run: flock /tmp/bench.lock npx tsx bench/attachments.ts   (benchAttachmentUpload() is what `npm run bench` composes)
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { connectClientCredentials, newDeployment, startApiProcess, type ApiProcess } from '../test/helpers/spoke-processes'
import { startSimulatorProcess, type SimulatorProcess } from './async'
import { benchRedisEnv } from './redis-env'

export interface BenchAttachmentOptions { sizeMb?: number, rounds?: number }

interface Target { mbPerSecond: number, seconds: number[] }
export interface BenchAttachmentResult { sizeMb: number, rounds: number, spoke: Target, direct: Target, ratio: number }

const MB = 1024 * 1024
const BLOCK = randomBytes(MB)

function multipart (parts: Array<{ name: string, value: string } | { name: 'file', filename: string, size: number }>): { body: Readable, contentType: string, length: number } {
  const boundary = `----bench${randomBytes(8).toString('hex')}`
  const pieces: Array<Buffer | number> = []
  for (const p of parts) {
    if ('value' in p) pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"\r\n\r\n${p.value}\r\n`))
    else pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${p.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`), p.size, Buffer.from('\r\n'))
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`))
  const length = pieces.reduce<number>((n, p) => n + (typeof p === 'number' ? p : p.length), 0)
  const body = Readable.from((async function * () {
    for (const p of pieces) {
      if (typeof p !== 'number') { yield p; continue }
      for (let left = p; left > 0; left -= MB) yield left >= MB ? BLOCK : BLOCK.subarray(0, left)
    }
  })())
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, length }
}

async function timed (send: () => Promise<number>): Promise<number> {
  const started = performance.now()
  const status = await send()
  if (status !== 200) throw new Error(`upload answered ${status}`)
  return (performance.now() - started) / 1000
}

export async function benchAttachmentUpload (opts: BenchAttachmentOptions = {}): Promise<BenchAttachmentResult> {
  const sizeMb = opts.sizeMb ?? 32
  const rounds = opts.rounds ?? 3
  let sim: SimulatorProcess | undefined
  let api: ApiProcess | undefined
  try {
    sim = await startSimulatorProcess()
    const d = newDeployment(sim.url, { ...benchRedisEnv(), LOG_LEVEL: 'warn' })
    api = await startApiProcess(d)
    // a page the service account reads, and its space (through the simulator's own API)
    const token = await request(`${sim.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id: sim.client.id, client_secret: sim.client.secret }) })
    const accessToken = ((await token.body.json()) as { access_token: string }).access_token
    const gateway = `${sim.url}/ex/confluence/${sim.cloudId}`
    const pages = await request(`${gateway}/wiki/api/v2/pages?limit=1&status=current`, { headers: { authorization: `Bearer ${accessToken}` } })
    const page = ((await pages.body.json()) as { results: Array<{ id: string, spaceId: string }> }).results[0]
    await connectClientCredentials(api.base, d, { url: sim.url, clientId: sim.client.id, clientSecret: sim.client.secret, defaultCloudId: sim.cloudId }, {
      credential: { type: 'oauth2_client_credentials', clientId: sim.client.id, clientSecret: sim.client.secret, scopes: ['write:attachment:confluence', 'read:content-details:confluence', 'read:page:confluence'], tokenUrl: `${sim.url}/oauth/token` },
      managedSpaces: [{ spaceId: page.spaceId }]
    })
    const size = sizeMb * MB
    const throughSpoke = async (n: number): Promise<number> => {
      const m = multipart([{ name: 'input', value: JSON.stringify({ spaceId: page.spaceId, containerId: page.id }) }, { name: 'file', filename: `spoke-${n}.bin`, size }])
      const res = await request(`${api!.base}/v1/actions/confluence.attachment.upload/execute`, { method: 'POST', headers: { authorization: `Bearer ${d.keys.invoker}`, 'content-type': m.contentType, 'content-length': String(m.length) }, body: m.body })
      await res.body.dump()
      return res.statusCode
    }
    const direct = async (n: number): Promise<number> => {
      const m = multipart([{ name: 'file', filename: `direct-${n}.bin`, size }, { name: 'minorEdit', value: 'true' }])
      const res = await request(`${gateway}/wiki/rest/api/content/${page.id}/child/attachment`, { method: 'PUT', headers: { authorization: `Bearer ${accessToken}`, 'x-atlassian-token': 'no-check', 'content-type': m.contentType, 'content-length': String(m.length) }, body: m.body })
      await res.body.dump()
      return res.statusCode
    }
    // one of each first, untimed (code paths loaded, token fetched, files dir created)
    await throughSpoke(0)
    await direct(0)
    const spokeSeconds: number[] = []
    const directSeconds: number[] = []
    for (let i = 1; i <= rounds; i++) {
      spokeSeconds.push(await timed(async () => await throughSpoke(i)))
      directSeconds.push(await timed(async () => await direct(i)))
    }
    const rate = (s: number[]): number => sizeMb * s.length / s.reduce((a, b) => a + b, 0)
    const spoke = { mbPerSecond: rate(spokeSeconds), seconds: spokeSeconds }
    const straight = { mbPerSecond: rate(directSeconds), seconds: directSeconds }
    return { sizeMb, rounds, spoke, direct: straight, ratio: spoke.mbPerSecond / straight.mbPerSecond }
  } finally {
    await api?.kill('SIGKILL')
    await sim?.process.kill('SIGKILL')
  }
}

if (require.main === module) {
  benchAttachmentUpload({ sizeMb: Number(process.env.BENCH_UPLOAD_MB ?? 32), rounds: Number(process.env.BENCH_UPLOAD_ROUNDS ?? 3) }).then((r) => {
    console.log(JSON.stringify(r, null, 2))
    process.exit(0)
  }, (err: Error) => { console.error(err); process.exit(1) })
}
