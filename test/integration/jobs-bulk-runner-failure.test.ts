// One of the bulk job's 8 runners fails to write its checkpoint while the 7 others are mid-flight (what a
// Redis failover did on a Cluster: 1,216 adds for 1,000 accounts). The failure is Redis's own: that one
// checkpoint write is sent to a key holding a string and answered WRONGTYPE; every other write goes to the
// real checkpoint. The attempt must stop every runner and wait for the accounts in flight before the retry
// begins; were the other runners left going, they would race the retry over the same accounts and add some
// twice. The worker is assembled here as src/worker.ts does, with the checkpoint connection wrapped.
import type { Redis } from 'ioredis'
import type { Worker } from 'bullmq'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'
import { createRedis } from '../../src/lib/redis'
import { startRunActionWorker } from '../../src/jobs/run-action.worker'

let sim: Simulator
let t: TestSpoke
let subscriber: Redis
let checkpoints: Redis
let worker: Worker | undefined

/** The checkpoint writes seen, in order: which attempt's load they follow, whether Redis refused them, and
 * whether the runner had already been told of the refusal when the write began. */
interface Save { field: string, afterLoads: number, failed: boolean, afterRefusalKnown: boolean }
const saves: Save[] = []
let loads = 0
let refusalKnown = false
/** The n-th checkpoint write (1-based) goes to a string key, so Redis answers it WRONGTYPE. */
const FAILING_SAVE = 40

/** The real client, except that HGETALLs are counted and the FAILING_SAVE-th HSET hits a string key. */
function failingOnce (client: Redis): Redis {
  return new Proxy(client, {
    get (target, prop) {
      if (prop === 'hgetall') return async (key: string) => { loads++; return await target.hgetall(key) }
      if (prop === 'hset') {
        return async (key: string, field: string, value: string) => {
          const save: Save = { field, afterLoads: loads, failed: false, afterRefusalKnown: refusalKnown }
          saves.push(save)
          const poisoned = saves.length === FAILING_SAVE
          if (poisoned) await target.set(`${key}:poisoned`, 'a string, not a hash')
          try { return await target.hset(poisoned ? `${key}:poisoned` : key, field, value) } catch (err) { save.failed = true; refusalKnown = true; throw err }
        }
      }
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? v.bind(target) : v
    }
  })
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-bulk-runner-failure', size: { pages: 5, users: 700, groups: 4 }, rateLimit: { burstPerSecond: 5_000 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200' })
  subscriber = createRedis(t.config.redis, 'worker')
  checkpoints = createRedis(t.config.redis, 'worker')
  const connection = t.core.redis.job
  worker = startRunActionWorker({
    jobs: t.core.jobs,
    engine: t.core.engine,
    connections: t.core.connections.sessions,
    redis: failingOnce(checkpoints),
    privacy: t.core.jobServices.privacy?.index,
    log: t.core.log,
    maxRetryAfterSeconds: 30,
    connection,
    subscriber
  }, { keyPrefix: t.config.keyPrefix, concurrency: 2, lockDurationMs: t.config.jobLockMs, callback: { attempts: 1, backoffMs: 1_000 } })
  await subscriber.subscribe(t.core.jobs.keys.cancelChannel)
})
afterAll(async () => {
  try {
    await worker?.close()
    subscriber?.disconnect()
    checkpoints?.disconnect()
    await t?.close()
  } finally { await sim?.close() }
})

it("a checkpoint write failing in one runner stops the attempt's other runners before the retry: no account added twice", async () => {
  const g = [...sim.data.groups()].sort((a, b) => a.members.length - b.members.length)[0]
  await connectSimulatorAlias(t, sim, { alias: 'rf', grant: 'client_credentials', managedGroups: [{ groupId: g.id }] })
  const toAdd = sim.data.users().map(u => u.accountId).filter(a => !g.members.includes(a)).slice(0, 500)
  expect(toAdd).toHaveLength(500)
  sim.reset()
  // Slow enough that the first attempt still has ~2 s of accounts ahead when its retry starts (after 0.7–1.3 s).
  sim.faults.set({ latencyMs: 20 })

  const id = await submitJob(t, 'confluence.group.members.bulk', { connection: 'rf', input: { groupId: g.id, add: toAdd, remove: [] } })
  const job = await waitForJob(t, id, undefined, 60_000)
  sim.faults.clear()
  expect(job.state).toBe('completed')
  expect(job.attemptsMade).toBe(2) // the one refused write failed the first attempt, and only it
  expect(saves.filter(s => s.failed)).toHaveLength(1)
  expect(loads).toBe(2)

  // The first attempt stopped: once the refusal was known its runners saved only the (at most 7) accounts
  // they had in flight, and nothing once the retry had loaded the checkpoint. (Counted from when the refusal
  // came back, not from when the refused write was sent: meanwhile, two Redis round trips on a loaded machine,
  // the other runners go on as they should.)
  const firstAttemptAfterFailure = saves.filter(s => s.afterRefusalKnown && s.afterLoads === 1).length
  const retried = saves.filter(s => s.afterLoads === 2).map(s => s.field)
  const savedTwice = saves.filter(s => !s.failed).map(s => s.field).filter((f, i, all) => all.indexOf(f) !== i)
  const adds = sim.counters().byOperationStatus.addUserToGroupByGroupId ?? {}
  console.log(`bulk runner failure: write ${FAILING_SAVE} refused (WRONGTYPE); first attempt saved ${firstAttemptAfterFailure} more once it was known; ` +
    `saved after the retry loaded the checkpoint ${retried.length}; fields saved twice ${savedTwice.length}; attempts ${String(job.attemptsMade)}; summary ${JSON.stringify(job.result.summary)}; add requests ${JSON.stringify(adds)}`)
  expect(firstAttemptAfterFailure).toBeLessThanOrEqual(7)
  expect(savedTwice).toEqual([])
  expect(new Set(retried).size).toBe(retried.length)
  expect(job.result.summary).toMatchObject({ total: 500, failed: 0 })
  const members = new Set(sim.data.groupMembers(g.id))
  expect(toAdd.filter(a => !members.has(a))).toEqual([])
  // Every account is a member, so each was added at least once; 500 adds in all means exactly once each
  // (the simulator answers 201 to an add of a member too).
  expect(adds).toEqual({ 201: 500 })
}, 90_000)
