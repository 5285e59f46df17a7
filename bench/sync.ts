// Sync action overhead: the spoke running confluence.page.get against the simulator, side by side with a
// bare pass-through proxy that forwards the same get-page request to the same simulator with a valid token
// (no validation, no mapping). Same concurrency, same duration, one after the other.
// Run: npx tsx bench/sync.ts   (prints a table; benchSync() is what `npm run bench` composes)
// BENCH_TRACING=on: the spoke with OpenTelemetry tracing on (every request sampled), exporting OTLP/HTTP
// protobuf to a local sink that only counts what it receives; off (the default) is the production default.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { startSimulator } from 'confluence-cloud-simulator'
import { buildTestSpoke } from '../test/helpers/spoke'
import { benchRedisEnv } from './redis-env'
import { connectSimulatorAlias, listen, simulatorEnv } from '../test/helpers/connect'

// autocannon ships no types; this is the part used here.
interface CannonResult { requests: { average: number }, latency: { p50: number, p99: number }, non2xx: number, errors: number, timeouts: number }
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>
const autocannon = require('autocannon') as Cannon

const LATENCY_SAMPLES = 500
const ROUNDS = 5

function median (figures: Figures[]): Figures {
  const mid = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  return { rps: mid(figures.map(f => f.rps)), p50: mid(figures.map(f => f.p50)), p99: mid(figures.map(f => f.p99)) }
}

export interface BenchSyncOptions {
  /** Concurrent connections for both targets (default 16). */
  connections?: number
  /** Seconds per target and round (default 3; three rounds), after a 1 s warm-up each. */
  duration?: number
  /** Validate each output against its schema, as tests do (default false: the production default). */
  validateOutput?: boolean
  /** OpenTelemetry tracing on, exporting to a local sink (default: BENCH_TRACING=on). */
  tracing?: boolean
}

/** rps under load; p50/p99 in ms, one request at a time. */
export interface Figures { rps: number, p50: number, p99: number }
export interface BenchSyncResult {
  spoke: Figures
  passthrough: Figures
  /** spoke rps / pass-through rps */
  ratio: number
  addedP50Ms: number
  addedP99Ms: number
  settings: { connections: number, duration: number, validateOutput: boolean, tracing: boolean }
  /** With tracing on: the export requests and bytes the sink received. */
  exported?: { requests: number, bytes: number }
}

export async function benchSync (opts: BenchSyncOptions = {}): Promise<BenchSyncResult> {
  const connections = opts.connections ?? 16
  const duration = opts.duration ?? 3
  const validateOutput = opts.validateOutput ?? false
  const tracing = opts.tracing ?? process.env.BENCH_TRACING === 'on'
  const sink = tracing ? await traceSink() : undefined
  const sim = await startSimulator({ seed: 'bench-sync', size: 200 })
  const spoke = await buildTestSpoke({ ...benchRedisEnv(), ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_VALIDATE_OUTPUT: String(validateOutput), ...(sink?.env ?? {}) })
  let proxy: Server | undefined
  const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 })
  try {
    await connectSimulatorAlias(spoke, sim, { grant: 'client_credentials' })
    const pageId = sim.data.spaces().find(s => s.homepageId !== null)!.homepageId!
    const spokeUrl = await listen(spoke)

    const token = sim.issueToken({ ttlSeconds: 3600 }).accessToken
    const upstreamPath = `/ex/confluence/${sim.defaultCloudId}/wiki/api/v2/pages/${pageId}?body-format=storage`
    proxy = createServer((req, res) => {
      req.resume()
      agent.request({ origin: sim.url, path: upstreamPath, method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'application/json' } })
        .then(async (up) => {
          const body = await up.body.arrayBuffer()
          res.writeHead(up.statusCode, { 'content-type': 'application/json' })
          res.end(Buffer.from(body))
        })
        .catch(() => { res.writeHead(502); res.end() })
    })
    await new Promise<void>(resolve => proxy!.listen(0, '127.0.0.1', resolve))
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`

    const spokeTarget = {
      url: `${spokeUrl}/v1/actions/confluence.page.get/execute`,
      method: 'POST',
      headers: { authorization: `Bearer ${spoke.keys.invoker}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { pageId } })
    }
    const proxyTarget = { url: proxyUrl, method: 'GET' }

    // Throughput: autocannon at `connections`. Latency: one request at a time, timed in microseconds
    // (autocannon's whole-millisecond latencies at high concurrency mostly measure queueing).
    const measure = async (target: { url: string, method: string, headers?: Record<string, string>, body?: string }): Promise<Figures> => {
      await autocannon({ ...target, connections, duration: 1 })
      const r = await autocannon({ ...target, connections, duration })
      if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${target.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`)
      const times: number[] = []
      for (let i = 0; i < LATENCY_SAMPLES + 50; i++) {
        const started = process.hrtime.bigint()
        const res = await agent.request({ origin: new URL(target.url).origin, path: new URL(target.url).pathname, method: target.method as 'GET', headers: target.headers, body: target.body })
        await res.body.dump()
        if (i >= 50) times.push(Number(process.hrtime.bigint() - started) / 1e6)
      }
      times.sort((a, b) => a - b)
      const pct = (p: number): number => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 1000) / 1000
      return { rps: Math.round(r.requests.average), p50: pct(0.5), p99: pct(0.99) }
    }
    // Alternate the targets over a few rounds and keep the medians: background load on the machine then
    // hits both sides alike instead of skewing one of them.
    const rounds: Array<{ spoke: Figures, passthrough: Figures }> = []
    for (let i = 0; i < ROUNDS; i++) rounds.push({ passthrough: await measure(proxyTarget), spoke: await measure(spokeTarget) })
    const passthrough = median(rounds.map(r => r.passthrough))
    const spokeFigures = median(rounds.map(r => r.spoke))
    return {
      spoke: spokeFigures,
      passthrough,
      ratio: Math.round((spokeFigures.rps / passthrough.rps) * 1000) / 1000,
      addedP50Ms: Math.round((spokeFigures.p50 - passthrough.p50) * 1000) / 1000,
      addedP99Ms: Math.round((spokeFigures.p99 - passthrough.p99) * 1000) / 1000,
      settings: { connections, duration, validateOutput, tracing },
      ...(sink !== undefined ? { exported: sink.received } : {})
    }
  } finally {
    if (proxy) await new Promise<void>(resolve => proxy!.close(() => resolve()))
    await agent.close()
    await spoke.close()
    await sim.close()
    await sink?.close()
  }
}

/** An OTLP/HTTP receiver that answers 200 and counts; its OTEL_* variables (also set on process.env, where the SDK reads them). */
async function traceSink (): Promise<{ env: Record<string, string>, received: { requests: number, bytes: number }, close: () => Promise<void> }> {
  const received = { requests: 0, bytes: 0 }
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => { received.bytes += c.length })
    req.on('end', () => { received.requests++; res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
  Object.assign(process.env, env)
  return { env, received, close: async () => { await new Promise<void>(resolve => server.close(() => resolve())) } }
}

if (require.main === module) {
  benchSync().then((r) => {
    console.table({ spoke: r.spoke, passthrough: r.passthrough })
    console.log(`tracing ${r.settings.tracing ? 'on' : 'off'}: throughput ratio ${(r.ratio * 100).toFixed(1)}% (goal ≥ 75%), added p50 ${r.addedP50Ms} ms (goal ≤ 1 ms), added p99 ${r.addedP99Ms} ms`)
    console.log(JSON.stringify(r))
  }).catch((err) => { console.error(err); process.exitCode = 1 })
}
