// A crawl's Redis writes go through the job connection, which waits for Redis, not through the fail-fast
// `store` connection of the HTTP path. Redis itself cuts the spoke's store connection again and again
// (CLIENT KILL of its address, every 30 ms, at least 8 times) while a crawl runs: store commands fail meanwhile,
// yet the crawl completes in its first attempt, its sink exact. Before, its run state and personal-data
// index writes went through `store` and the attempt failed. The alias's cached copy is re-read every 5 s
// through `store`; a re-read that fails during the kills keeps serving the cached copy (src/connections/session-cache.ts).
import { Redis } from 'ioredis'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { expectCrawlExact, failedAttempts } from '../helpers/failover'

let sim: Simulator
let t: TestSpoke
let admin: Redis

beforeAll(async () => {
  sim = await startSimulator({ seed: 'crawl-store-loss', permissions: 'nested', size: { pages: 600, spaces: 3, users: 300, groups: 4 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' }, { workers: true })
  admin = new Redis(t.config.redis.mode === 'single' ? t.config.redis.url : 'redis://127.0.0.1:6379')
})
afterAll(async () => {
  admin?.disconnect()
  try { await t?.close() } finally { await sim?.close() }
})

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** Kills this spoke's store connection (only it: found by its local address) if it is connected. */
async function killStore (): Promise<boolean> {
  const port = (t.core.redis.store as unknown as { stream?: { localPort?: number } }).stream?.localPort
  if (port === undefined || t.core.redis.store.status !== 'ready') return false
  return await admin.call('CLIENT', 'KILL', 'ADDR', `127.0.0.1:${port}`).then(() => true, () => false)
}

it('a crawl completes in its first attempt while the fail-fast store connection is cut again and again', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'crawler', grant: 'client_credentials' })
  sim.reset()
  sim.faults.set({ latencyMs: 10 }) // the crawl outlasts the kills
  const crawl = await submitJob(t, 'confluence.content.crawl', { connection: 'crawler', input: { sink: { type: 'file', path: 'loss/run.ndjson' } } })
  // Running (a loaded machine may take seconds to start it): the kills then overlap it, checked below.
  await waitForJob(t, crawl, j => j.state === 'active', 30_000)
  let kills = 0
  let storeFailures = 0
  // Counted, not timed: a kill lands only while the store is connected, and it reconnects at its own pace.
  const until = Date.now() + 20_000
  while (kills < 8 && Date.now() < until) {
    if (await killStore()) kills++
    // what the HTTP path meets meanwhile: the store connection fails fast
    await t.core.redis.store.exists(`${t.config.keyPrefix}:probe`).catch(() => { storeFailures++ })
    await sleep(30)
  }
  const activeAfter = (await waitForJob(t, crawl, () => true)).state
  sim.faults.clear()
  const job = await waitForJob(t, crawl, undefined, 60_000)
  const sink = expectCrawlExact(t, sim, 'loss/run.ndjson')
  console.log(`crawl with its store connection killed ${kills} times (${storeFailures} store commands failed meanwhile; crawl ${activeAfter} at the end of it): ` +
    `${job.state}, attempts ${String(job.attemptsMade)}, retried after ${JSON.stringify(failedAttempts(t, crawl))}, ${sink.records} records, ${sink.duplicates} duplicated, ${sink.missing} missing`)
  expect(kills).toBeGreaterThan(5)
  expect(storeFailures).toBeGreaterThan(0)
  expect(activeAfter).toBe('active') // the kills overlapped the crawl
  expect(job.state).toBe('completed')
  expect(failedAttempts(t, crawl)).toEqual([])
  expect(job.attemptsMade).toBe(1)
}, 90_000)
