// Failover on a Redis Cluster (3 primaries, 3 replicas, cluster-node-timeout 2 s): a bulk job, a crawl (file
// sink) and a burst of small jobs run; the primary serving the spoke's hash slot (every key sits under one
// `{…}` tag) is SIGKILLed; its replica is promoted and the same spoke (no restart) follows the moved slot. No
// job lost, no account applied twice, every crawl record in the sink exactly once, the alias still
// refreshes; /readyz shows the gap. Prints the figures.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { simulatorEnv } from '../helpers/connect'
import { slotOwner, startCluster, type RedisGroup } from '../helpers/redis-ha'
import { expectLoadSurvived, readinessGap, startFailoverLoad } from '../helpers/failover'

jest.setTimeout(180_000)

let group: RedisGroup
let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  group = await startCluster()
  sim = await startSimulator({ seed: 'redis-cluster-failover', permissions: 'nested', size: { pages: 600, spaces: 3, users: 1_500, groups: 4 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), ...group.env, LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' }, { workers: true })
}, 90_000)
afterAll(async () => {
  // every redis-server started here is killed even if closing the spoke or the simulator throws or hangs:
  // BullMQ's worker close on a Cluster has been seen (about 1 run in 20) never to end, its main loop still
  // blocked on a connection that stays ready; a process's SIGTERM is bounded by close-with-grace, a test's here.
  try { await closeWithin(t, 30_000) } finally { try { await sim?.close() } finally { await group?.stop() } }
})

async function closeWithin (spoke: TestSpoke | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([spoke?.close().then(() => true), new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), ms) })])
  clearTimeout(timer)
  if (closed === false) process.stdout.write(`redis-cluster-failover: the spoke did not close within ${ms} ms (BullMQ worker close on a Cluster); the servers are stopped anyway\n`)
}

it("follows the promotion of the replica of the primary holding the spoke's slot: no job lost, no account applied twice, the crawl exact, the alias still usable", async () => {
  const load = await startFailoverLoad(t, sim)

  const anyPort = group.servers[0].port
  const before = await slotOwner(anyPort, t.config.keyPrefix)
  expect(before.replicas).toHaveLength(1)
  const victim = group.servers.find(s => s.port === before.primary)!
  const killedAt = Date.now()
  victim.proc.kill('SIGKILL')

  const { unready, readyAgainMs } = await readinessGap(t, killedAt, 30_000)
  expect(unready).toBeGreaterThan(0)
  expect(readyAgainMs).toBeGreaterThan(0)
  const alive = group.servers.find(s => s.port !== before.primary)!.port
  const after = await slotOwner(alive, t.config.keyPrefix)
  expect(after.primary).toBe(before.replicas[0])

  const figures = await expectLoadSurvived(t, sim, load, killedAt)
  process.stdout.write(`cluster failover: slot ${before.slot} moved from 127.0.0.1:${before.primary} to its replica 127.0.0.1:${after.primary}; ` +
    `/readyz 200 again ${readyAgainMs} ms after SIGKILL of the primary (${unready} unready probes); ${figures}\n`)
})
