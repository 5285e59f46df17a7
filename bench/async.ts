// Async jobs end to end: jobs/s through HTTP for a cheap action (POST execute with mode "async" → BullMQ →
// worker → engine → simulator → completed), side by side in the same run with
// - raw BullMQ: a bare Worker with a no-op processor (the baseline), and
// - the floor: a bare node:http server + BullMQ Worker making the same upstream GET with none of the
//   spoke's features (bench/floor-runner.ts), the least any HTTP-fronted runner of this job must do.
// Same Redis, worker concurrency, job count and submissions in flight for all three.
//
// Every target has the same shape: this process submits and counts completions (QueueEvents); the work runs
// in its own process. The Confluence simulator runs in a third process: it stands in for Atlassian, whose
// CPU is not the spoke's — but on a small machine it shares the cores, so the CPU each process spent per
// job is reported too (Linux /proc).
// Run: npx tsx bench/async.ts [--split]   (benchAsync() is what `npm run bench` composes)
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { Agent, request } from 'undici'
import { Queue, QueueEvents } from 'bullmq'
import { once } from 'node:events'
import { Redis, type Cluster } from 'ioredis'
import { createRedis } from '../src/lib/redis'
import type { RedisTarget } from '../src/config/redis-target'
import { benchKeyPrefix, benchRedisEnv, benchRedisTarget } from './redis-env'
import { freePort, startTsxProcess, type ChildProcessHandle } from '../test/helpers/child-process'
import { bullPrefix, RUN_ACTION_QUEUE } from '../src/jobs/queues'

export interface BenchAsyncOptions {
  /** Jobs per target and run (default 4,000). */
  jobs?: number
  /** Worker concurrencies to run at, the same for every target (default 8 — SPOKE_WORKER_CONCURRENCY's default — and 32). */
  concurrencies?: number[]
  /** Submissions in flight at once (default 32). */
  submitters?: number
  /** `all`: one spoke process runs api and workers (default); `split`: an api process and a worker process. */
  layout?: 'all' | 'split'
}

export interface TargetResult {
  jobsPerSecond: number
  seconds: number
  /** CPU microseconds per job of each process involved (this one submits; redis is the shared server). */
  cpuMicrosPerJob: Record<string, number>
}

export interface AsyncRun {
  concurrency: number
  spoke: TargetResult
  floor: TargetResult
  rawBullmq: TargetResult
  /** spoke / raw BullMQ: the figure */
  ratio: number
  /** floor / raw BullMQ: the most any HTTP-fronted runner of this job reached here */
  floorRatio: number
  /** spoke / floor: what the spoke's own features cost */
  spokeOfFloor: number
}

export interface BenchAsyncResult {
  runs: AsyncRun[]
  settings: { jobs: number, submitters: number, action: string, layout: 'all' | 'split' }
}

const ACTION = 'confluence.user.current'
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

export async function benchAsync (opts: BenchAsyncOptions = {}): Promise<BenchAsyncResult> {
  const settings = { jobs: opts.jobs ?? Number(process.env.BENCH_JOBS ?? 4_000), submitters: opts.submitters ?? 32, action: ACTION, layout: opts.layout ?? 'all' }
  const concurrencies = opts.concurrencies ?? [8, 32]
  // The Redis the product would use from this environment (REDIS_URL, or the Sentinel or Cluster variables).
  const redis = benchRedisTarget()
  const sim = await startSimulatorProcess()
  const runs: AsyncRun[] = []
  try {
    for (const concurrency of concurrencies) {
      const s = { ...settings, concurrency, redis }
      const spoke = await runSpoke(s, sim)
      const floor = await runFloor(s, sim)
      const rawBullmq = await runRawBullmq(s)
      runs.push({
        concurrency,
        spoke,
        floor,
        rawBullmq,
        ratio: round(spoke.jobsPerSecond / rawBullmq.jobsPerSecond, 3),
        floorRatio: round(floor.jobsPerSecond / rawBullmq.jobsPerSecond, 3),
        spokeOfFloor: round(spoke.jobsPerSecond / floor.jobsPerSecond, 3)
      })
    }
  } finally {
    await sim.process.kill('SIGTERM')
  }
  return { runs, settings }
}

// --- the three targets --------------------------------------------------------------------------------

interface RunSettings { jobs: number, concurrency: number, submitters: number, redis: RedisTarget, layout: 'all' | 'split' }
export interface SimulatorProcess { process: ChildProcessHandle, url: string, cloudId: string, client: { id: string, secret: string } }

