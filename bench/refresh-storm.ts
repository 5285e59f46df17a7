// The refresh storm (README, Checks): concurrent calls over two spoke processes on an alias whose access token
// has expired. The baseline, measured by construction in the same run, is one token request per call —
// what a client without cross-process coordination may make; the spoke's figure is what the simulator saw.
// Run: npx tsx bench/refresh-storm.ts   (benchRefreshStorm() is what `npm run bench` composes)
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { startSimulator } from 'confluence-cloud-simulator'
import { buildTestSpoke } from '../test/helpers/spoke'
import { benchRedisEnv } from './redis-env'
import { simulatorEnv } from '../test/helpers/connect'
import { expiredTokenStorm } from '../test/helpers/refresh-storm'

export interface BenchRefreshStormResult { calls: number, processes: number, tokenRequests: number, uncoordinatedTokenRequests: number, ratio: number, failedCalls: number }

export async function benchRefreshStorm (opts: { callsPerProcess?: number } = {}): Promise<BenchRefreshStormResult> {
  const callsPerProcess = opts.callsPerProcess ?? 500
  const sim = await startSimulator({ seed: 'bench-storm', size: 5, accessTokenTtlSeconds: 3 })
  const t = await buildTestSpoke({ ...benchRedisEnv(), ...simulatorEnv(sim), LOG_LEVEL: 'warn' })
  const children: ChildProcessWithoutNullStreams[] = []
  try {
    const r = await expiredTokenStorm(t, sim, 'storm', callsPerProcess, children)
    return {
      calls: r.calls,
      processes: 2,
      tokenRequests: r.tokenRequests,
      uncoordinatedTokenRequests: r.calls,
      ratio: r.tokenRequests / r.calls,
      failedCalls: r.hereErrors.length + r.there.failed
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
    await t.close()
    await sim.close()
  }
}

if (require.main === module) {
  benchRefreshStorm().then((r) => {
    process.stdout.write(`refresh storm: ${r.calls} calls over ${r.processes} processes on an expired token → ${r.tokenRequests} token request(s) (uncoordinated: up to ${r.uncoordinatedTokenRequests}); ${r.failedCalls} failed calls\n`)
    process.exit(0)
  }).catch((err) => { process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`); process.exit(1) })
}
