// A stop (SIGTERM's close) while Redis is unreachable: the spoke closes at once instead of waiting for Redis
// (before, the workers' close and the QUIT of connections that queue commands while disconnected waited for
// Redis to return, i.e. until the shutdown timeout killed the process). The jobs it was running are not lost:
// their locks lapse, another spoke's worker takes them up as stalled and applies every account exactly once.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { startTcpProxy, redisTarget, type TcpProxy } from '../helpers/tcp-proxy'
import { getJob, submitJob, waitForJob } from '../helpers/jobs'
import { expectEachAccountAddedOnce } from '../helpers/failover'

const JOBS = 2
const ACCOUNTS_PER_JOB = 80
let sim: Simulator
let proxy: TcpProxy
let first: TestSpoke
let second: TestSpoke | undefined

beforeAll(async () => {
  sim = await startSimulator({ seed: 'shutdown-redis-outage', size: { pages: 10, users: 500, groups: 6 } })
  proxy = await startTcpProxy(redisTarget())
  // A short lock, so the jobs the stopped spoke held are taken up again soon.
  first = await buildTestSpoke({ ...simulatorEnv(sim), REDIS_URL: proxy.url, LOG_LEVEL: 'warn', SPOKE_JOB_LOCK_MS: '2000', SPOKE_SITE_RATE_PER_SECOND: '1000', SPOKE_SITE_BURST: '100' }, { workers: { concurrency: 2 } })
})
afterAll(async () => {
  await proxy.restore()
  if (second !== undefined) await closeCheckingContract(sim, second)
  else await sim.close()
  await proxy.close()
})

it('closes within moments while Redis is away; the jobs it ran finish on another spoke, each account applied once', async () => {
  const groups = sim.data.groups().slice(2, 2 + JOBS)
  await connectSimulatorAlias(first, sim, { grant: 'client_credentials', managedGroups: groups.map(g => ({ groupId: g.id })) })
  const users = sim.data.users().map(u => u.accountId).slice(2)
  const plan = groups.map(g => ({ group: g, add: users.filter(a => !g.members.includes(a)).slice(0, ACCOUNTS_PER_JOB) }))
  sim.reset()
  sim.faults.set({ latencyMs: 25, operations: ['getGroupMembershipsForUser'] })
  const ids = await Promise.all(plan.map(p => submitJob(first, 'confluence.group.members.bulk', { input: { groupId: p.group.id, add: p.add } })))
  for (const id of ids) await waitForJob(first, id, j => j.state === 'active' && (j.progress?.done ?? 0) >= 3)

  await proxy.cut()
  // Every connection has noticed (none is 'ready'), bounded.
  for (const deadline = Date.now() + 10_000; Object.values({ store: first.core.redis.store, producer: first.core.redis.producer, job: first.core.redis.job }).some(c => c.status === 'ready') && Date.now() < deadline;) {
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  const t0 = Date.now()
  const closed = await Promise.race([first.close().then(() => true), new Promise<false>(resolve => setTimeout(() => resolve(false), 30_000))])
  const closeMs = Date.now() - t0
  expect(closed).toBe(true)
  // Not a timing test: "did not wait for Redis" (it waited forever before). QUIT is given 2 s at most.
  expect(closeMs).toBeLessThan(10_000)
  await proxy.restore()

  // Another spoke on the same Redis, keys and master key takes the stalled jobs up.
  second = await buildTestSpoke({
    ...simulatorEnv(sim),
    LOG_LEVEL: 'warn',
    SPOKE_KEY_PREFIX: first.config.keyPrefix,
    SPOKE_MASTER_KEY: (first.config.masterKey as Buffer).toString('base64'),
    SPOKE_JOB_LOCK_MS: '2000',
    SPOKE_SITE_RATE_PER_SECOND: '1000',
    SPOKE_SITE_BURST: '100'
  }, { workers: { concurrency: 2 } })
  const resumed = Date.now()
  const jobs = await Promise.all(ids.map(id => waitForJob(second!, id, undefined, 60_000)))
  sim.faults.clear()
  process.stdout.write(`shutdown during a Redis outage: closed in ${closeMs} ms with ${JOBS} jobs running; both done ${((Date.now() - resumed) / 1000).toFixed(1)} s after another spoke started; attempts ${jobs.map(j => j.attemptsMade).join(',')}\n`)
  // Exactly once: one successful write per account, none Confluence had to refuse as a repeat.
  expectEachAccountAddedOnce(sim, plan, jobs)
  expect((await getJob(second, ids[0])).state).toBe('completed')
}, 120_000)
