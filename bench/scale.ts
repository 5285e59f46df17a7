// Throughput against a slow upstream as worker processes are added: the simulator (its own process) answers
// every Confluence call 100–200 ms late and has no rate limit; one api process takes the jobs; N = 1, 2, 3
// worker processes (each its own process, the same concurrency each) run them. This process is the load
// generator: it submits a fixed number of async jobs over HTTP and counts completions (BullMQ QueueEvents).
// Figures are jobs/s and upstream calls/s, and each N's ratio to N = 1 of the same run; never asserted.
// Redis is what the product would use from this environment: REDIS_URL, or the Sentinel or Cluster variables
// (on a Cluster the key prefix is hash-tagged and every primary is scanned for the deployment's keys).
// Run: flock /tmp/bench.lock npx tsx bench/scale.ts   (benchScale() is what `npm run bench` composes)
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import os from 'node:os'
import { Agent, request } from 'undici'
import { QueueEvents } from 'bullmq'
import { bullPrefix, RUN_ACTION_QUEUE } from '../src/jobs/queues'
import { createRedis } from '../src/lib/redis'
import type { RedisTarget } from '../src/config/redis-target'
import type { ChildProcessHandle } from '../test/helpers/child-process'
import { connectClientCredentials, newDeployment, startApiProcess, startWorkerProc } from '../test/helpers/spoke-processes'
import { cpuMeter, forEachKeys, httpSubmitter, removeKeys, startSimulatorProcess, timeJobs, type SimulatorProcess } from './async'

export interface BenchScaleOptions {
  /** Worker process counts to run (default 1, 2, 3). */
  processes?: number[]
  /** Jobs per run (default 600). */
  jobs?: number
  /** SPOKE_WORKER_CONCURRENCY of every worker process (default 8, its default). */
  concurrency?: number
  /** Upstream latency: latencyMs plus up to jitterMs more (default 100 + 100). */
  latencyMs?: number
  jitterMs?: number
}

export interface ScaleRun {
  workerProcesses: number
  jobsPerSecond: number
  upstreamCallsPerSecond: number
  seconds: number
  /** jobs/s of this run over jobs/s of one worker process */
  ratio: number
  /** CPU µs per job of each process (api, worker1…, simulator, redis, submitter) */
  cpuMicrosPerJob: Record<string, number>
  /** MEMORY USAGE of the deployment's keys per finished job (kept for the completed-job retention): for sizing maxmemory. */
  redisBytesPerJob: number
}

export interface BenchScaleResult {
  runs: ScaleRun[]
  settings: { jobs: number, concurrency: number, latencyMs: string, action: string, submitters: number }
  loadavg: { before: number[], after: number[] }
}

const ACTION = 'confluence.user.current'
const SUBMITTERS = 32
const WARM_UP = 50
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits

