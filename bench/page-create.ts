// Sync confluence.page.create through the spoke against the simulator, side by side with a bare pass-through
// proxy that forwards the same createPage request (a unique title each time) to the same simulator with a
// valid token (no validation, no managed-space check, no Markdown, no spec check, no mapping). Same
// concurrency, same duration, alternating rounds; medians.
// Run: npx tsx bench/page-create.ts   [BENCH_SECONDS=2 BENCH_CONNECTIONS=8 BENCH_ROUNDS=3]
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent } from 'undici'
import { startSimulator } from 'confluence-cloud-simulator'
import { buildTestSpoke } from '../test/helpers/spoke'
import { benchRedisEnv } from './redis-env'
import { connectSimulatorAlias, listen, simulatorEnv } from '../test/helpers/connect'

interface Figures { rps: number, p50: number, p99: number }

async function main (): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 2)
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 8)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  const sim = await startSimulator({ seed: 'bench-page-create', size: 50 })
  const spoke = await buildTestSpoke({ ...benchRedisEnv(), ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_VALIDATE_OUTPUT: 'false' })
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 })
  let proxy: Server | undefined
  try {
    const space = sim.data.spaces()[0]
    await connectSimulatorAlias(spoke, sim, { grant: 'client_credentials', doc: { managedSpaces: [{ spaceId: space.id, key: space.key }] } })
    const spokeUrl = await listen(spoke)
    const token = sim.issueToken({ ttlSeconds: 3600 }).accessToken
    const upstreamPath = `/ex/confluence/${sim.defaultCloudId}/wiki/api/v2/pages`
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        agent.request({ origin: sim.url, path: upstreamPath, method: 'POST', headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': 'application/json' }, body: Buffer.concat(chunks) })
          .then(async (up) => { const body = await up.body.arrayBuffer(); res.writeHead(up.statusCode, { 'content-type': 'application/json' }); res.end(Buffer.from(body)) })
          .catch(() => { res.writeHead(502); res.end() })
      })
    })
    await new Promise<void>(resolve => proxy!.listen(0, '127.0.0.1', resolve))
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`

    let n = 0
    const body = { format: 'storage', value: '<p>Benchmark page with a <strong>little</strong> body.</p>' }
    const targets = {
      spoke: (): { origin: string, path: string, headers: Record<string, string>, body: string } => ({
        origin: spokeUrl, path: '/v1/actions/confluence.page.create/execute', headers: { authorization: `Bearer ${spoke.keys.invoker}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { spaceId: space.id, title: `Bench ${n++}`, body } })
      }),
      passthrough: (): { origin: string, path: string, headers: Record<string, string>, body: string } => ({
        origin: proxyUrl, path: '/', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ spaceId: space.id, status: 'current', title: `Bench ${n++}`, body: { representation: 'storage', value: body.value } })
      })
    }
    const one = async (make: () => { origin: string, path: string, headers: Record<string, string>, body: string }): Promise<number> => {
      const started = process.hrtime.bigint()
      const res = await agent.request({ ...make(), method: 'POST' })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
      return Number(process.hrtime.bigint() - started) / 1e6
    }
    const measure = async (make: () => { origin: string, path: string, headers: Record<string, string>, body: string }): Promise<Figures> => {
      for (let i = 0; i < 30; i++) await one(make) // warm-up
      const latencies: number[] = []
      for (let i = 0; i < 200; i++) latencies.push(await one(make))
      latencies.sort((a, b) => a - b)
      let done = 0
      const until = Date.now() + seconds * 1000
      await Promise.all(Array.from({ length: connections }, async () => { while (Date.now() < until) { await one(make); done++ } }))
      const pct = (p: number): number => Math.round(latencies[Math.floor(p * (latencies.length - 1))] * 100) / 100
      return { rps: Math.round(done / seconds), p50: pct(0.5), p99: pct(0.99) }
    }
    const results: Array<{ spoke: Figures, passthrough: Figures }> = []
    for (let i = 0; i < rounds; i++) results.push({ passthrough: await measure(targets.passthrough), spoke: await measure(targets.spoke) })
    const mid = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const med = (k: 'spoke' | 'passthrough'): Figures => ({ rps: mid(results.map(r => r[k].rps)), p50: mid(results.map(r => r[k].p50)), p99: mid(results.map(r => r[k].p99)) })
    const s = med('spoke')
    const p = med('passthrough')
    console.log(JSON.stringify({ spoke: s, passthrough: p, ratio: Math.round(s.rps / p.rps * 1000) / 1000, addedP50Ms: Math.round((s.p50 - p.p50) * 100) / 100, settings: { seconds, connections, rounds }, pagesCreated: n }, null, 2))
  } finally {
    if (proxy) await new Promise<void>(resolve => proxy!.close(() => resolve()))
    await agent.close()
    await spoke.close()
    await sim.close()
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
