// The crawl benchmark (docs/crawl.md, Measured): the simulator in a process of its own with a large seeded
// `nested` site and its per-second rate limit set, two spoke worker processes each crawling half of the
// spaces at once (confluence.content.crawl, file sink), sharing the spoke's per-site budget (set to the
// simulator's limit). Reports items/s against what the limit allows at the crawl's measured requests per
// item, the 429s the simulator served as a share of its requests, and the peak RSS (VmHWM) of each crawling
// process, at each size. Figures are printed and written to bench/results, never asserted.
// Run: npx tsx bench/crawl.ts   (BENCH_CRAWL_PAGES=7700,77000 BENCH_CRAWL_RATE=2000; benchCrawl() is what `npm run bench` composes)
// BENCH_CRAWL_TYPES=page,blogpost,attachment,comment adds comments (those of attachments too, unless
// BENCH_CRAWL_ATTACHMENT_COMMENTS=false); items then count the comments exported.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { request } from 'undici'
import { buildTestSpoke } from '../test/helpers/spoke'
import { benchRedisEnv } from './redis-env'
import { connectSimulatorAlias, simulatorEnv } from '../test/helpers/connect'
import { freePort, startTsxProcess, type ChildProcessHandle } from '../test/helpers/child-process'
import { submitJob, waitForJob } from '../test/helpers/jobs'
import { startWorkerProcess } from '../test/helpers/worker-process'

export interface CrawlRun {
  pages: number
  siteItems: number
  exportedItems: number
  seconds: number
  itemsPerSecond: number
  requests: number
  rateLimited: number
  rateLimitedShare: number
  requestsPerItem: number
  limitPerSecond: number
  /** items/s the limit allows at the measured requests per item */
  allowedItemsPerSecond: number
  ratio: number
  peakRssMb: number[]
  idleRssMb: number[]
  types: string[]
  /** requests to `attachments/{id}/footer-comments` */
  attachmentCommentListings: number
}
export interface BenchCrawlResult { limitPerSecond: number, runs: CrawlRun[], rssGrowth?: number }

const MB = 1024 * 1024

function memoryOf (pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  if (pid === undefined) return 0
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024 / MB
  } catch { return 0 }
}

async function json (url: string, init: { method?: 'GET' | 'POST', headers?: Record<string, string>, body?: string } = {}): Promise<any> {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body })
  const text = await res.body.text()
  return text === '' ? undefined : JSON.parse(text)
}

