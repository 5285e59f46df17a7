// Async jobs end to end: jobs/s of the spoke (POST execute with mode "async" over HTTP → BullMQ → worker →
// engine → simulator → completed) side by side with raw BullMQ running a no-op processor, in the same run,
// on the same Redis, with the same worker concurrency, job count and submission concurrency.
// Run: npx tsx bench/async.ts   (prints a table; benchAsync() is what `npm run bench` composes)
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'undici'
import { Queue, QueueEvents, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { startSimulator } from '../test/simulator'
import { buildTestSpoke } from '../test/helpers/spoke'
import { connectSimulatorAlias, listen, simulatorEnv } from '../test/helpers/connect'
import { bullPrefix, RUN_ACTION_QUEUE } from '../src/jobs/queues'

export interface BenchAsyncOptions {
  /** Jobs per target (default 2,000). */
  jobs?: number
  /** Worker concurrency for both targets (default 8, SPOKE_WORKER_CONCURRENCY's default). */
  concurrency?: number
  /** Submissions in flight at once (default 32). */
  submitters?: number
  /** The cheap action the spoke runs (default confluence.user.current). */
  action?: string
}

export interface BenchAsyncResult {
  spoke: { jobsPerSecond: number, seconds: number }
  rawBullmq: { jobsPerSecond: number, seconds: number }
  /** spoke / raw BullMQ */
  ratio: number
  settings: { jobs: number, concurrency: number, submitters: number, action: string }
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

/** Runs `count` submissions with `inFlight` at a time. */
async function submitAll (count: number, inFlight: number, submit: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: inFlight }, async () => { while (next < count) await submit(next++) }))
}

/** Resolves when `count` completions were counted (or rejects on the first failure). */
function completions (events: QueueEvents, count: number): Promise<void> {
  let done = 0
  return new Promise((resolve, reject) => {
    events.on('completed', () => { if (++done === count) resolve() })
    events.on('failed', ({ jobId, failedReason }) => reject(new Error(`job ${jobId} failed: ${failedReason}`)))
  })
}

export async function benchAsync (opts: BenchAsyncOptions = {}): Promise<BenchAsyncResult> {
  const jobs = opts.jobs ?? 2_000
  const concurrency = opts.concurrency ?? 8
  const submitters = opts.submitters ?? 32
  const action = opts.action ?? 'confluence.user.current'
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

  // --- the spoke: api and workers in this process (role "all"), against the simulator ---
  const sim = await startSimulator({ seed: 'bench-async', size: 20 })
  const spoke = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_VALIDATE_OUTPUT: 'false', SPOKE_SITE_RATE_PER_SECOND: '100000', SPOKE_SITE_BURST: '10000' }, { workers: { concurrency } })
  const agent = new Agent({ connections: submitters, keepAliveTimeout: 30_000 })
  let spokeSeconds: number
  try {
    await connectSimulatorAlias(spoke, sim, { grant: 'client_credentials' })
    const url = `${await listen(spoke)}/v1/actions/${action}/execute`
    const headers = { authorization: `Bearer ${spoke.keys.invoker}`, 'content-type': 'application/json' }
    const body = JSON.stringify({ mode: 'async', input: {} })
    const post = async (): Promise<void> => {
      const res = await request(url, { method: 'POST', headers, body, dispatcher: agent })
      await res.body.dump()
      if (res.statusCode !== 202) throw new Error(`submit answered ${res.statusCode}`)
    }
    for (let i = 0; i < 50; i++) await post() // warm-up: connections, token, JIT
    const events = new QueueEvents(RUN_ACTION_QUEUE, { connection: { url: redisUrl }, prefix: bullPrefix(spoke.config.keyPrefix) })
    await events.waitUntilReady()
    await waitForIdle(spoke.core.jobs.queue)
    const done = completions(events, jobs)
    const started = performance.now()
    await submitAll(jobs, submitters, post)
    await done
    spokeSeconds = (performance.now() - started) / 1000
    await events.close()
  } finally {
    await agent.close()
    await spoke.close()
    await sim.close()
  }

  // --- raw BullMQ: a no-op processor, same Redis, same concurrency and job count ---
  const prefix = `{bench-raw-${randomBytes(4).toString('hex')}}`
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
  const workerConn = new Redis(redisUrl, { maxRetriesPerRequest: null })
  const queue = new Queue('raw', { connection: producer, prefix, defaultJobOptions: { removeOnComplete: { age: 3600, count: 10_000 } } })
  const worker = new Worker('raw', async () => ({ ok: true }), { connection: workerConn, prefix, concurrency })
  const events = new QueueEvents('raw', { connection: { url: redisUrl }, prefix })
  let rawSeconds: number
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady(), events.waitUntilReady()])
    const done = completions(events, jobs)
    const started = performance.now()
    await submitAll(jobs, submitters, async () => { await queue.add('noop', { input: {} }) })
    await done
    rawSeconds = (performance.now() - started) / 1000
  } finally {
    await worker.close()
    await events.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    producer.disconnect()
    workerConn.disconnect()
  }

  const spokeRate = jobs / spokeSeconds
  const rawRate = jobs / rawSeconds
  return {
    spoke: { jobsPerSecond: round(spokeRate), seconds: round(spokeSeconds, 2) },
    rawBullmq: { jobsPerSecond: round(rawRate), seconds: round(rawSeconds, 2) },
    ratio: round(spokeRate / rawRate, 3),
    settings: { jobs, concurrency, submitters, action }
  }
}

async function waitForIdle (queue: Queue): Promise<void> {
  for (;;) {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed')
    if (c.waiting + c.active + c.delayed === 0) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

if (require.main === module) {
  benchAsync().then((r) => {
    const rows = [
      ['target', 'jobs/s', 'seconds'],
      [`spoke (${r.settings.action}, HTTP → job → simulator)`, String(r.spoke.jobsPerSecond), String(r.spoke.seconds)],
      ['raw BullMQ (no-op processor)', String(r.rawBullmq.jobsPerSecond), String(r.rawBullmq.seconds)]
    ]
    const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
    for (const row of rows) process.stdout.write(row.map((c, i) => c.padEnd(widths[i])).join('  ') + '\n')
    process.stdout.write(`ratio ${r.ratio} (goal ≥ 0.5); ${r.settings.jobs} jobs each, worker concurrency ${r.settings.concurrency}, ${r.settings.submitters} submissions in flight\n`)
    process.exit(0)
  }).catch((err) => { process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`); process.exit(1) })
}
