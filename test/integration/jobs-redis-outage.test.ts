// Redis goes away under load and comes back (README, Checks "Redis restart under load"): a spoke whose Redis
// connection is cut for two seconds while bulk jobs are running loses no job, finishes every one once
// Redis is back, and applies every membership change exactly once (simulator counters).
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { startTcpProxy, redisTarget, type TcpProxy } from '../helpers/tcp-proxy'
import { getJob, submitJob, waitForJob } from '../helpers/jobs'
import { expectEachAccountAddedOnce } from '../helpers/failover'

const JOBS = 6
const ACCOUNTS_PER_JOB = 120
let sim: Simulator
let proxy: TcpProxy
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-redis-outage', size: { pages: 10, users: 500, groups: 10 } })
  proxy = await startTcpProxy(redisTarget())
  // A short lock, so a job whose lock could not be renewed during the outage is taken up again quickly.
  t = await buildTestSpoke({ ...simulatorEnv(sim), REDIS_URL: proxy.url, LOG_LEVEL: 'warn', SPOKE_JOB_LOCK_MS: '3000', SPOKE_SITE_RATE_PER_SECOND: '1000', SPOKE_SITE_BURST: '100' }, { workers: { concurrency: 4 } })
})
afterAll(async () => {
  await proxy.restore()
  await closeCheckingContract(sim, t)
  await proxy.close()
})

it('finishes every running job once Redis is back, each account applied exactly once', async () => {
  const groups = sim.data.groups().slice(2, 2 + JOBS)
  await connectSimulatorAlias(t, sim, {
    grant: 'client_credentials',
    managedGroups: groups.map(g => ({ groupId: g.id })),
    doc: { retryPolicy: { strategy: 'exponential', delaySeconds: 1, maxAttempts: 6, maxElapsedSeconds: 600 } }
  })
  const users = sim.data.users().map(u => u.accountId).slice(2)
  const plan = groups.map(g => ({ group: g, add: users.filter(a => !g.members.includes(a)).slice(0, ACCOUNTS_PER_JOB) }))
  sim.reset()
  // Slow enough that the jobs are mid-way when Redis goes.
  sim.faults.set({ latencyMs: 25, operations: ['getGroupMembershipsForUser'] })
  const ids = await Promise.all(plan.map(p => submitJob(t, 'confluence.group.members.bulk', { input: { groupId: p.group.id, add: p.add } })))
  await waitForJob(t, ids[0], j => (j.progress?.done ?? 0) >= 5 || j.state !== 'waiting')
  const atCut = await Promise.all(ids.map(id => getJob(t, id)))

  await proxy.cut()
  // Long enough that the api and the workers met it: /readyz says 503 and the job connection is down, bounded.
  for (const deadline = Date.now() + 10_000; ((await http(t, 'GET', '/readyz')).status !== 503 || t.core.redis.job.status === 'ready') && Date.now() < deadline;) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  await proxy.restore()
  // The api answers 503 until its connections are back.
  for (let i = 0; i < 100 && (await http(t, 'GET', '/readyz')).status !== 200; i++) await new Promise(resolve => setTimeout(resolve, 100))

  const restored = Date.now()
  const jobs = await Promise.all(ids.map(id => waitForJob(t, id, undefined, 60_000)))
  sim.faults.clear()
  process.stdout.write(`jobs-redis-outage: ${atCut.filter(j => j.state !== 'completed').length} of ${JOBS} jobs unfinished at the cut; all done ${((Date.now() - restored) / 1000).toFixed(1)} s after Redis returned; attempts ${jobs.map(j => j.attemptsMade).join(',')}; accounts found already applied on resume ${jobs.reduce((n, j) => n + (j.result.summary.unchanged as number), 0)}\n`)
  // The outage hit work in progress.
  expect(atCut.filter(j => j.state !== 'completed').length).toBeGreaterThanOrEqual(JOBS - 2)
  // Exactly once: one successful write per account, none Confluence had to refuse as a repeat.
  expectEachAccountAddedOnce(sim, plan, jobs)
}, 120_000)

it('while Redis is away, a sync call is served from the cached alias (a failover does not fail it); one with an Idempotency-Key answers 503', async () => {
  const execute = async (headers: Record<string, string> = {}): Promise<{ status: number, code?: string }> => {
    const res = await http(t, 'POST', '/v1/actions/confluence.user.current/execute', { key: t.keys.invoker, body: { input: {} }, headers })
    return { status: res.status, code: res.json()?.code }
  }
  expect((await execute()).status).toBe(200)
  await proxy.cut()
  try {
    // Past the 5 s the cache trusts an alias without asking Redis: the re-read fails, the cached copy serves.
    await new Promise(resolve => setTimeout(resolve, 5_500))
    expect(await execute()).toEqual({ status: 200, code: undefined })
    // An idempotent call needs its record in Redis: a retryable 503, never a 500.
    expect(await execute({ 'idempotency-key': 'during-the-outage' })).toEqual({ status: 503, code: 'QUEUE_UNAVAILABLE' })
  } finally {
    await proxy.restore()
    // Back to ready before the file closes the spoke (a close in the middle of reconnecting waits on it).
    for (let i = 0; i < 100 && (await http(t, 'GET', '/readyz')).status !== 200; i++) await new Promise(resolve => setTimeout(resolve, 100))
  }
}, 30_000)