export async function startSimulatorProcess (): Promise<SimulatorProcess> {
  const port = await freePort()
  const client = { id: 'bench-client', secret: randomBytes(16).toString('hex') }
  const proc = await startTsxProcess('simulator/src/main.ts', {
    ready: 'listening on',
    env: { SIMULATOR_PORT: String(port), SIMULATOR_SEED: 'bench-async', SIMULATOR_SIZE: '20', SIMULATOR_CLIENT_ID: client.id, SIMULATOR_CLIENT_SECRET: client.secret }
  })
  const cloudId = /cloudId ([^,)]+)/.exec(proc.output())?.[1]
  if (cloudId === undefined) throw new Error(`the simulator did not name its site: ${proc.output()}`)
  return { process: proc, url: `http://127.0.0.1:${port}`, cloudId, client }
}

/** The spoke as deployed (src/server.ts), an alias on client credentials, then the timed run. */
async function runSpoke (s: RunSettings, sim: SimulatorProcess): Promise<TargetResult> {
  const children: ChildProcessHandle[] = []
  const agent = new Agent({ connections: s.submitters, keepAliveTimeout: 30_000 })
  const keys = { admin: `bench_admin_${randomBytes(8).toString('hex')}`, invoker: `bench_inv_${randomBytes(8).toString('hex')}` }
  const keyPrefix = benchKeyPrefix(`bench${randomBytes(4).toString('hex')}`, s.redis)
  const events = queueEvents(s.redis, RUN_ACTION_QUEUE, bullPrefix(keyPrefix))
  try {
    const port = await freePort()
    const env = {
      ...benchRedisEnv(),
      PORT: String(port),
      SPOKE_KEY_PREFIX: keyPrefix,
      SPOKE_MASTER_KEY: randomBytes(32).toString('base64'),
      SPOKE_API_KEYS: `admin:${keys.admin},invoker:${keys.invoker}`,
      SPOKE_DATA_DIR: `/tmp/spoke-bench-${keyPrefix}`,
      ATLASSIAN_AUTH_URL: sim.url,
      ATLASSIAN_API_URL: sim.url,
      LOG_LEVEL: 'warn',
      SPOKE_VALIDATE_OUTPUT: 'false',
      // The budget is not what this measures: room for every request.
      SPOKE_SITE_RATE_PER_SECOND: '100000',
      SPOKE_SITE_BURST: '10000',
      SPOKE_WORKER_CONCURRENCY: String(s.concurrency),
      // Throughput, not fairness: one key submits every job, far past the per-key cap.
      SPOKE_MAX_JOBS_PER_KEY: '0'
    }
    children.push(await startTsxProcess('src/server.ts', { env: { ...env, SPOKE_ROLE: s.layout === 'all' ? 'all' : 'api' } }))
    if (s.layout === 'split') children.push(await startTsxProcess('src/server.ts', { env: { ...env, SPOKE_ROLE: 'worker', LOG_LEVEL: 'info', PORT: '0' }, ready: 'workers started' }))
    const base = `http://127.0.0.1:${port}`
    await untilReady(`${base}/readyz`)

    const admin = { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }
    const action = await call(agent, 'GET', `${base}/v1/actions/${ACTION}`, admin)
    await call(agent, 'PUT', `${base}/v1/connections/confluence_cloud`, admin, {
      name: 'Benchmark simulator',
      connectionUrl: `${sim.url}/`,
      credential: { type: 'oauth2_client_credentials', clientId: sim.client.id, clientSecret: sim.client.secret, scopes: action.scopes[0], tokenUrl: `${sim.url}/oauth/token` },
      site: { cloudId: sim.cloudId }
    })
    await call(agent, 'POST', `${base}/v1/connections/confluence_cloud/token`, admin)

    await events.waitUntilReady()
    const post = httpSubmitter(agent, `${base}/v1/actions/${ACTION}/execute`, { authorization: `Bearer ${keys.invoker}` })
    return await timedRun(events, s, post, { spoke: children[0], ...(children[1] !== undefined ? { worker: children[1] } : {}), simulator: sim.process })
  } finally {
    await events.close()
    await agent.close()
    for (const child of children.reverse()) await child.kill('SIGTERM')
    await removeKeys(s.redis, [`${keyPrefix}:*`, `${bullPrefix(keyPrefix)}:*`])
  }
}

