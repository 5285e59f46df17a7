// The refresh storm (README, Checks), shared by its test and `npm run bench`: concurrent calls spread over two
// spoke processes — the caller's and a child (test/helpers/token-storm-child.ts) on the same Redis prefix,
// master key and simulator — on an alias whose access token has expired, counting the token requests the
// simulator receives. Without coordination every call would refresh.
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Simulator } from 'confluence-cloud-simulator'
import type { TestSpoke } from './spoke'
import { connectSimulatorAlias } from './connect'
import { spawnTsx } from './child-process'

export const STORM_PATH = '/wiki/rest/api/user/current'

export interface StormChild { proc: ChildProcessWithoutNullStreams, next: () => Promise<string> }
export interface StormResult { calls: number, tokenRequests: number, refreshGrants: number, refused: number, hereErrors: string[], there: { ok: number, failed: number, codes: Record<string, number> } }

/** The second process; `children` collects it for the caller's cleanup. */
export function startStormChild (t: TestSpoke, sim: Simulator, alias: string, calls: number, children: ChildProcessWithoutNullStreams[]): StormChild {
  const proc = spawnTsx('test/helpers/token-storm-child.ts', {
    ...process.env,
    REDIS_URL: t.config.redisUrl,
    STORM_PREFIX: t.config.keyPrefix,
    STORM_MASTER_KEY: (t.config.masterKey as Buffer).toString('base64'),
    STORM_SIM_URL: sim.url,
    STORM_ALIAS: alias,
    STORM_CALLS: String(calls),
    STORM_PATH
  }, 'pipe') as ChildProcessWithoutNullStreams
  children.push(proc)
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  return {
    proc,
    next: async () => {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`child silent for 20 s: ${stderr}`)), 20_000) })
      try {
        const r = await Promise.race([lines.next(), timeout])
        if (r.done) throw new Error(`child ended early: ${stderr}`)
        return r.value
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

/** `calls` here and `calls` in the child at once; the token requests the simulator saw meanwhile. */
export async function storm (t: TestSpoke, sim: Simulator, alias: string, child: StormChild, calls: number): Promise<StormResult> {
  const before = sim.counters()
  child.proc.stdin.write('GO\n')
  const here = await Promise.allSettled(Array.from({ length: calls }, () => t.core.confluence.call(alias, { method: 'GET', path: STORM_PATH })))
  const there = JSON.parse(await child.next()) as StormResult['there']
  const after = sim.counters()
  return {
    calls: calls * 2,
    tokenRequests: after.tokenRequests - before.tokenRequests,
    refreshGrants: after.tokensGranted.refresh_token - before.tokensGranted.refresh_token,
    refused: ((after.byOperationStatus['oauth.token'] ?? {})['403'] ?? 0) - ((before.byOperationStatus['oauth.token'] ?? {})['403'] ?? 0),
    hereErrors: here.flatMap(r => r.status === 'rejected' ? [String(r.reason?.code ?? r.reason)] : []),
    there
  }
}

/**
 * The expired-token storm from scratch: consent (its token lives as long as the simulator's
 * accessTokenTtlSeconds, which must be short), both processes warm with that token, wait until it has
 * expired, then the storm. The simulator must have been started with a short accessTokenTtlSeconds.
 */
export async function expiredTokenStorm (t: TestSpoke, sim: Simulator, alias: string, callsPerProcess: number, children: ChildProcessWithoutNullStreams[]): Promise<StormResult & { consentGen: number, genBeforeStorm: number }> {
  const child = startStormChild(t, sim, alias, callsPerProcess, children)
  if (await child.next() !== 'UP') throw new Error('storm child did not start')
  await connectSimulatorAlias(t, sim, { alias, scopes: ['read:confluence-user', 'read:page:confluence', 'offline_access'] })
  // The refreshed token lives an hour, so the storm itself cannot expire it again.
  sim.state.options.accessTokenTtlSeconds = 3600
  const consented = (await t.core.connections.tokens.readTokens(alias)).set!
  child.proc.stdin.write('WARM\n')
  if (await child.next() !== 'READY') throw new Error('storm child did not warm up') // it holds the fresh token in memory
  await t.core.confluence.call(alias, { method: 'GET', path: STORM_PATH })
  const stored = (await t.core.connections.tokens.readTokens(alias)).set!
  await new Promise(resolve => setTimeout(resolve, Math.min(5_000, Math.max(0, stored.expiresAt - Date.now()) + 50)))
  return { ...await storm(t, sim, alias, child, callsPerProcess), consentGen: consented.gen, genBeforeStorm: stored.gen }
}
