// On a real Redis Cluster (3 primaries, each with a replica) the WAIT after a token write reaches the primary
// that owns the key's slot — a keyless WAIT would go to any node, where it would answer at once without
// waiting for anything (that connection wrote nothing there). INFO commandstats of every primary shows where
// the WAITs ran; the slot owner's replica holds the token set.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { submit } from '../helpers/jobs'
import { parsePromText, sampleSum } from '../helpers/prom-text'
import { Redis } from 'ioredis'
import { ask, slotOwner, startCluster, type RedisGroup } from '../helpers/redis-ha'

jest.setTimeout(60_000)

async function waitCallsByPrimary (group: RedisGroup): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  for (const s of group.servers) {
    if (!String(await ask(s.port, 'ROLE')).startsWith('master')) continue
    const stats = String(await ask(s.port, 'INFO', 'commandstats'))
    out.set(s.port, Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0))
  }
  return out
}

/** A Cluster replica answers reads of its primary's slots only after READONLY, on that connection. */
async function readOnReplica (port: number, key: string): Promise<string | null> {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null })
  r.on('error', () => {})
  try { await r.call('READONLY'); return await r.hget(key, 'set') } finally { r.disconnect() }
}

async function waits (t: TestSpoke, labels: Record<string, string>): Promise<number> {
  return sampleSum(parsePromText(await t.core.metrics.registry.metrics()), 'spoke_redis_acknowledged_writes_total', labels)
}

it("sends the WAIT after a token write and a submit to the primary owning the spoke's slot, counted replicated", async () => {
  const group = await startCluster()
  let sim: Simulator | undefined
  let t: TestSpoke | undefined
  try {
    sim = await startSimulator({ seed: 'redis-replication-cluster', size: { pages: 5, users: 20, groups: 2 } })
    // A long WAIT bound: under a loaded CI machine a replica may take longer than the default 250 ms to
    // confirm, while a WAIT sent to the wrong node answers 0 at once either way (what this test is about).
    t = await buildTestSpoke({ ...simulatorEnv(sim), ...group.env, LOG_LEVEL: 'warn', SPOKE_REDIS_WAIT_MS: '5000' })
    await expectWaitOnSlotOwner(group, sim, t)
  } finally {
    try { await t?.close() } finally { try { await sim?.close() } finally { await group.stop() } }
  }
})

async function expectWaitOnSlotOwner (group: RedisGroup, sim: Simulator, t: TestSpoke): Promise<void> {
  const key = `${t.config.keyPrefix}:conn:tok:cl`
  // The node asked may not have heard of the replica yet, just after the Cluster formed (gossip): ask again.
  let owner = await slotOwner(group.servers[0].port, key)
  for (let i = 0; i < 100 && owner.replicas.length === 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 100))
    owner = await slotOwner(group.servers[0].port, key)
  }
  expect(owner.replicas).toHaveLength(1)
  const before = await waitCallsByPrimary(group)
  expect(before.size).toBe(3)

  await connectSimulatorAlias(t, sim, { alias: 'cl', grant: 'client_credentials' })
  expect((await http(t, 'POST', '/v1/connections/cl/token', { key: t.keys.admin })).status).toBe(200)
  expect((await submit(t, 'confluence.site.list', { connection: 'cl', input: {} })).status).toBe(202)

  const after = await waitCallsByPrimary(group)
  for (const [port, calls] of after) {
    if (port === owner.primary) expect(calls).toBeGreaterThanOrEqual((before.get(port) ?? 0) + 3)
    else expect(calls).toBe(before.get(port) ?? 0)
  }
  expect(await waits(t, { write: 'token', outcome: 'replicated' })).toBeGreaterThanOrEqual(2)
  expect(await waits(t, { write: 'job', outcome: 'replicated' })).toBe(1)
  expect(await waits(t, { outcome: 'unreplicated' })).toBe(0)
  expect(await waits(t, { outcome: 'error' })).toBe(0)
  // WAIT returned once the replica had the write: it holds the token set the primary holds
  expect(await readOnReplica(owner.replicas[0], key)).toBe(await ask(owner.primary, 'HGET', key, 'set'))
}
