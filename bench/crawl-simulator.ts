// The simulator of the crawl benchmark, as a process of its own: a seeded `nested` site of BENCH_CRAWL_PAGES
// pages (plus a tenth as many blog posts, a fifth as many attachments) and the per-second burst limit
// BENCH_CRAWL_RATE (requests/s per app and site). Prints its URL; counters at /__sim/counters.
import { startSimulator } from 'confluence-cloud-simulator'

async function main (): Promise<void> {
  const pages = Number(process.env.BENCH_CRAWL_PAGES ?? 10_000)
  const rate = Number(process.env.BENCH_CRAWL_RATE ?? 1_000)
  const sim = await startSimulator({
    seed: 'bench-crawl', permissions: 'nested', size: { pages, spaces: 8, comments: 0 }, rateLimit: { burstPerSecond: rate }, port: Number(process.env.BENCH_CRAWL_PORT ?? 0)
  })
  process.stdout.write(`crawl simulator listening on ${sim.url} cloudId=${sim.defaultCloudId} items=${sim.data.site().total}\n`)
  const stop = (): void => { sim.close().finally(() => process.exit(0)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

main().catch((err) => { process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`); process.exit(1) })