export async function benchScale (opts: BenchScaleOptions = {}): Promise<BenchScaleResult> {
  const jobs = opts.jobs ?? Number(process.env.BENCH_JOBS ?? 600)
  const concurrency = opts.concurrency ?? 8
  const latencyMs = opts.latencyMs ?? 100
  const jitterMs = opts.jitterMs ?? 100
  const before = os.loadavg()
  const sim = await startSimulatorProcess()
  const runs: ScaleRun[] = []
  try {
    const faults = await request(`${sim.url}/__sim/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ latencyMs, latencyJitterMs: jitterMs }) })
    await faults.body.dump()
    for (const n of opts.processes ?? [1, 2, 3]) {
      const run = await runWith(n, { jobs, concurrency }, sim)
      runs.push({ ...run, ratio: round(run.jobsPerSecond / (runs[0]?.jobsPerSecond ?? run.jobsPerSecond), 2) })
    }
  } finally {
    await sim.process.kill('SIGTERM')
  }
  return { runs, settings: { jobs, concurrency, latencyMs: `${latencyMs}–${latencyMs + jitterMs}`, action: ACTION, submitters: SUBMITTERS }, loadavg: { before, after: os.loadavg() } }
}

/** A fresh deployment (own key prefix): one api process, `n` worker processes; a warm-up, then the timed jobs. */
async function runWith (n: number, s: { jobs: number, concurrency: number }, sim: SimulatorProcess): Promise<Omit<ScaleRun, 'ratio'>> {
  const d = newDeployment(sim.url, {
    NODE_ENV: 'production',
    SPOKE_PREFLIGHT: 'warn',
    SPOKE_VALIDATE_OUTPUT: 'false',
    // The budget is not what this measures: room for every request.
    SPOKE_SITE_RATE_PER_SECOND: '100000',
    SPOKE_SITE_BURST: '10000',
    SPOKE_WORKER_CONCURRENCY: String(s.concurrency)
  })
  // The Redis the product is configured for (REDIS_URL, or Sentinel / Cluster variables), as its processes load it.
  const { redis, keyPrefix } = d.config
  const children: ChildProcessHandle[] = []
  const agent = new Agent({ connections: SUBMITTERS, keepAliveTimeout: 30_000 })
  const connection = createRedis(redis, 'worker')
  const events = new QueueEvents(RUN_ACTION_QUEUE, { connection, prefix: bullPrefix(keyPrefix) })
  try {
    const api = await startApiProcess(d)
    children.push(api)
    const workers = await Promise.all(Array.from({ length: n }, async () => await startWorkerProc(d, { LOG_LEVEL: 'info' })))
    children.push(...workers)
    await connectClientCredentials(api.base, d, { url: sim.url, clientId: sim.client.id, clientSecret: sim.client.secret, defaultCloudId: sim.cloudId })
    await events.waitUntilReady()
    const submit = httpSubmitter(agent, `${api.base}/v1/actions/${ACTION}/execute`, { authorization: `Bearer ${d.keys.invoker}` })

    await timeJobs(events, WARM_UP, SUBMITTERS, submit)
    events.removeAllListeners()
    const callsBefore = await upstreamCalls(sim)
    const cpu = cpuMeter({ submitter: process.pid, api: api.proc.pid, ...Object.fromEntries(workers.map((w, i) => [`worker${i + 1}`, w.proc.pid])), simulator: sim.process.proc.pid })
    const seconds = await timeJobs(events, s.jobs, SUBMITTERS, submit)
    events.removeAllListeners()
    const calls = await upstreamCalls(sim) - callsBefore
    const redisBytesPerJob = Math.round(await keysMemory(redis, [`${keyPrefix}:*`, `${bullPrefix(keyPrefix)}:*`]) / (s.jobs + WARM_UP))
    return { workerProcesses: n, jobsPerSecond: round(s.jobs / seconds), upstreamCallsPerSecond: round(calls / seconds), seconds: round(seconds, 2), cpuMicrosPerJob: cpu.perJob(s.jobs), redisBytesPerJob }
  } finally {
    await events.close()
    connection.disconnect()
    await agent.close()
    await Promise.all(children.map(async c => await c.kill('SIGTERM')))
    await removeKeys(redis, [`${keyPrefix}:*`, `${bullPrefix(keyPrefix)}:*`])
  }
}

/** Bytes Redis holds for the keys matching `patterns` (MEMORY USAGE of each). */
async function keysMemory (target: RedisTarget, patterns: string[]): Promise<number> {
  let bytes = 0
  await forEachKeys(target, patterns, async (node, keys) => {
    const sizes = await Promise.all(keys.map(async k => await node.memory('USAGE', k)))
    bytes += sizes.reduce<number>((sum, b) => sum + Number(b ?? 0), 0)
  })
  return bytes
}

/** Confluence API calls the simulator has served so far (token requests excluded). */
async function upstreamCalls (sim: SimulatorProcess): Promise<number> {
  const res = await request(`${sim.url}/__sim/counters`)
  const c = await res.body.json() as { byOperation: Record<string, number> }
  return Object.entries(c.byOperation).filter(([op]) => !op.startsWith('oauth.')).reduce((sum, [, count]) => sum + count, 0)
}

export function formatScale (r: BenchScaleResult): string {
  const rows = [['worker processes', 'jobs/s', 'upstream calls/s', 'of 1 process', 'Redis bytes per job', 'CPU µs per job']]
  for (const run of r.runs) rows.push([String(run.workerProcesses), String(run.jobsPerSecond), String(run.upstreamCallsPerSecond), `×${run.ratio.toFixed(2)}`, String(run.redisBytesPerJob), Object.entries(run.cpuMicrosPerJob).map(([k, v]) => `${k} ${v}`).join(', ')])
  const widths = rows[0].map((_, i) => Math.max(...rows.map(row => row[i].length)))
  return rows.map(row => row.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n') +
    `\n${r.settings.jobs} jobs per run of ${r.settings.action}, concurrency ${r.settings.concurrency} per worker process, upstream latency ${r.settings.latencyMs} ms, ` +
    `${r.settings.submitters} submissions in flight; load average before ${r.loadavg.before.map(l => l.toFixed(2)).join(' ')}, after ${r.loadavg.after.map(l => l.toFixed(2)).join(' ')}\n`
}

if (require.main === module) {
  benchScale().then((r) => {
    process.stdout.write(formatScale(r))
    mkdirSync(join(__dirname, 'results'), { recursive: true })
    writeFileSync(join(__dirname, 'results', 'scale.json'), JSON.stringify({ at: new Date().toISOString(), ...r }, null, 2) + '\n')
    process.stdout.write('written: bench/results/scale.json\n')
    process.exit(0)
  }).catch((err) => { process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`); process.exit(1) })
}
