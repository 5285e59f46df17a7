// The "no trace" test of issue #14: an account's data is stored through the real routes (a bulk job, an
// idempotent user read, a user action run as a job, a crawl), the account is closed in the simulator, the report
// runs, and then nothing in Redis (every key of the test's prefix, every value read by type) nor in the jobs
// API names its accountId, name or email, while the other accounts' data is intact. An account reported
// `updated` loses its cached replay (the next read is fresh). The default report schedule exists.
import type { Redis } from 'ioredis'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'privacy-erasure', size: { pages: 5, users: 40, groups: 3 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'info', SPOKE_SITE_RATE_PER_SECOND: '2000', SPOKE_SITE_BURST: '200', SPOKE_PRIVACY_REPORT_EVERY_SECONDS: String(7 * 86400) }, { workers: true })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

/** Every key of the test's prefix with its value as text (strings, hashes, lists, sets, sorted sets, streams). */
async function dumpRedis (redis: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const type = await redis.type(key)
      let value: unknown
      if (type === 'string') value = await redis.get(key)
      else if (type === 'hash') value = await redis.hgetall(key)
      else if (type === 'list') value = await redis.lrange(key, 0, -1)
      else if (type === 'set') value = await redis.smembers(key)
      else if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES')
      else if (type === 'stream') value = await redis.xrange(key, '-', '+')
      else value = `(${type})`
      out.set(key, `${key} ${JSON.stringify(value)}`)
    }
  } while (cursor !== '0')
  return out
}

const traces = (text: string, who: { accountId: string, displayName: string, email: string | null }): string[] =>
  [who.accountId, JSON.stringify(who.displayName).slice(1, -1) + '\\"', who.email ?? '\u0000'].filter((term) => text.includes(term))

