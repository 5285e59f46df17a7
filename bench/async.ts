// Async jobs end to end: jobs/s of the spoke (POST execute with mode "async" over HTTP → BullMQ → worker →
// engine → simulator → completed) side by side with raw BullMQ running a no-op processor, in the same run,
// on the same Redis, with the same worker concurrency, job count and submission concurrency.
//
// Both sides have the same shape: this process submits and counts completions (QueueEvents); the work runs
// in its own process — the spoke as deployed (`src/server.ts`, role "all", or api and worker processes),
// raw BullMQ as a bare Worker. The Confluence simulator runs in a third process: it stands in for
// Atlassian's servers, whose CPU is not the spoke's.
// Run: npx tsx bench/async.ts   (prints a table; benchAsync() is what `npm run bench` composes)
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'undici'
import { Queue, QueueEvents } from 'bullmq'
import { Redis } from 'ioredis'
import { freePort, startTsxProcess, type ChildProcessHandle } from '../test/helpers/child-process'
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
  /** `all`: one spoke process runs api and workers (default); `split`: an api process and a worker process. */
  layout?: 'all' | 'split'
}

export interface BenchAsyncResult {
  spoke: { jobsPerSecond: number, seconds: number }
  rawBullmq: { jobsPerSecond: number, seconds: number }
  /** spoke / raw BullMQ */
  ratio: number
  settings: { jobs: number, concurrency: number, submitters: number, action: string, layout: 'all' | 'split' }
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

/** Runs `count` submissions with `inFlight` at a time. */
async function submitAll (count: number, inFlight: number, submit: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: inFlight }, async () => { while (next < count) await submit(next++) }))
}

/** Seconds from the first submission to the `count`-th completion (rejects on the first failure). */
async function timeJobs (events: QueueEvents, count: number, inFlight: number, submit: () => Promise<void>): Promise<number> {
  let done = 0
  const finished = new Promise<void>((resolve, reject) => {
    events.on('completed', () => { if (++done === count) resolve() })
    events.on('failed', ({ jobId, failedReason }) => reject(new Error(`job ${jobId} failed: ${failedReason}`)))
  })
  const started = performance.now()
  await submitAll(count, inFlight, submit)
  if (process.env.BENCH_DEBUG !== undefined) process.stderr.write(`submitted ${count} in ${((performance.now() - started) / 1000).toFixed(2)} s, ${done} completed\n`)
  await finished
  return (performance.now() - started) / 1000
}

export async function benchAsync (opts: BenchAsyncOptions = {}): Promise<BenchAsyncResult> {
  const jobs = opts.jobs ?? Number(process.env.BENCH_JOBS ?? 2_000)
  const concurrency = opts.concurrency ?? 8
  const submitters = opts.submitters ?? 32
  const action = opts.action ?? 'confluence.user.current'
  const layout = opts.layout ?? 'all'
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

  const spokeSeconds = await runSpoke({ jobs, concurrency, submitters, action, layout, redisUrl })
  const rawSeconds = await runRawBullmq({ jobs, concurrency, submitters, redisUrl })
  const spokeRate = jobs / spokeSeconds
  const rawRate = jobs / rawSeconds
  return {
    spoke: { jobsPerSecond: round(spokeRate), seconds: round(spokeSeconds, 2) },
    rawBullmq: { jobsPerSecond: round(rawRate), seconds: round(rawSeconds, 2) },
    ratio: round(spokeRate / rawRate, 3),
    settings: { jobs, concurrency, submitters, action, layout }
  }
}

interface RunSettings { jobs: number, concurrency: number, submitters: number, redisUrl: string }

