// A read tool through MCP vs the same execute over the JSON API: confluence.page.get against the simulator,
// as a tools/call POSTed to /mcp (stateless, answered as JSON) and as POST /v1/actions/confluence.page.get/execute,
// same spoke, same concurrency, alternating rounds, medians kept. The difference is the MCP layer: the SDK's
// server and transport built per request, JSON-RPC framing, the tool's argument split.
// Run: npx tsx bench/mcp.ts   (benchMcp() is what `npm run bench` composes)
import { Agent } from 'undici'
import { startSimulator } from 'confluence-cloud-simulator'
import { buildTestSpoke } from '../test/helpers/spoke'
import { benchRedisEnv } from './redis-env'
import { connectSimulatorAlias, listen, simulatorEnv } from '../test/helpers/connect'

interface CannonResult { requests: { average: number }, non2xx: number, errors: number, timeouts: number }
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>
const autocannon = require('autocannon') as Cannon

export interface McpFigures { rps: number, p50: number, p99: number }
export interface BenchMcpResult {
  mcp: McpFigures
  jsonApi: McpFigures
  /** MCP rps / JSON API rps */
  ratio: number
  addedP50Ms: number
  addedP99Ms: number
  settings: { connections: number, duration: number, rounds: number }
}

interface Target { url: string, method: 'POST', headers: Record<string, string>, body: string }

export async function benchMcp (opts: { connections?: number, duration?: number, rounds?: number, samples?: number } = {}): Promise<BenchMcpResult> {
  const connections = opts.connections ?? 16
  const duration = opts.duration ?? 3
  const rounds = opts.rounds ?? 3
  const samples = opts.samples ?? 300
  const sim = await startSimulator({ seed: 'bench-mcp', size: 200 })
  const spoke = await buildTestSpoke({ ...benchRedisEnv(), ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_VALIDATE_OUTPUT: 'false', SPOKE_SITE_RATE_PER_SECOND: '100000', SPOKE_SITE_BURST: '100000' })
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 })
  try {
    await connectSimulatorAlias(spoke, sim, { grant: 'client_credentials' })
    const pageId = sim.data.spaces().find(s => s.homepageId !== null)!.homepageId!
    const base = await listen(spoke)
    const auth = { authorization: `Bearer ${spoke.keys.invoker}`, 'content-type': 'application/json' }
    const jsonApi: Target = { url: `${base}/v1/actions/confluence.page.get/execute`, method: 'POST', headers: auth, body: JSON.stringify({ input: { pageId } }) }
    const mcp: Target = {
      url: `${base}/mcp`,
      method: 'POST',
      headers: { ...auth, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'confluence_page_get', arguments: { pageId } } })
    }
    // Both answer the page (not an error) before anything is timed.
    const check = await agent.request({ origin: base, path: '/mcp', method: 'POST', headers: mcp.headers, body: mcp.body })
    const answer = await check.body.json() as { result?: { isError?: boolean, structuredContent?: { id?: string } } }
    if (check.statusCode !== 200 || answer.result?.isError === true || answer.result?.structuredContent?.id !== pageId) throw new Error(`MCP call failed: ${check.statusCode} ${JSON.stringify(answer).slice(0, 300)}`)

    const measure = async (target: Target): Promise<McpFigures> => {
      await autocannon({ ...target, connections, duration: 1 })
      const r = await autocannon({ ...target, connections, duration })
      if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${target.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`)
      const times: number[] = []
      const path = new URL(target.url).pathname
      for (let i = 0; i < samples + 30; i++) {
        const started = process.hrtime.bigint()
        const res = await agent.request({ origin: base, path, method: 'POST', headers: target.headers, body: target.body })
        await res.body.dump()
        if (i >= 30) times.push(Number(process.hrtime.bigint() - started) / 1e6)
      }
      times.sort((a, b) => a - b)
      const pct = (p: number): number => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] * 1000) / 1000
      return { rps: Math.round(r.requests.average), p50: pct(0.5), p99: pct(0.99) }
    }
    const runs: Array<{ mcp: McpFigures, jsonApi: McpFigures }> = []
    for (let i = 0; i < rounds; i++) runs.push({ jsonApi: await measure(jsonApi), mcp: await measure(mcp) })
    const mid = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const median = (fs: McpFigures[]): McpFigures => ({ rps: mid(fs.map(f => f.rps)), p50: mid(fs.map(f => f.p50)), p99: mid(fs.map(f => f.p99)) })
    const m = median(runs.map(r => r.mcp))
    const j = median(runs.map(r => r.jsonApi))
    return {
      mcp: m,
      jsonApi: j,
      ratio: Math.round((m.rps / j.rps) * 1000) / 1000,
      addedP50Ms: Math.round((m.p50 - j.p50) * 1000) / 1000,
      addedP99Ms: Math.round((m.p99 - j.p99) * 1000) / 1000,
      settings: { connections, duration, rounds }
    }
  } finally {
    await agent.close()
    await spoke.close()
    await sim.close()
  }
}

if (require.main === module) {
  benchMcp({ duration: Number(process.env.BENCH_DURATION ?? 3), rounds: Number(process.env.BENCH_ROUNDS ?? 3) }).then((r) => {
    console.table({ mcp: r.mcp, jsonApi: r.jsonApi })
    console.log(`MCP of JSON API throughput: ${(r.ratio * 100).toFixed(1)}%, added p50 ${r.addedP50Ms} ms, added p99 ${r.addedP99Ms} ms`)
    console.log(JSON.stringify(r))
  }).catch((err) => { console.error(err); process.exitCode = 1 })
}
