// A short latency measurement, run on demand (TRIGGERS_LATENCY=1; about 100 s): a trigger polling every 30 s
// through its real BullMQ job scheduler, simulator edits spread over three poll intervals, and the time from
// each edit to its delivery. Prints p50 / p95 / max; asserts only that every edit arrived once (timing is not
// a pass/fail condition on a shared machine).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'

const run = process.env.TRIGGERS_LATENCY === '1' ? it : it.skip
let sim: Simulator
let t: TestSpoke
let server: Server

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  await t?.close()
  await sim?.close()
})

run('edit → delivery latency with a 30 s poll interval', async () => {
  sim = await startSimulator({ seed: 'triggers-latency', size: { pages: 200, spaces: 2, users: 10, groups: 2, blogposts: 10, attachments: 10, comments: 0, inlineComments: 0 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_SECRET: 'latency', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' }, { workers: true })
  const { alias } = await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  const arrived = new Map<string, number>()
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => { const e = JSON.parse(Buffer.concat(chunks).toString()); if (!arrived.has(e.id)) arrived.set(e.id, Date.now()); res.statusCode = 204; res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await http(t, 'PUT', '/v1/triggers/lat', { key: t.keys.admin, body: { connection: alias, events: ['page.updated'], delivery: { url }, every: 30 } })
  // the first (baseline) poll runs at once
  const deadline = Date.now() + 15_000
  while (await t.core.redis.store.hget(t.core.triggers.store.siteKey(alias), 'since') === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current').slice(0, 14)
  const edits: Array<{ id: string, at: number }> = []
  for (const p of pages) {
    const s = sim.data.mutate({ op: 'edit', id: p.id })
    edits.push({ id: `${p.id}.${s.version}.page.updated`, at: Date.now() })
    await new Promise((resolve) => setTimeout(resolve, 6_500))
  }
  const until = Date.now() + 45_000
  while (edits.some((e) => !arrived.has(e.id)) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100))
  const latencies = edits.map((e) => ((arrived.get(e.id) ?? Number.NaN) - e.at) / 1000).sort((a, b) => a - b)
  const pct = (q: number): number => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]
  console.log(`trigger latency over ${latencies.length} edits, poll every 30 s: p50 ${pct(0.5).toFixed(1)} s, p95 ${pct(0.95).toFixed(1)} s, max ${latencies[latencies.length - 1].toFixed(1)} s`)
  expect(edits.every((e) => arrived.has(e.id))).toBe(true)
}, 200_000)