/** bench/floor-runner.ts: HTTP in, BullMQ, the same upstream GET — nothing else. */
async function runFloor (s: RunSettings, sim: SimulatorProcess): Promise<TargetResult> {
  const prefix = `{bench-floor-${randomBytes(4).toString('hex')}}`
  const agent = new Agent({ connections: s.submitters, keepAliveTimeout: 30_000 })
  const events = queueEvents(s.redis, 'floor', prefix)
  let floor: ChildProcessHandle | undefined
  try {
    floor = await startTsxProcess('bench/floor-runner.ts', {
      ready: /floor ready on \d+/,
      env: { ...benchRedisEnv(), FLOOR_PREFIX: prefix, FLOOR_CONCURRENCY: String(s.concurrency), FLOOR_SIMULATOR_URL: sim.url, FLOOR_CLOUD_ID: sim.cloudId, FLOOR_CLIENT_ID: sim.client.id, FLOOR_CLIENT_SECRET: sim.client.secret }
    })
    const port = /floor ready on (\d+)/.exec(floor.output())?.[1] ?? ''
    await events.waitUntilReady()
    return await timedRun(events, s, httpSubmitter(agent, `http://127.0.0.1:${port}/execute`, {}), { floor, simulator: sim.process })
  } finally {
    await events.close()
    await agent.close()
    await floor?.kill('SIGTERM')
    await removeKeys(s.redis, [`${prefix}:*`])
  }
}

/** A no-op BullMQ worker in its own process (bench/raw-bullmq-worker.ts); this process adds the jobs. */
async function runRawBullmq (s: RunSettings): Promise<TargetResult> {
  const prefix = `{bench-raw-${randomBytes(4).toString('hex')}}`
  const producer = createRedis(s.redis, 'producer')
  const queue = new Queue('raw', { connection: producer, prefix, defaultJobOptions: { removeOnComplete: { age: 3600, count: 10_000 } } })
  const events = queueEvents(s.redis, 'raw', prefix)
  let worker: ChildProcessHandle | undefined
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
    worker = await startTsxProcess('bench/raw-bullmq-worker.ts', {
      ready: 'raw worker ready',
      env: { ...benchRedisEnv(), RAW_PREFIX: prefix, RAW_CONCURRENCY: String(s.concurrency) }
    })
    return await timedRun(events, s, async () => { await queue.add('noop', { input: {} }) }, { worker })
  } finally {
    await worker?.kill('SIGTERM')
    await events.close()
    await queue.obliterate({ force: true }).catch(() => {})
    await queue.close()
    producer.disconnect()
  }
}

// --- measuring ----------------------------------------------------------------------------------------

/** POST { mode: "async", input: {} } and expect 202. */
export function httpSubmitter (agent: Agent, url: string, headers: Record<string, string>): () => Promise<void> {
  const body = JSON.stringify({ mode: 'async', input: {} })
  const all = { ...headers, 'content-type': 'application/json' }
  return async () => {
    const res = await request(url, { method: 'POST', headers: all, body, dispatcher: agent })
    await res.body.dump()
    if (res.statusCode !== 202) throw new Error(`submit answered ${res.statusCode}`)
  }
}

/** A warm-up of 100 jobs (connections, tokens, JIT), then `jobs` timed from first submission to last completion. */
async function timedRun (events: QueueEvents, s: RunSettings, submit: () => Promise<void>, processes: Record<string, ChildProcessHandle>): Promise<TargetResult> {
  await timeJobs(events, 100, s.submitters, submit)
  events.removeAllListeners()
  const cpu = cpuMeter({ submitter: process.pid, ...Object.fromEntries(Object.entries(processes).map(([k, p]) => [k, p.proc.pid])) })
  const seconds = await timeJobs(events, s.jobs, s.submitters, submit)
  events.removeAllListeners()
  return { jobsPerSecond: round(s.jobs / seconds), seconds: round(seconds, 2), cpuMicrosPerJob: cpu.perJob(s.jobs) }
}

/** Seconds from the first submission to the `count`-th completion (rejects on the first failure). */
export async function timeJobs (events: QueueEvents, count: number, inFlight: number, submit: () => Promise<void>): Promise<number> {
  let done = 0
  const finished = new Promise<void>((resolve, reject) => {
    events.on('completed', () => { if (++done === count) resolve() })
    events.on('failed', ({ jobId, failedReason }) => reject(new Error(`job ${jobId} failed: ${failedReason}`)))
  })
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: inFlight }, async () => { while (next < count) { next++; await submit() } }))
  await finished
  return (performance.now() - started) / 1000
}

