// Acknowledged writes are on a replica before they are acknowledged (lib/replication.ts): on a real Sentinel
// group a token refresh and an async submit (with its Idempotency-Key record) each issue WAIT on the primary
// and count `replicated`; with the replica stopped (SIGSTOP) a submit still answers 202 after at most the
// WAIT timeout, counted `unreplicated`, with one warning. A single Redis without replicas gets no WAIT at all.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { submit } from '../helpers/jobs'
import { parsePromText, sampleSum, sampleValue } from '../helpers/prom-text'
import { ask, startSentinelGroup, type SentinelGroup } from '../helpers/redis-ha'

jest.setTimeout(60_000)

const WAITS = 'spoke_redis_acknowledged_writes_total'

async function waits (t: TestSpoke, labels: Record<string, string>): Promise<number> {
  return sampleSum(parsePromText(await t.core.metrics.registry.metrics()), WAITS, labels)
}

/** How many WAIT commands the server at `port` has run (INFO commandstats). */
async function waitCalls (port: number): Promise<number> {
  return waitCallsIn(String(await ask(port, 'INFO', 'commandstats')))
}

function waitCallsIn (commandstats: string): number {
  return Number(/cmdstat_wait:calls=(\d+)/.exec(commandstats)?.[1] ?? 0)
}

