// Failover under load: a bulk job, a crawl (file sink) and a burst of small jobs run on a Sentinel group; the
// primary's redis-server is SIGKILLed; the sentinels promote the replica and the same spoke (no restart)
// follows it. No job lost, no account applied twice, every crawl record in the sink exactly once, the alias
// still refreshes; /readyz shows the gap. Prints the figures.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { getJob, submitJob, waitForJob } from '../helpers/jobs'
import { startSentinelGroup, type SentinelGroup } from '../helpers/redis-ha'
import { expectAliasAndJobsWork, expectCrawlExact, failedAttempts, readinessGap } from '../helpers/failover'

jest.setTimeout(180_000)

let group: SentinelGroup
let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  group = await startSentinelGroup('failover')
  sim = await startSimulator({ seed: 'redis-failover', permissions: 'nested', size: { pages: 600, spaces: 3, users: 1_500, groups: 4 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), ...group.env, LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' }, { workers: true })
}, 90_000)
afterAll(async () => {
  // every redis-server started here is killed even if closing the spoke or the simulator throws
  try { await t?.close() } finally { try { await sim?.close() } finally { await group?.stop() } }
})

it('follows a Sentinel failover mid-job: no job lost, no account applied twice, the crawl exact, the alias still usable', async () => {
  const g = [...sim.data.groups()].sort((a, b) => a.members.length - b.members.length)[0]
  await connectSimulatorAlias(t, sim, { alias: 'ha', managedGroups: [{ groupId: g.id }] })
  // the crawl reads as the app (client credentials) so it sees every page, as in the crawl crash test
  await connectSimulatorAlias(t, sim, { alias: 'crawler', grant: 'client_credentials' })
  const toAdd = sim.data.users().map(u => u.accountId).filter(a => !g.members.includes(a)).slice(0, 1_000)
  expect(toAdd).toHaveLength(1_000)
  sim.reset()
  sim.faults.set({ latencyMs: 5 }) // a slow upstream: the job is still running when the primary dies

  const bulk = await submitJob(t, 'confluence.group.members.bulk', { connection: 'ha', input: { groupId: g.id, add: toAdd, remove: [] } })
  const crawl = await submitJob(t, 'confluence.content.crawl', { connection: 'crawler', input: { sink: { type: 'file', path: 'failover/run.ndjson' } } })
  await waitForJob(t, bulk, j => (j.progress?.done ?? 0) >= 150, 30_000)
  const crawlAtKill = await waitForJob(t, crawl, j => j.state === 'active' && (j.progress?.done ?? 0) >= 100, 30_000)
  const small: string[] = []
  for (let i = 0; i < 10; i++) small.push(await submitJob(t, 'confluence.site.list', { connection: 'ha', input: {} }))

  const oldPrimary = group.primary.port
  const killedAt = Date.now()
  group.primary.proc.kill('SIGKILL')

  // /readyz during the gap: 503 while no primary answers, 200 once the spoke is on the promoted replica.
  const { unready, readyAgainMs } = await readinessGap(t, killedAt)
  expect(unready).toBeGreaterThan(0)
  expect(readyAgainMs).toBeGreaterThan(0)
  expect(await group.primaryPort()).toBe(group.replica.port)
  expect(group.replica.port).not.toBe(oldPrimary)

  const job = await waitForJob(t, bulk, undefined, 120_000)
  const doneMs = Date.now() - killedAt
  sim.faults.clear()
  expect(job.state).toBe('completed')
  expect(job.result.summary).toMatchObject({ total: 1_000, changed: 1_000, failed: 0 })
  const members = new Set(sim.data.groupMembers(g.id))
  expect(toAdd.filter(a => !members.has(a))).toEqual([])
  const adds = sim.counters().byOperationStatus.addUserToGroupByGroupId ?? {}
  expect(adds['201']).toBe(1_000) // each account applied exactly once
  // The crawl completes, and its sink holds every current page, blog post and attachment exactly once.
  const crawlJob = await waitForJob(t, crawl, undefined, 120_000)
  expect(crawlJob.state).toBe('completed')
  expect(crawlJob.result.complete).toBe(true)
  const sink = expectCrawlExact(t, sim, 'failover/run.ndjson')
  const smallJobs = await Promise.all(small.map(async id => await waitForJob(t, id, undefined, 60_000)))
  expect(smallJobs.map(j => j.state)).toEqual(Array(10).fill('completed'))

  await expectAliasAndJobsWork(t, 'ha')
  const final = await getJob(t, bulk)
  // what made the crawl take another attempt, if it did (it resumes from its checkpoint)
  const retried = failedAttempts(t, crawl)
  process.stdout.write(`sentinel failover: /readyz 200 again ${readyAgainMs} ms after SIGKILL of the primary (${unready} unready probes); ` +
    `bulk job completed ${doneMs} ms after it, attempts ${String(final.attemptsMade)}; jobs lost 0 of 12; accounts applied twice 0 of 1,000; ` +
    `add requests ${JSON.stringify(adds)}; crawl killed at ${String(crawlAtKill.progress.done)} items, completed, attempts ${String(crawlJob.attemptsMade)} (retried after ${JSON.stringify(retried)}), ` +
    `${sink.records} records, ${sink.duplicates} duplicated, ${sink.missing} missing\n`)
})
