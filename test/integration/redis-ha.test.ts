// The spoke on a real Redis Cluster (3 primaries, 3 replicas) and a real Sentinel group (primary, replica,
// 3 sentinels), started here from redis-server: a sync action, an idempotent execute, a token refresh and a
// bulk job against the simulator on each. On the Cluster every key of the spoke sits under one hash tag.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { submit, waitForJob } from '../helpers/jobs'
import { ask, startCluster, startSentinelGroup, type RedisGroup } from '../helpers/redis-ha'
import { assessRedis, readRedisSettings } from '../../src/preflight/checks'

jest.setTimeout(120_000)

describe.each([
  ['Cluster', startCluster],
  ['Sentinel', startSentinelGroup]
] as Array<[string, () => Promise<RedisGroup>]>)('on a Redis %s', (kind, start) => {
  let group: RedisGroup
  let sim: Simulator
  let t: TestSpoke

  beforeAll(async () => {
    group = await start()
    sim = await startSimulator({ seed: `redis-ha-${kind}`, size: { pages: 10, users: 400, groups: 4 }, rateLimit: { burstPerSecond: 5_000 } })
    t = await buildTestSpoke({ ...simulatorEnv(sim), ...group.env, LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' }, { workers: true })
    await connectSimulatorAlias(t, sim, { alias: 'ha', managedGroups: [{ groupId: sim.data.groups()[0].id }] })
  }, 90_000)
  afterAll(async () => {
    await t?.close()
    await sim?.close()
    await group?.stop()
  })

  it('reports ready, runs a sync action, and replays it for the same Idempotency-Key', async () => {
    expect((await http(t, 'GET', '/readyz')).status).toBe(200)
    const pageId = sim.data.spaces().find(s => s.homepageId !== null)!.homepageId!
    const exec = async (headers: Record<string, string>): Promise<Awaited<ReturnType<typeof http>>> =>
      await http(t, 'POST', '/v1/actions/confluence.page.get/execute', { key: t.keys.invoker, body: { connection: 'ha', input: { pageId } }, headers })
    const first = await exec({ 'idempotency-key': `idem-${kind}` })
    const again = await exec({ 'idempotency-key': `idem-${kind}` })
    expect(first.status).toBe(200)
    expect(again.status).toBe(200)
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(again.json()).toEqual(first.json())
  })

  it('refreshes the token (lock, re-read, rotation) and the alias stays usable', async () => {
    const before = (await t.core.connections.tokens.readTokens('ha')).set!.refreshToken
    const res = await http(t, 'POST', '/v1/connections/ha/token', { key: t.keys.admin })
    expect(res.status).toBe(200)
    const after = (await t.core.connections.tokens.readTokens('ha')).set!.refreshToken
    expect(after).toBeDefined()
    expect(after).not.toBe(before)
    const list = await http(t, 'POST', '/v1/actions/confluence.site.list/execute', { key: t.keys.invoker, body: { connection: 'ha', input: {} } })
    expect(list.status).toBe(200)
  })

  it('runs a bulk job to completion, each account applied once, and the async Idempotency-Key gives the same job', async () => {
    const g = sim.data.groups()[0]
    const toAdd = sim.data.users().map(u => u.accountId).filter(a => !g.members.includes(a)).slice(0, 150)
    sim.reset()
    const headers = { 'idempotency-key': `bulk-${kind}` }
    const body = { connection: 'ha', input: { groupId: g.id, add: toAdd, remove: [] } }
    const first = await submit(t, 'confluence.group.members.bulk', body, { headers })
    const again = await submit(t, 'confluence.group.members.bulk', body, { headers })
    expect(first.status).toBe(202)
    expect(again.json().jobId).toBe(first.json().jobId)
    const job = await waitForJob(t, first.json().jobId as string, undefined, 60_000)
    expect(job.state).toBe('completed')
    expect(job.result.summary).toMatchObject({ total: 150, changed: 150, failed: 0 })
    expect(sim.counters().byOperationStatus.addUserToGroupByGroupId['201']).toBe(150)
  })

  if (kind === 'Cluster') {
    it('keeps every key of the spoke under its one hash tag (one slot: scripts and MULTI never span slots)', async () => {
      const tag = t.config.keyPrefix
      expect(tag).toMatch(/^\{t[0-9a-f]+\}$/)
      const keys: string[] = []
      for (const s of group.servers) {
        const role = String(await ask(s.port, 'ROLE'))
        if (role.startsWith('master')) keys.push(...(await ask(s.port, 'KEYS', '*') as string[]))
      }
      expect(keys.length).toBeGreaterThan(10)
      expect(keys.filter(k => !k.startsWith(tag))).toEqual([])
    })

    it("the preflight reads every primary's settings: any one evicting primary is a refusal that names it", async () => {
      const eviction = async (): Promise<{ level: string, message: string }> => assessRedis(await readRedisSettings(t.core.redis.store)).find(f => f.check === 'redisEviction') as { level: string, message: string }
      expect((await eviction()).level).toBe('ok')
      const primaries: number[] = []
      for (const s of group.servers) if (String(await ask(s.port, 'ROLE')).startsWith('master')) primaries.push(s.port)
      expect(primaries).toHaveLength(3)
      for (const port of primaries) {
        await ask(port, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru')
        try {
          const found = await eviction()
          expect(found.level).toBe('refuse')
          expect(found.message).toContain(`(Cluster primary 127.0.0.1:${port})`)
        } finally {
          await ask(port, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
        }
      }
      expect((await eviction()).level).toBe('ok')
    })
  }
})