it('erases a closed account everywhere, keeps the others, refreshes an updated one', async () => {
  const users = sim.data.users()
  const unique = users.filter((u) => u.accountType === 'atlassian' && u.emailVisible && users.filter((v) => v.displayName === u.displayName).length === 1)
  const group = sim.data.groups().find((g) => g.members.filter((m: string) => unique.some((u) => u.accountId === m)).length >= 3)!
  const [victim, other, updated] = unique.filter((u) => group.members.includes(u.accountId))
  const target = sim.data.groups().find((g) => g.id !== group.id)!
  const { alias } = await connectSimulatorAlias(t, sim, { managedGroups: [{ groupId: group.id }, { groupId: target.id }] })

  // 1. A bulk job (input and per-account results), an idempotent user read of each, a user action as a job.
  const bulk = await submitJob(t, 'confluence.group.members.bulk', { input: { groupId: target.id, add: [victim.accountId, other.accountId, updated.accountId] } })
  const read = async (who: { accountId: string }, key: string) => await http(t, 'POST', '/v1/actions/confluence.user.get/execute', { key: t.keys.invoker, body: { input: { accountId: who.accountId } }, headers: { 'idempotency-key': key } })
  const keyOf = (who: { accountId: string }) => `read-${[victim, other, updated].indexOf(who as any)}`
  for (const who of [victim, other, updated]) expect((await read(who, keyOf(who))).status).toBe(200)
  // A client may name the account in its Idempotency-Key: that record cannot be redacted, it goes.
  expect((await read(victim, `victim-${victim.accountId}`)).status).toBe(200)
  const members = await submitJob(t, 'confluence.group.members', { input: { groupId: group.id, all: true } })
  // A crawl stages every group member (the victim among them) in Redis while it runs.
  const crawl = await submitJob(t, 'confluence.content.crawl', { input: { sink: { type: 'file', path: 'privacy.ndjson' } } })
  expect((await waitForJob(t, bulk)).state).toBe('completed')
  const membersJob = await waitForJob(t, members)
  expect(membersJob.state).toBe('completed')
  expect(JSON.stringify(membersJob.result)).toContain(victim.email!)
  expect((await waitForJob(t, crawl)).state).toBe('completed')
  expect(await t.core.privacy.where(alias, victim.accountId)).toContain(`crawl:${crawl}`)

  // The alias got its default report schedule with its first stored account; let its first run finish.
  const schedule = await http(t, 'GET', `/v1/schedules/privacy-report-${alias}`, { key: t.keys.admin })
  expect(schedule.status).toBe(200)
  expect(schedule.json()).toMatchObject({ action: 'confluence.privacy.report', connection: alias, every: 7 * 86400 })
  const scheduled = async () => ((await http(t, 'GET', '/v1/jobs?action=confluence.privacy.report&limit=50', { key: t.keys.viewer })).json().jobs as any[])
  const settled = (jobs: any[]) => jobs.length > 0 && jobs.every((j) => ['completed', 'failed'].includes(j.state))
  for (let i = 0; i < 100 && !settled(await scheduled()); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  // The schedule ran at once: a report before anything was closed.
  expect((await scheduled()).map((j) => j.state)).toContain('completed')
  expect((await t.core.redis.store.zscore(t.core.privacy.keys.index(alias), victim.accountId))).not.toBeNull()
  const before = await dumpRedis(t.core.redis.store, t.config.keyPrefix)
  expect(traces([...before.values()].join('\n'), victim).length).toBe(3)

  // 2. The account is closed (control route), another one's profile changed.
  expect((await fetch(`${sim.url}/__sim/privacy/accounts/${encodeURIComponent(victim.accountId)}/close`, { method: 'POST' })).status).toBe(200)
  expect((await fetch(`${sim.url}/__sim/privacy/accounts/${encodeURIComponent(updated.accountId)}/update`, { method: 'POST' })).status).toBe(200)

  // 3. The report runs.
  const report = await waitForJob(t, await submitJob(t, 'confluence.privacy.report', { connection: alias }))
  expect(report.state).toBe('completed')
  expect(report.result).toMatchObject({ closed: 1, updated: 1 })
  expect(report.result.erased.jobs).toBeGreaterThanOrEqual(2)
  expect(report.result.erased.replays).toBe(2)

  // 4. No trace in Redis: every key, every value.
  const after = await dumpRedis(t.core.redis.store, t.config.keyPrefix)
  const all = [...after.values()].join('\n')
  const found = [...after.values()].filter((v) => traces(v, victim).length > 0).map((v) => v.slice(0, 300))
  console.log(`privacy-erasure: scanned ${after.size} keys (${all.length} bytes of values); traces of the closed account before: ${traces([...before.values()].join('\n'), victim).length}/3 terms, after: ${found.length} keys`)
  expect(found).toEqual([])
  // The other accounts' data is intact: their ids, names and emails are still stored.
  expect(traces(all, other)).toHaveLength(3)
  expect(all).toContain(updated.accountId)

  // 5. No trace in the jobs API; the jobs stay, with their shape.
  const list = await http(t, 'GET', '/v1/jobs?limit=100', { key: t.keys.viewer })
  expect(traces(list.text, victim)).toEqual([])
  for (const j of list.json().jobs as any[]) {
    const one = await http(t, 'GET', `/v1/jobs/${j.jobId as string}`, { key: t.keys.viewer })
    expect(traces(one.text, victim)).toEqual([])
  }
  const bulkView = await waitForJob(t, bulk)
  expect(bulkView.result.summary.total).toBe(3)
  expect(bulkView.result.results.map((r: any) => r.accountId)).toEqual(expect.arrayContaining(['[erased]', other.accountId, updated.accountId]))
  const data = JSON.parse((await t.core.redis.store.hget(`{${t.config.keyPrefix}}:bull:run-action:${bulk}`, 'data'))!)
  expect(data.input.add).toEqual(expect.arrayContaining(['[erased]', other.accountId]))

  // 6. The closed account's replay is redacted; the updated account's replay was dropped (fresh read); the other's is replayed.
  const again = await read(victim, keyOf(victim))
  expect(again.headers['idempotent-replayed']).toBe('true')
  expect(traces(again.text, victim)).toEqual([])
  expect((await read(updated, keyOf(updated))).headers['idempotent-replayed']).toBeUndefined()
  expect((await read(other, keyOf(other))).headers['idempotent-replayed']).toBe('true')
  console.log(`privacy-erasure: logs mention the closed accountId ${t.logs().split(victim.accountId).length - 1} times, its email ${t.logs().split(victim.email!).length - 1} times`)
}, 60_000)
