// `npm run bench`: every benchmark, each reporting its figures against a baseline measured in the same run
// (never as pass/fail), written to bench/results/latest.json and printed as a table.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import os from 'node:os'

interface Bench { name: string, module: string, fn: string, summarize: (r: any) => Array<[string, string]> }

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`

const BENCHES: Bench[] = [
  {
    name: 'simulator get-page (100k pages)',
    module: './simulator-get-page',
    fn: 'benchSimulatorGetPage',
    summarize: (r) => [['requests/s', String(Math.round(r.requestsPerSecond))], ['p50 / p99 ms', `${r.p50Ms} / ${r.p99Ms}`], ['RSS MB', String(Math.round((r.rssAfterSeedMb ?? r.rssMb ?? 0)))]]
  },
  {
    name: 'sync confluence.page.get vs pass-through proxy',
    module: './sync',
    fn: 'benchSync',
    summarize: (r) => [['tracing (BENCH_TRACING=on)', r.settings.tracing === true ? `on, ${r.exported?.requests ?? 0} exports` : 'off'], ['spoke rps', String(Math.round(r.spoke.rps))], ['pass-through rps', String(Math.round(r.passthrough.rps))],
      ['throughput ratio (goal ≥ 75%)', pct(r.ratio)], ['added p50 / p99 ms (goal p50 ≤ 1)', `${r.addedP50Ms} / ${r.addedP99Ms}`]]
  },
  {
    name: 'MCP tools/call confluence_page_get vs the same execute over the JSON API',
    module: './mcp',
    fn: 'benchMcp',
    summarize: (r) => [['MCP / JSON API rps', `${Math.round(r.mcp.rps)} / ${Math.round(r.jsonApi.rps)}`], ['throughput ratio', pct(r.ratio)], ['added p50 / p99 ms', `${r.addedP50Ms} / ${r.addedP99Ms}`]]
  },
  {
    name: 'attachment upload through the spoke vs direct to the simulator',
    module: './attachments',
    fn: 'benchAttachmentUpload',
    summarize: (r) => [['file MB × rounds', `${r.sizeMb} × ${r.rounds}`], ['spoke MB/s', r.spoke.mbPerSecond.toFixed(1)], ['direct MB/s', r.direct.mbPerSecond.toFixed(1)], ['spoke of direct', pct(r.ratio)]]
  },
  {
    name: 'refresh storm (expired token, two processes)',
    module: './refresh-storm',
    fn: 'benchRefreshStorm',
    summarize: (r) => [['calls / token requests', `${r.calls} / ${r.tokenRequests}`], ['token requests per call (uncoordinated: 1)', r.ratio.toFixed(4)], ['failed calls', String(r.failedCalls)]]
  },
  {
    name: 'async jobs end to end vs raw BullMQ',
    module: './async',
    fn: 'benchAsync',
    summarize: (r) => r.runs.flatMap((run: any) => [
      [`concurrency ${run.concurrency}: spoke / floor / raw jobs/s`, `${run.spoke.jobsPerSecond.toFixed(0)} / ${run.floor.jobsPerSecond.toFixed(0)} / ${run.rawBullmq.jobsPerSecond.toFixed(0)}`],
      [`concurrency ${run.concurrency}: spoke of raw (goal ≥ 50%)`, pct(run.ratio)],
      [`concurrency ${run.concurrency}: floor of raw; spoke of floor`, `${pct(run.floorRatio)}; ${pct(run.spokeOfFloor)}`]
    ])
  },
  {
    name: 'worker processes against a slow upstream (100–200 ms)',
    module: './scale',
    fn: 'benchScale',
    summarize: (r) => r.runs.map((run: any) => [`${run.workerProcesses} worker process(es): jobs/s, of 1 process`, `${run.jobsPerSecond.toFixed(0)}, ×${(run.ratio as number).toFixed(2)}`])
  },
  {
    name: 'content crawl (rate-limited simulator, two workers)',
    module: './crawl',
    fn: 'benchCrawl',
    summarize: (r) => [
      ...r.runs.flatMap((run: any) => [
        [`${run.exportedItems} items: items/s of what ${run.limitPerSecond} req/s allows (goal ≥ 90%)`, `${run.itemsPerSecond.toFixed(0)} of ${run.allowedItemsPerSecond.toFixed(0)} = ${pct(run.ratio)}`],
        [`${run.exportedItems} items: 429s of requests (goal ≤ 1%)`, `${run.rateLimited} of ${run.requests} = ${(run.rateLimitedShare * 100).toFixed(2)}%`],
        [`${run.exportedItems} items: peak RSS per crawling worker MB (goal < 256)`, run.peakRssMb.map((m: number) => m.toFixed(0)).join(' / ')]
      ]),
      ...(r.rssGrowth !== undefined ? [['peak RSS, largest vs smallest site', `×${(r.rssGrowth as number).toFixed(2)}`]] : [])
    ]
  }
]

async function main (): Promise<void> {
  const only = process.argv.slice(2)
  const results: Record<string, unknown> = {}
  const rows: Array<[string, string, string]> = []
  for (const b of BENCHES) {
    if (only.length > 0 && !only.some(o => b.module.includes(o))) continue
    if (!existsSync(join(__dirname, `${b.module}.ts`)) && !existsSync(join(__dirname, `${b.module}.js`))) {
      rows.push([b.name, 'skipped', 'not present in this build']); continue
    }
    process.stderr.write(`running: ${b.name}\n`)
    const mod = await import(b.module)
    const r = await mod[b.fn]({})
    results[b.name] = r
    for (const [k, v] of b.summarize(r)) rows.push([b.name, k, v])
  }
  const out = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadavg: os.loadavg() },
    results
  }
  mkdirSync(join(__dirname, 'results'), { recursive: true })
  writeFileSync(join(__dirname, 'results', 'latest.json'), JSON.stringify(out, null, 2) + '\n')
  const w = [0, 1, 2].map(i => Math.max(...rows.map(r => r[i].length), 10))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(w[i])).join(' | ')
  console.log(line(['benchmark', 'figure', 'value']))
  console.log(w.map(n => '-'.repeat(n)).join('-|-'))
  for (const r of rows) console.log(line(r))
  console.log('\nwritten: bench/results/latest.json')
  process.exit(0)
}

main().catch((err) => { console.error(err); process.exit(1) })
