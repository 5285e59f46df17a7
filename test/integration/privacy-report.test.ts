// confluence.privacy.report at scale: 10,000 indexed accounts are reported in ⌈10,000/90⌉ = 112 calls, through
// injected 429s and 5xx, without a batch lost or repeated (the simulator counts the batches it accepted);
// the closed ones leave the index; the Cycle-Period is kept. A client-credentials alias is refused.
import { startSimulator, privacyOf, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'

const N = 10_000
let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'privacy-report', size: { pages: 5, users: 20, groups: 2 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200', SPOKE_PRIVACY_REPORT_EVERY_SECONDS: '0' }, { workers: true })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

const idOf = (i: number): string => `712020:00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`

it('reports 10,000 accounts in 112 calls through 429s and 5xx, no batch lost or repeated, and erases the closed ones', async () => {
  const { alias } = await connectSimulatorAlias(t, sim)
  const ids = Array.from({ length: N }, (_, i) => idOf(i))
  for (let i = 0; i < N; i += 1000) await t.core.privacy.record(alias, ids.slice(i, i + 1000), `job:seed${i}`)
  expect(await t.core.privacy.count(alias)).toBe(N)
  const p = privacyOf(sim.state)
  const closed = ids.filter((_, i) => i % 200 === 7)
  for (const id of closed) p.close(id)
  p.update(ids[3], Date.now() + 60_000)
  p.resetStats()
  p.cyclePeriodSeconds = 86_400
  sim.faults.next({ kind: 'rateLimit', retryAfter: 1 }, 2, { operations: ['privacy.reportAccounts'] })
  sim.faults.next({ kind: 'error', status: 503 }, 2, { operations: ['privacy.reportAccounts'] })

  const started = performance.now()
  const id = await submitJob(t, 'confluence.privacy.report', { connection: alias })
  const job = await waitForJob(t, id, undefined, 50_000)
  const ms = performance.now() - started
  expect(job.state).toBe('completed')
  const stats = p.stats()
  console.log(`privacy-report: ${N} indexed accounts → ${job.result.calls as number} reporting calls (${stats.calls} HTTP calls with 2 injected 429s and 2 injected 503s), ${stats.repeatedBatches} repeated batches, ${job.result.closed as number} closed erased, in ${Math.round(ms)} ms (${(ms / 1000).toFixed(1)} s per 10k accounts, including ~2 s of Retry-After)`)
  expect(job.result).toMatchObject({ batches: Math.ceil(N / 90), calls: Math.ceil(N / 90), reported: N, closed: closed.length, updated: 1, cyclePeriodSeconds: 86_400, indexed: N - closed.length })
  expect(stats).toMatchObject({ accepted: Math.ceil(N / 90), accounts: N, repeatedBatches: 0, repeatedAccounts: 0, calls: Math.ceil(N / 90) + 4 })
  expect(await t.core.privacy.count(alias)).toBe(N - closed.length)
  expect(await t.core.redis.store.exists(t.core.privacy.keys.where(alias, closed[0]))).toBe(0)
  expect(await t.core.redis.store.hget(t.core.privacy.keys.meta(alias), 'cyclePeriodSeconds')).toBe('86400')
  // The snapshot of the run is gone, and the result holds counts only.
  expect(await t.core.redis.store.keys(`${t.config.keyPrefix}:pd:snap:*`)).toEqual([])
  expect(JSON.stringify(job.result)).not.toContain('712020:')
  const metrics = await t.core.metrics.registry.metrics()
  expect(metrics).toContain(`spoke_privacy_accounts_reported_total{alias="${alias}"} ${N}`)
  expect(metrics).toContain(`spoke_privacy_accounts_closed_total{alias="${alias}"} ${closed.length}`)
  expect(metrics).toMatch(new RegExp(`spoke_privacy_last_cycle_timestamp_seconds\\{alias="${alias}"\\} \\d+`))
}, 60_000)

// A service account's OAuth credential holds product scopes only: report:personal-data is an app permission
// (developer console), so the engine refuses before the handler's own PRIVACY_REPORT_UNSUPPORTED check.
it('refuses a client-credentials alias, and reports nothing', async () => {
  const { alias } = await connectSimulatorAlias(t, sim, { alias: 'service_acct', grant: 'client_credentials' })
  await t.core.privacy.record(alias, [idOf(1)], 'job:x')
  const before = privacyOf(sim.state).stats().calls
  const id = await submitJob(t, 'confluence.privacy.report', { connection: alias })
  const job = await waitForJob(t, id)
  expect(job.state).toBe('failed')
  expect(job.error).toMatchObject({ code: 'UPSTREAM_SCOPE_MISSING', retryable: false })
  expect(job.error.message).toContain('report:personal-data')
  expect(privacyOf(sim.state).stats().calls).toBe(before)
}, 20_000)
