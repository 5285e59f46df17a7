// What waiting for the replica costs an async submit (lib/replication.ts): on a local Sentinel group (primary,
// one replica, three sentinels), sequential POST execute mode=async (api only: the jobs stay queued) with
// SPOKE_REDIS_WAIT_MS=0 and with the default 250, alternated in rounds; p50/p95 of the HTTP round trip, with
// and without an Idempotency-Key (which adds the WAIT after its record). Not part of `npm run bench`.
// Run: flock /tmp/bench.lock npx tsx bench/replication-wait.ts [submits per round, default 200] [rounds, default 2]
import { startSimulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../test/helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../test/helpers/connect'
import { submit } from '../test/helpers/jobs'
import { startSentinelGroup } from '../test/helpers/redis-ha'

const n = Number(process.argv[2] ?? 200)
const rounds = Number(process.argv[3] ?? 2)

function pct (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

async function round (t: TestSpoke, idempotent: boolean, tag: string): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint()
    const res = await submit(t, 'confluence.site.list', { connection: 'bench', input: {} }, idempotent ? { headers: { 'idempotency-key': `${tag}-${i}` } } : {})
    ms.push(Number(process.hrtime.bigint() - started) / 1e6)
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${res.text}`)
  }
  return ms
}

async function main (): Promise<void> {
  const group = await startSentinelGroup('benchwait')
  const sim = await startSimulator({ seed: 'bench-replication-wait', size: { pages: 5, users: 20, groups: 2 } })
  const spokes: Record<string, TestSpoke> = {}
  try {
    for (const waitMs of ['0', '250']) {
      const t = await buildTestSpoke({ ...simulatorEnv(sim), ...group.env, LOG_LEVEL: 'warn', SPOKE_REDIS_WAIT_MS: waitMs })
      await connectSimulatorAlias(t, sim, { alias: 'bench', grant: 'client_credentials' })
      await round(t, false, `warm-${waitMs}`) // warm-up, not counted
      spokes[waitMs] = t
    }
    const samples: Record<string, number[]> = {}
    for (let r = 0; r < rounds; r++) {
      for (const idempotent of [false, true]) {
        for (const waitMs of r % 2 === 0 ? ['0', '250'] : ['250', '0']) {
          const key = `${idempotent ? 'with Idempotency-Key' : 'no key'}, SPOKE_REDIS_WAIT_MS=${waitMs}`
          samples[key] = [...(samples[key] ?? []), ...await round(spokes[waitMs], idempotent, `r${r}-${waitMs}`)]
        }
      }
    }
    for (const [key, ms] of Object.entries(samples)) {
      const sorted = [...ms].sort((a, b) => a - b)
      process.stdout.write(`${key}: ${sorted.length} submits, p50 ${pct(sorted, 0.5).toFixed(2)} ms, p95 ${pct(sorted, 0.95).toFixed(2)} ms\n`)
    }
    const text = await spokes['250'].core.metrics.registry.metrics()
    process.stdout.write(text.split('\n').filter(l => l.startsWith('spoke_redis_acknowledged_writes_total') || /^spoke_redis_replication_wait_seconds_(sum|count)/.test(l)).join('\n') + '\n')
  } finally {
    for (const t of Object.values(spokes)) await t.close()
    await sim.close()
    await group.stop()
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
