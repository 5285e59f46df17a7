// Benchmark of the simulator itself: starts it in its own process with a 100,000-page site (so the load
// generator does not share its event loop), reports its RSS after seeding, then load-tests get-page by id
// with autocannon. Run directly: `npx tsx bench/simulator-get-page.ts`.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

// autocannon ships no types; this is the part of its API used here
interface AutocannonResult {
  requests: { average: number, total: number }
  latency: { p50: number, p90: number, p99: number }
  non2xx: number
  errors: number
}
type Autocannon = (options: {
  url: string
  connections: number
  duration: number
  headers: Record<string, string>
  requests: Array<{ method: string, setupRequest: (req: Record<string, unknown>) => Record<string, unknown> }>
}) => Promise<AutocannonResult>
const autocannon = require('autocannon') as Autocannon

export interface SimulatorGetPageOptions {
  pages?: number
  durationSeconds?: number
  connections?: number
  bodyFormat?: 'storage' | 'atlas_doc_format' | 'view'
}

export interface SimulatorGetPageResult {
  pages: number
  startupMs: number
  rssAfterSeedMb: number
  heapUsedAfterSeedMb: number
  rssAfterLoadMb: number
  connections: number
  durationSeconds: number
  requests: number
  requestsPerSecond: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  non2xx: number
  errors: number
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024 * 10) / 10

export async function benchSimulatorGetPage (opts: SimulatorGetPageOptions = {}): Promise<SimulatorGetPageResult> {
  const pages = opts.pages ?? 100_000
  const durationSeconds = opts.durationSeconds ?? 5
  const connections = opts.connections ?? 32
  const started = Date.now()
  const { child, url } = await startSimulatorProcess(pages)
  const startupMs = Date.now() - started
  try {
    const control = async (route: string, init?: RequestInit): Promise<any> => await (await fetch(`${url}/__sim${route}`, init)).json()
    const afterSeed = (await control('/process')).memory as NodeJS.MemoryUsage
    const info = await control('/info')
    const { accessToken } = await control('/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scopes: ['read:page:confluence'] }) })
    // a sample spread over the whole site, all readable by the admin token
    const ids: string[] = []
    for (let offset = 0; offset < pages; offset += Math.ceil(pages / 64)) {
      const { results } = await control(`/sites/${info.defaultCloudId as string}/content?kind=page&offset=${offset}&limit=64`)
      ids.push(...results.map((r: { id: string }) => r.id))
    }
    let next = 0
    const result = await autocannon({
      url,
      connections,
      duration: durationSeconds,
      headers: { authorization: `Bearer ${accessToken as string}` },
      requests: [{
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: `/ex/confluence/${info.defaultCloudId as string}/wiki/api/v2/pages/${ids[next++ % ids.length]}?body-format=${opts.bodyFormat ?? 'storage'}` })
      }]
    })
    const { invalidRequests } = await control('/invalid-requests')
    if (invalidRequests.length > 0) throw new Error(`${invalidRequests.length as number} requests of the benchmark were spec-invalid`)
    const afterLoad = (await control('/process')).memory as NodeJS.MemoryUsage
    return {
      pages,
      startupMs,
      rssAfterSeedMb: mb(afterSeed.rss),
      heapUsedAfterSeedMb: mb(afterSeed.heapUsed),
      rssAfterLoadMb: mb(afterLoad.rss),
      connections,
      durationSeconds,
      requests: result.requests.total,
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p90Ms: result.latency.p90,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors
    }
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

async function startSimulatorProcess (pages: number): Promise<{ child: ChildProcess, url: string }> {
  const main = require.resolve('confluence-cloud-simulator/main')
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), main], {
    env: { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_SIZE: String(pages), SIMULATOR_SEED: '1' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let output = ''
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    output += chunk.toString()
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1]
    if (url) return { child, url }
  }
  throw new Error(`the simulator exited before listening: ${output}`)
}

if (require.main === module) {
  benchSimulatorGetPage().then((r) => { console.table(r) }, (err: Error) => { console.error(err); process.exit(1) })
}