describe('on a Sentinel group (primary + one replica)', () => {
  let group: SentinelGroup
  let sim: Simulator
  let t: TestSpoke

  beforeAll(async () => {
    group = await startSentinelGroup('replication')
    sim = await startSimulator({ seed: 'redis-replication', size: { pages: 5, users: 20, groups: 2 } })
    // 1.5 s, not the default 250 ms: a loaded CI machine's replica confirms in time; a stopped one still
    // makes a submit answer within the bound below.
    t = await buildTestSpoke({ ...simulatorEnv(sim), ...group.env, LOG_LEVEL: 'info', SPOKE_REDIS_WAIT_MS: '1500' })
    await connectSimulatorAlias(t, sim, { alias: 'rep' })
  }, 45_000)
  afterAll(async () => {
    try { await t?.close() } finally { try { await sim?.close() } finally { await group?.stop() } }
  })

  it('waits for the replica after the consent, a token refresh and an alias PUT: WAIT on the primary, counted replicated', async () => {
    // the consent stored the first token set, the alias PUT its record
    expect(await waits(t, { write: 'token', outcome: 'replicated' })).toBeGreaterThanOrEqual(1)
    expect(await waits(t, { write: 'alias', outcome: 'replicated' })).toBeGreaterThanOrEqual(1)
    const tokensBefore = await waits(t, { write: 'token', outcome: 'replicated' })
    const callsBefore = await waitCalls(group.primary.port)
    const res = await http(t, 'POST', '/v1/connections/rep/token', { key: t.keys.admin })
    expect(res.status).toBe(200)
    expect(await waits(t, { write: 'token', outcome: 'replicated' })).toBe(tokensBefore + 1)
    expect(await waitCalls(group.primary.port)).toBeGreaterThan(callsBefore)
    // what the replica holds is the rotated token set the spoke stored
    const key = `${t.config.keyPrefix}:conn:tok:rep`
    expect(await ask(group.replica.port, 'HGET', key, 'set')).toBe(await ask(group.primary.port, 'HGET', key, 'set'))
    expect(await waits(t, { outcome: 'unreplicated' })).toBe(0)
    expect(await waits(t, { outcome: 'error' })).toBe(0)
  })

  it('waits for the replica before an async submit answers 202, and again for its Idempotency-Key record', async () => {
    const before = { job: await waits(t, { write: 'job', outcome: 'replicated' }), idem: await waits(t, { write: 'idempotency', outcome: 'replicated' }) }
    const callsBefore = await waitCalls(group.primary.port)
    const res = await submit(t, 'confluence.site.list', { connection: 'rep', input: {} }, { headers: { 'idempotency-key': 'rep-submit-1' } })
    expect(res.status).toBe(202)
    expect(await waits(t, { write: 'job', outcome: 'replicated' })).toBe(before.job + 1)
    expect(await waits(t, { write: 'idempotency', outcome: 'replicated' })).toBe(before.idem + 1)
    expect(await waitCalls(group.primary.port)).toBeGreaterThanOrEqual(callsBefore + 2)
    const jobId = res.json().jobId as string
    expect(await ask(group.replica.port, 'ZSCORE', `${t.config.keyPrefix}:jobs:index`, jobId)).not.toBeNull()
  })

  it('with the replica stopped, a submit still answers 202 within the timeout, counted unreplicated, with one warning', async () => {
    const before = await waits(t, { write: 'job', outcome: 'unreplicated' })
    group.replica.proc.kill('SIGSTOP')
    try {
      const took: number[] = []
      for (let i = 0; i < 3; i++) {
        const started = Date.now()
        const res = await submit(t, 'confluence.site.list', { connection: 'rep', input: {} })
        took.push(Date.now() - started)
        expect(res.status).toBe(202)
      }
      // WAIT gives up after SPOKE_REDIS_WAIT_MS (1.5 s here): a generous bound that proves it did not block.
      expect(took[0]).toBeLessThan(5_000)
      // Then writes are not waited for a while (a WAIT holds the connection every request shares): the next
      // submits do not wait out the timeout again.
      expect(Math.max(took[1], took[2])).toBeLessThan(1_000)
      expect(await waits(t, { write: 'job', outcome: 'unreplicated' })).toBe(before + 3)
      const warnings = t.logs().split('\n').filter(l => l.includes('Redis write answered before a replica confirmed it'))
      expect(warnings).toHaveLength(1)
      expect(JSON.parse(warnings[0])).toMatchObject({ level: 40, write: 'job', outcome: 'unreplicated', wanted: 1, acked: 0 })
    } finally {
      group.replica.proc.kill('SIGCONT')
    }
    // back: once the pause after the timed-out WAIT is over (5 s), writes are waited for and replicated again,
    // and that is logged once
    const replicatedBefore = await waits(t, { write: 'job', outcome: 'replicated' })
    for (let i = 0; i < 30 && await waits(t, { write: 'job', outcome: 'replicated' }) === replicatedBefore; i++) {
      expect((await submit(t, 'confluence.site.list', { connection: 'rep', input: {} })).status).toBe(202)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    expect(await waits(t, { write: 'job', outcome: 'replicated' })).toBeGreaterThan(replicatedBefore)
    expect(t.logs()).toContain('Redis writes reach the replicas again')
  })

  it('asks for more replicas than the primary has: no WAIT (it could only time out), every such write counted unreplicated', async () => {
    const two = await buildTestSpoke({ ...simulatorEnv(sim), ...group.env, LOG_LEVEL: 'warn', SPOKE_REDIS_WAIT_REPLICAS: '2' })
    try {
      const callsBefore = await waitCalls(group.primary.port)
      await connectSimulatorAlias(two, sim, { alias: 'two', grant: 'client_credentials' })
      expect((await submit(two, 'confluence.site.list', { connection: 'two', input: {} })).status).toBe(202)
      expect(await waitCalls(group.primary.port)).toBe(callsBefore)
      expect(await waits(two, { write: 'job', outcome: 'unreplicated' })).toBe(1)
      expect(await waits(two, { write: 'token', outcome: 'unreplicated' })).toBeGreaterThanOrEqual(1)
      expect(await waits(two, { outcome: 'replicated' })).toBe(0)
      expect(two.logs()).toContain('"wanted":2')
    } finally {
      await two.close()
    }
  })
})

describe('on a single Redis without replicas', () => {
  let t: TestSpoke
  let sim: Simulator

  beforeAll(async () => {
    sim = await startSimulator({ seed: 'redis-replication-single', size: { pages: 5, users: 20, groups: 2 } })
    t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn' })
  })
  afterAll(async () => {
    try { await t?.close() } finally { await sim?.close() }
  })

  it('issues no WAIT and counts nothing: the consent, a refresh and a submit cost what they did before', async () => {
    const redis = t.core.redis.store
    expect(await redis.info('replication')).toContain('connected_slaves:0')
    const callsBefore = waitCallsIn(await redis.info('commandstats'))
    await connectSimulatorAlias(t, sim, { alias: 'single' })
    expect((await http(t, 'POST', '/v1/connections/single/token', { key: t.keys.admin })).status).toBe(200)
    expect((await submit(t, 'confluence.site.list', { connection: 'single', input: {} }, { headers: { 'idempotency-key': 'single-1' } })).status).toBe(202)
    expect(waitCallsIn(await redis.info('commandstats'))).toBe(callsBefore)
    const samples = parsePromText(await t.core.metrics.registry.metrics())
    expect(sampleSum(samples, WAITS)).toBe(0)
    expect(sampleValue(samples, 'spoke_redis_replication_wait_seconds_count', { write: 'token' })).toBe(0)
  })
})