/** CPU time per job of each process and of Redis, from /proc (Linux; nothing elsewhere). */
export function cpuMeter (pids: Record<string, number | undefined>): { perJob: (jobs: number) => Record<string, number> } {
  if (!existsSync('/proc/self/stat')) return { perJob: () => ({}) }
  const cpuTicks = (pid: number): number => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return Number(f[11]) + Number(f[12]) // utime + stime
    } catch { return 0 }
  }
  const redis = readdirSync('/proc').find(d => { try { return /^\d+$/.test(d) && readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('redis-server') } catch { return false } })
  const targets = Object.entries({ ...pids, redis: redis === undefined ? undefined : Number(redis) }).filter((e): e is [string, number] => e[1] !== undefined)
  const before = targets.map(([, pid]) => cpuTicks(pid))
  const tickMicros = 1_000_000 / 100 // USER_HZ
  return {
    perJob: (jobs) => Object.fromEntries(targets.map(([name, pid], i) => [name, Math.round((cpuTicks(pid) - before[i]) * tickMicros / jobs)]))
  }
}

// --- plumbing -----------------------------------------------------------------------------------------

async function call (agent: Agent, method: 'GET' | 'PUT' | 'POST', url: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  const res = await request(url, { method, headers, body: body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body), dispatcher: agent })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${text}`)
  return JSON.parse(text)
}

async function untilReady (url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const res = await request(url)
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not become ready`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** QueueEvents on its own connection to the target; closing it closes that connection too. */
function queueEvents (redis: RedisTarget, name: string, prefix: string): QueueEvents {
  const connection = createRedis(redis, 'worker')
  const events = new QueueEvents(name, { connection, prefix })
  const close = events.close.bind(events)
  events.close = async () => { try { await close() } finally { connection.disconnect() } }
  return events
}

export async function removeKeys (redis: RedisTarget | string, patterns: string[]): Promise<void> {
  await forEachKeys(redis, patterns, async (node, keys) => { await node.unlink(...keys) })
}

/**
 * Calls `fn` with each batch of keys matching `patterns` (SCAN) and the node that holds them: the one Redis,
 * or each primary of a Cluster. `redis` is a URL or the product's Redis target (config/redis-target.ts).
 */
export async function forEachKeys (redis: RedisTarget | string, patterns: string[], fn: (node: Redis, keys: string[]) => Promise<void>): Promise<void> {
  const client = createRedis(redis, 'worker')
  try {
    const cluster = typeof redis !== 'string' && redis.mode === 'cluster'
    if (cluster) await once(client, 'ready')
    const nodes = cluster ? (client as unknown as Cluster).nodes('master') : [client]
    for (const node of nodes) {
      for (const pattern of patterns) {
        let cursor = '0'
        do {
          const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
          cursor = next
          if (found.length > 0) await fn(node, found)
        } while (cursor !== '0')
      }
    }
  } finally {
    client.disconnect()
  }
}

export function formatAsync (r: BenchAsyncResult): string {
  const cpu = (t: TargetResult): string => Object.entries(t.cpuMicrosPerJob).map(([k, v]) => `${k} ${v}`).join(', ')
  const rows = [['concurrency', 'target', 'jobs/s', 'of raw', 'CPU µs per job']]
  for (const run of r.runs) {
    rows.push([String(run.concurrency), `spoke (${r.settings.layout === 'all' ? 'one process' : 'api + worker'})`, String(run.spoke.jobsPerSecond), run.ratio.toFixed(3), cpu(run.spoke)])
    rows.push(['', 'floor (bare HTTP + BullMQ + GET)', String(run.floor.jobsPerSecond), run.floorRatio.toFixed(3), cpu(run.floor)])
    rows.push(['', 'raw BullMQ (no-op)', String(run.rawBullmq.jobsPerSecond), '1', cpu(run.rawBullmq)])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
  return rows.map(row => row.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n') +
    `\n${r.settings.jobs} jobs per target, ${r.settings.submitters} submissions in flight, action ${r.settings.action}; goal: spoke ≥ 0.5 of raw\n`
}

if (require.main === module) {
  benchAsync({ layout: process.argv.includes('--split') ? 'split' : 'all' }).then((r) => {
    process.stdout.write(formatAsync(r))
    process.exit(0)
  }).catch((err) => { process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`); process.exit(1) })
}
