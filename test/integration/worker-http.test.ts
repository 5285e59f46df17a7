// A worker process (SPOKE_ROLE=worker) can be watched: it listens on its own PORT for /healthz, /readyz and
// /metrics, and nothing else; its /metrics carries the job metrics of the jobs it ran (only the worker
// process records them, so a Prometheus that scrapes only the api never sees them).
import { randomUUID } from 'node:crypto'
import { request } from 'undici'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process'
import { parsePromText, sampleSum } from '../helpers/prom-text'

let sim: Simulator
let t: TestSpoke
let worker: WorkerProcess | undefined
const viewerKey = `vwr_${randomUUID()}`

beforeAll(async () => {
  sim = await startSimulator({ seed: 'worker-http', size: { pages: 20, users: 20, groups: 2 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn' })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  worker = await startWorkerProcess(t, sim.url, { SPOKE_API_KEYS: `admin:adm_${randomUUID()},viewer:${viewerKey}` })
}, 60_000)
afterAll(async () => {
  await worker?.kill('SIGTERM')
  await t?.close()
  await sim?.close()
})

async function get (path: string, key?: string): Promise<{ status: number, text: string }> {
  const res = await request(`${(worker as WorkerProcess).base}${path}`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })
  return { status: res.statusCode, text: await res.body.text() }
}

/** The worker's listener may come up just after it logged "workers started": poll, bounded. */
async function untilListening (): Promise<void> {
  const deadline = Date.now() + 20_000
  while ((await get('/healthz').catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() > deadline) throw new Error(`the worker never answered /healthz: ${(worker as WorkerProcess).output().slice(-2000)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

it('answers /healthz, /readyz and /metrics (observers only) and serves nothing else', async () => {
  await untilListening()
  expect((await get('/healthz')).status).toBe(200)
  const ready = await get('/readyz')
  expect([ready.status, JSON.parse(ready.text).status]).toEqual([200, 'ready'])
  expect((await get('/metrics')).status).toBe(401)
  expect((await get('/metrics', viewerKey)).status).toBe(200)
  for (const path of ['/v1/actions', '/v1/jobs', '/v1/connections', '/docs', '/admin', '/openapi.json']) {
    expect([path, (await get(path, viewerKey)).status]).toEqual([path, 404])
  }
}, 30_000)

it('carries the job and crawl metrics of a crawl it ran', async () => {
  await untilListening()
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'file', path: 'worker-http/run.ndjson' } } })
  const job = await waitForJob(t, id, undefined, 60_000)
  expect(job.state).toBe('completed')
  // The counter is incremented as the job completes, which the api may see a moment before the worker's
  // registry does: poll the scrape, bounded.
  const deadline = Date.now() + 10_000
  let samples = parsePromText((await get('/metrics', viewerKey)).text)
  while (sampleSum(samples, 'spoke_job_completed_total', { action: 'confluence.content.crawl' }) < 1 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50))
    samples = parsePromText((await get('/metrics', viewerKey)).text)
  }
  expect(sampleSum(samples, 'spoke_job_completed_total', { action: 'confluence.content.crawl' })).toBe(1)
  expect(sampleSum(samples, 'spoke_job_duration_seconds_count', { action: 'confluence.content.crawl', outcome: 'completed' })).toBe(1)
  expect(sampleSum(samples, 'spoke_crawl_items_total', { kind: 'page' })).toBeGreaterThan(0)
}, 90_000)