async function runOne (pages: number, rate: number): Promise<CrawlRun> {
  const port = await freePort()
  const simUrl = `http://127.0.0.1:${port}`
  const simProc = await startTsxProcess('bench/crawl-simulator.ts', {
    env: { BENCH_CRAWL_PAGES: String(pages), BENCH_CRAWL_RATE: String(rate), BENCH_CRAWL_PORT: String(port), NODE_OPTIONS: '--max-old-space-size=2048' },
    ready: /listening on/, timeoutMs: 180_000
  })
  const info = /cloudId=(\S+) items=(\d+)/.exec(simProc.output())
  const cloudId = info?.[1] as string
  const budget = { SPOKE_SITE_RATE_PER_SECOND: String(rate), SPOKE_SITE_BURST: String(Math.max(1, Math.floor(rate / 20))) }
  const t = await buildTestSpoke({ ...benchRedisEnv(), ...simulatorEnv({ url: simUrl }), LOG_LEVEL: 'warn', ...budget })
  const workers: ChildProcessHandle[] = []
  try {
    await connectSimulatorAlias(t, { url: simUrl, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', defaultCloudId: cloudId }, { grant: 'client_credentials' })
    const dataDir = `/tmp/bench-crawl-${randomUUID()}`
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(t, simUrl, { ...budget, SPOKE_DATA_DIR: dataDir, SPOKE_WORKER_CONCURRENCY: '1' }))
    const idleRssMb = workers.map((w) => memoryOf(w.proc.pid, 'VmRSS'))
    const token = (await json(`${simUrl}/__sim/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).accessToken as string
    const spaces = (await json(`${simUrl}/ex/confluence/${cloudId}/wiki/api/v2/spaces?limit=250`, { headers: { authorization: `Bearer ${token}` } })).results.map((s: { key: string }) => s.key) as string[]
    await json(`${simUrl}/__sim/reset`, { method: 'POST' })
    const started = Date.now()
    const halves = [spaces.filter((_, i) => i % 2 === 0), spaces.filter((_, i) => i % 2 === 1)]
    const types = (process.env.BENCH_CRAWL_TYPES ?? 'page,blogpost,attachment').split(',')
    const extra = { types, ...(process.env.BENCH_CRAWL_ATTACHMENT_COMMENTS === 'false' ? { attachmentComments: false } : {}) }
    const ids = await Promise.all(halves.map(async (include, i) => await submitJob(t, 'confluence.content.crawl', { input: { spaces: { include }, ...extra, sink: { type: 'file', path: `bench/${pages}-${i}.ndjson` } } })))
    const jobs = await Promise.all(ids.map(async (id) => await waitForJob(t, id, undefined, 60 * 60_000)))
    const seconds = (Date.now() - started) / 1000
    for (const j of jobs) if (j.state !== 'completed') throw new Error(`crawl job ${String(j.id)} ended ${String(j.state)}: ${JSON.stringify(j.error)}`)
    const peakRssMb = workers.map((w) => memoryOf(w.proc.pid, 'VmHWM'))
    const counters = await json(`${simUrl}/__sim/counters`)
    const rateLimited = Number(counters.byStatus?.['429'] ?? 0)
    const requests = Number(counters.requests)
    const exportedItems = jobs.reduce((n, j) => n + ['page', 'blogpost', 'attachment', 'comment'].reduce((m, k) => m + Number(j.result.counts[k] ?? 0), 0), 0)
    const served = requests - rateLimited
    const requestsPerItem = served / exportedItems
    const allowedItemsPerSecond = rate / requestsPerItem
    const itemsPerSecond = exportedItems / seconds
    return {
      pages, siteItems: Number(info?.[2]), exportedItems, seconds, itemsPerSecond, requests, rateLimited, rateLimitedShare: rateLimited / requests,
      requestsPerItem, limitPerSecond: rate, allowedItemsPerSecond, ratio: itemsPerSecond / allowedItemsPerSecond, peakRssMb, idleRssMb,
      types, attachmentCommentListings: Number(counters.byOperation?.getAttachmentComments ?? 0)
    }
  } finally {
    for (const w of workers) await w.kill('SIGKILL')
    await t.close()
    await simProc.kill('SIGKILL')
  }
}

export async function benchCrawl (opts: { pages?: number[], rate?: number } = {}): Promise<BenchCrawlResult> {
  const sizes = opts.pages ?? (process.env.BENCH_CRAWL_PAGES ?? '7700,77000').split(',').map(Number)
  const rate = opts.rate ?? Number(process.env.BENCH_CRAWL_RATE ?? 2000)
  const runs: CrawlRun[] = []
  for (const pages of sizes) {
    process.stderr.write(`crawl bench: ${pages} pages at ${rate} requests/s\n`)
    runs.push(await runOne(pages, rate))
  }
  const first = runs[0]
  const last = runs[runs.length - 1]
  return { limitPerSecond: rate, runs, ...(runs.length > 1 ? { rssGrowth: Math.max(...last.peakRssMb) / Math.max(...first.peakRssMb) } : {}) }
}

export function describeRun (r: CrawlRun): string {
  return `${r.exportedItems} items (${r.pages} pages; ${r.types.join(',')}; ${r.attachmentCommentListings} attachment comment listings) in ${r.seconds.toFixed(1)} s: ${r.itemsPerSecond.toFixed(0)} items/s of ${r.allowedItemsPerSecond.toFixed(0)} allowed ` +
    `(${r.limitPerSecond} requests/s ÷ ${r.requestsPerItem.toFixed(2)} requests/item) = ${(r.ratio * 100).toFixed(1)}%; 429s ${r.rateLimited} of ${r.requests} requests = ${(r.rateLimitedShare * 100).toFixed(2)}%; ` +
    `peak RSS per crawling worker ${r.peakRssMb.map((m) => m.toFixed(0)).join(' / ')} MB (idle ${r.idleRssMb.map((m) => m.toFixed(0)).join(' / ')} MB)`
}

if (require.main === module) {
  benchCrawl().then((r) => {
    for (const run of r.runs) process.stdout.write(`crawl: ${describeRun(run)}\n`)
    if (r.rssGrowth !== undefined) process.stdout.write(`crawl: peak RSS ${r.runs[r.runs.length - 1].pages} vs ${r.runs[0].pages} pages: ×${r.rssGrowth.toFixed(2)}\n`)
    mkdirSync(join(__dirname, 'results'), { recursive: true })
    writeFileSync(join(__dirname, 'results', 'crawl.json'), JSON.stringify({ at: new Date().toISOString(), ...r }, null, 2) + '\n')
    process.stdout.write('written: bench/results/crawl.json\n')
    process.exit(0)
  }).catch((err) => { process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`); process.exit(1) })
}
