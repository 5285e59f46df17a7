// Issue #24, item 7: GET /v1/jobs/{id} read the BullMQ state and the job's extra hash in separate round trips,
// so a job that completed and had its callback delivered in between was shown `active` with its callback
// `delivered`. Made deterministic: the reading spoke talks to Redis through a gate that holds its commands
// from the first one naming the job's extra hash; while they are held the job is completed (BullMQ's own
// manual-processing API: getNextJob / moveToCompleted) and its delivery recorded (the spoke's recordCallback,
// as the callback worker does); then the gate opens. The old read answered `active` + `delivered` (fails
// here); one script reads everything at one instant, so the view is consistent: completed + delivered.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { Worker } from 'bullmq'
import { randomBytes } from 'node:crypto'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { getJob, submitJob } from '../helpers/jobs'
import { bullPrefix, RUN_ACTION_QUEUE } from '../../src/jobs/queues'

const REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')

/** A TCP proxy to Redis that, once armed with a marker, holds everything a client sends from the chunk that contains it until released. */
interface Gate { url: string, arm: (marker: string) => Promise<void>, release: () => void, close: () => Promise<void> }

async function startGate (): Promise<Gate> {
  let marker: string | undefined
  let holding = false
  let heldResolve: (() => void) | undefined
  const waiting: Array<() => void> = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(Number(REDIS.port || 6379), REDIS.hostname)
    sockets.add(client); sockets.add(upstream)
    const forward = (chunk: Buffer): void => { upstream.write(chunk) }
    client.on('data', (chunk: Buffer) => {
      if (!holding && marker !== undefined && chunk.toString('latin1').includes(marker)) { holding = true; marker = undefined; heldResolve?.() }
      if (holding) { client.pause(); waiting.push(() => { forward(chunk); client.resume() }); return }
      forward(chunk)
    })
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
    const end = (): void => { client.destroy(); upstream.destroy() }
    client.on('error', end); upstream.on('error', end); client.on('close', end); upstream.on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `redis://127.0.0.1:${port}`,
    arm: async (m) => await new Promise<void>((resolve) => { marker = m; heldResolve = resolve }),
    release: () => { holding = false; for (const go of waiting.splice(0)) go() },
    close: async () => { for (const s of sockets) s.destroy(); await new Promise((resolve) => server.close(resolve)) }
  }
}

let sim: Simulator
let a: TestSpoke
let b: TestSpoke
let gate: Gate
let bull: Redis
let worker: Worker

beforeAll(async () => {
  sim = await startSimulator({ seed: 'hostile-jobview', size: 5 })
  gate = await startGate()
  const group = { SPOKE_KEY_PREFIX: `t${randomBytes(5).toString('hex')}`, SPOKE_MASTER_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn' }
  // a: submits and records; b: only reads, through the gate
  a = await buildTestSpoke({ ...simulatorEnv(sim), ...group, SPOKE_CALLBACK_SECRET: 'hostile-jobview-secret-0123456789', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' })
  b = await buildTestSpoke({ ...simulatorEnv(sim), ...group, REDIS_URL: gate.url })
  await connectSimulatorAlias(a, sim, { grant: 'client_credentials' })
  bull = new Redis(REDIS.toString(), { maxRetriesPerRequest: null })
  // no processor: jobs are taken and finished by hand
  worker = new Worker(RUN_ACTION_QUEUE, null, { connection: bull, prefix: bullPrefix(a.config.keyPrefix), autorun: false })
  worker.on('error', () => {})
}, 30_000)
afterAll(async () => {
  await worker?.close()
  bull?.disconnect()
  await b?.close()
  await a?.close()
  await gate?.close()
  await sim?.close()
})

it('a view read while its job completes and its callback is delivered is never `active` with `delivered`', async () => {
  const id = await submitJob(a, 'confluence.user.current', { input: {}, callbackUrl: 'http://127.0.0.1:9/hook' })
  const token = 'hostile-jobview-token'
  const job = await worker.getNextJob(token)
  expect(job?.id).toBe(id)
  expect((await getJob(a, id)).state).toBe('active')

  const held = gate.arm(`jobs:extra:${id}`)
  const read = http(b, 'GET', `/v1/jobs/${id}`, { key: b.keys.viewer })
  await held
  // meanwhile: the job ends and its callback is delivered
  await job!.moveToCompleted({ output: { accountId: 'x' }, resolved: 'confluence_cloud' }, token, false)
  await a.core.jobs.recordCallback(id, { state: 'delivered', attempts: 1, deliveredAt: new Date().toISOString() })
  gate.release()

  const res = await read
  expect(res.status).toBe(200)
  const view = res.json()
  expect([view.state, view.callback?.state]).not.toEqual(['active', 'delivered'])
  expect(view).toMatchObject({ state: 'completed', callback: { state: 'delivered' }, result: { accountId: 'x' } })
  expect(view.finishedAt).toBeDefined()
}, 30_000)