/** The simulator and the spoke in their own processes; an alias on client credentials; then the timed run. */
async function runSpoke (s: RunSettings & { action: string, layout: 'all' | 'split' }): Promise<number> {
  const children: ChildProcessHandle[] = []
  const agent = new Agent({ connections: s.submitters, keepAliveTimeout: 30_000 })
  const keys = { admin: `bench_admin_${randomBytes(8).toString('hex')}`, invoker: `bench_inv_${randomBytes(8).toString('hex')}` }
  const keyPrefix = `bench${randomBytes(4).toString('hex')}`
  let events: QueueEvents | undefined
  try {
    const simPort = await freePort()
    const client = { id: 'bench-client', secret: randomBytes(16).toString('hex') }
    children.push(await startTsxProcess('test/simulator/main.ts', {
      ready: 'listening on',
      env: { SIMULATOR_PORT: String(simPort), SIMULATOR_SEED: 'bench-async', SIMULATOR_SIZE: '20', SIMULATOR_CLIENT_ID: client.id, SIMULATOR_CLIENT_SECRET: client.secret }
    }))
    const simUrl = `http://127.0.0.1:${simPort}`
    const cloudId = /cloudId ([^,)]+)/.exec(children[0].output())?.[1]
    if (cloudId === undefined) throw new Error(`the simulator did not name its site: ${children[0].output()}`)

    const port = await freePort()
    const env = {
      REDIS_URL: s.redisUrl,
      PORT: String(port),
      SPOKE_KEY_PREFIX: keyPrefix,
      SPOKE_MASTER_KEY: randomBytes(32).toString('base64'),
      SPOKE_API_KEYS: `admin:${keys.admin},invoker:${keys.invoker}`,
      SPOKE_DATA_DIR: `/tmp/spoke-bench-${keyPrefix}`,
      ATLASSIAN_AUTH_URL: simUrl,
      ATLASSIAN_API_URL: simUrl,
      LOG_LEVEL: 'warn',
      SPOKE_VALIDATE_OUTPUT: 'false',
      // The budget is not what this measures: room for every request.
      SPOKE_SITE_RATE_PER_SECOND: '100000',
      SPOKE_SITE_BURST: '10000',
      SPOKE_WORKER_CONCURRENCY: String(s.concurrency)
    }
    children.push(await startTsxProcess('src/server.ts', { env: { ...env, SPOKE_ROLE: s.layout === 'all' ? 'all' : 'api' } }))
    if (s.layout === 'split') children.push(await startTsxProcess('src/server.ts', { env: { ...env, SPOKE_ROLE: 'worker', LOG_LEVEL: 'info', PORT: '0' }, ready: 'workers started' }))
    const base = `http://127.0.0.1:${port}`
    await untilReady(base)

    const admin = { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }
    const catalogue = await call(agent, 'GET', `${base}/v1/actions/${s.action}`, admin)
    const doc = {
      name: 'Benchmark simulator',
      connectionUrl: `${simUrl}/`,
      credential: { type: 'oauth2_client_credentials', clientId: client.id, clientSecret: client.secret, scopes: catalogue.scopes[0], tokenUrl: `${simUrl}/oauth/token` },
      site: { cloudId }
    }
    await call(agent, 'PUT', `${base}/v1/connections/confluence_cloud`, admin, doc)
    await call(agent, 'POST', `${base}/v1/connections/confluence_cloud/token`, admin)

    const url = `${base}/v1/actions/${s.action}/execute`
    const headers = { authorization: `Bearer ${keys.invoker}`, 'content-type': 'application/json' }
    const body = JSON.stringify({ mode: 'async', input: {} })
    const post = async (): Promise<void> => {
      const res = await request(url, { method: 'POST', headers, body, dispatcher: agent })
      await res.body.dump()
      if (res.statusCode !== 202) throw new Error(`submit answered ${res.statusCode}`)
    }
    events = new QueueEvents(RUN_ACTION_QUEUE, { connection: { url: s.redisUrl }, prefix: bullPrefix(keyPrefix) })
    await events.waitUntilReady()
    // Warm-up: connections, the token, the JIT; then the timed run starts from an idle queue.
    await timeJobs(events, 100, s.submitters, post)
    events.removeAllListeners()
    return await timeJobs(events, s.jobs, s.submitters, post)
  } finally {
    await events?.close()
    await agent.close()
    for (const child of children.reverse()) await child.kill('SIGTERM')
    await cleanUp(s.redisUrl, keyPrefix)
  }
}

/** A no-op BullMQ worker in its own process; this process adds the jobs. */
async function runRawBullmq (s: RunSettings): Promise<number> {
  const prefix = `{bench-raw-${randomBytes(4).toString('hex')}}`
  const producer = new Redis(s.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false })
  const queue = new Queue('raw', { connection: producer, prefix, defaultJobOptions: { removeOnComplete: { age: 3600, count: 10_000 } } })
  const events = new QueueEvents('raw', { connection: { url: s.redisUrl }, prefix })
  let worker: ChildProcessHandle | undefined
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
    worker = await startTsxProcess('bench/raw-bullmq-worker.ts', {
      ready: 'raw worker ready',
      env: { REDIS_URL: s.redisUrl, RAW_PREFIX: prefix, RAW_CONCURRENCY: String(s.concurrency) }
    })
    const add = async (): Promise<void> => { await queue.add('noop', { input: {} }) }
    await timeJobs(events, 100, s.submitters, add)
    events.removeAllListeners()
    return await timeJobs(events, s.jobs, s.submitters, add)
  } finally {
    await worker?.kill('SIGTERM')
    await events.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    producer.disconnect()
  }
}

async function call (agent: Agent, method: 'GET' | 'PUT' | 'POST', url: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  const res = await request(url, { method, headers, body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body), dispatcher: agent })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${text}`)
  return JSON.parse(text)
}

async function untilReady (base: string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const res = await request(`${base}/readyz`)
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`the spoke at ${base} did not become ready`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** The spoke's keys of this run (jobs, aliases, budget) go with it. */
async function cleanUp (redisUrl: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(redisUrl)
  try {
    for (const pattern of [`${keyPrefix}:*`, `{${keyPrefix}}:*`]) {
      let cursor = '0'
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
        cursor = next
        if (found.length > 0) await redis.unlink(...found)
      } while (cursor !== '0')
    }
  } finally {
    redis.disconnect()
  }
}

if (require.main === module) {
  const layout = process.argv.includes('--split') ? 'split' : 'all'
  benchAsync({ layout }).then((r) => {
    const rows = [
      ['target', 'jobs/s', 'seconds'],
      [`spoke (${r.settings.action}, HTTP → job → simulator; ${r.settings.layout === 'all' ? 'one process' : 'api + worker processes'})`, String(r.spoke.jobsPerSecond), String(r.spoke.seconds)],
      ['raw BullMQ (no-op processor)', String(r.rawBullmq.jobsPerSecond), String(r.rawBullmq.seconds)]
    ]
    const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
    for (const row of rows) process.stdout.write(row.map((c, i) => c.padEnd(widths[i])).join('  ') + '\n')
    process.stdout.write(`ratio ${r.ratio} (goal ≥ 0.5); ${r.settings.jobs} jobs each, worker concurrency ${r.settings.concurrency}, ${r.settings.submitters} submissions in flight\n`)
    process.exit(0)
  }).catch((err) => { process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`); process.exit(1) })
}
