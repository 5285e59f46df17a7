// Shared steps of the Redis failover tests: the load running when the primary dies, /readyz through the gap,
// then proof that no job was lost, nothing applied twice, and the alias and the queue work on the new primary.
import type { Simulator } from 'confluence-cloud-simulator'
import { connectSimulatorAlias, http } from './connect'
import { getJob, submitJob, waitForJob } from './jobs'
import type { TestSpoke } from './spoke'
import { readSink } from './crawl'

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** Polls /readyz every 100 ms from `since`: how many probes were not 200, and when it was 200 again (-1: never). */
export async function readinessGap (t: TestSpoke, since: number, timeoutMs = 60_000): Promise<{ unready: number, readyAgainMs: number }> {
  let unready = 0
  while (Date.now() - since < timeoutMs) {
    const r = await http(t, 'GET', '/readyz').catch(() => ({ status: 0 }))
    if (r.status !== 200) unready++
    else if (unready > 0) return { unready, readyAgainMs: Date.now() - since }
    await sleep(100)
  }
  return { unready, readyAgainMs: -1 }
}

/** The rotated refresh token survived (the alias refreshes and calls again) and new jobs are accepted and run. */
export async function expectAliasAndJobsWork (t: TestSpoke, alias: string): Promise<void> {
  expect((await http(t, 'POST', `/v1/connections/${alias}/token`, { key: t.keys.admin })).status).toBe(200)
  expect((await http(t, 'POST', '/v1/actions/confluence.site.list/execute', { key: t.keys.invoker, body: { connection: alias, input: {} } })).status).toBe(200)
  const after = await submitJob(t, 'confluence.site.list', { connection: alias, input: {} })
  expect((await waitForJob(t, after)).state).toBe('completed')
}

/**
 * A crawl's file sink against the simulator: its records, the record ids written twice, and the current
 * (and archived) pages, blog posts and attachments (of such containers, in current spaces: the crawl lists
 * only those) missing. Asserts both lists are empty.
 */
export function expectCrawlExact (t: TestSpoke, sim: Simulator, path: string): { records: number, duplicates: number, missing: number } {
  const records = readSink(t.config.dataDir, path)
  const ids = records.map(r => r.recordId)
  const duplicates = ids.filter((r, i) => ids.indexOf(r) !== i)
  const spaces = new Set(sim.data.spaces().filter(s => s.status === 'current').map(s => s.id))
  // (archived pages are exported too, marked: the crawl's default)
  const exported = (c: { kind: string, status: string } | undefined): boolean => c?.status === 'current' || (c?.kind === 'page' && c.status === 'archived')
  const expected = [...sim.data.content()].filter(c => exported(c) && spaces.has(c.spaceId) && (c.kind !== 'attachment' || exported(sim.data.contentById(c.parentId as string)))).map(c => c.id)
  const content = records.filter(r => ['page', 'blogpost', 'attachment'].includes(r.kind)).map(r => String(r.id).replace(/^att/, ''))
  const missing = expected.filter(id => !content.includes(id))
  expect(duplicates).toEqual([])
  expect(content.sort()).toEqual(expected.sort())
  return { records: records.length, duplicates: duplicates.length, missing: missing.length }
}

/** Why a job's attempts failed ("CODE: message"), from the spoke's log ('job attempt failed' lines). */
export function failedAttempts (t: TestSpoke, jobId: string): string[] {
  return t.logs().split('\n').filter(l => l.includes(jobId) && l.includes('job attempt failed')).map(l => JSON.parse(l) as { code: string, message: string }).map(l => `${l.code}: ${l.message}`)
}

/** What the failover tests run when the primary dies: a 1,000-account bulk job, a crawl and 10 small jobs. */
export interface FailoverLoad {
  groupId: string
  toAdd: string[]
  bulk: string
  crawl: string
  small: string[]
  /** items the crawl had done when the load was in full swing (just before the kill) */
  crawlDoneAtKill: number
}

/** Connects the `ha` (3LO, managing the smallest group) and `crawler` (client credentials) aliases and starts the load. */
export async function startFailoverLoad (t: TestSpoke, sim: Simulator): Promise<FailoverLoad> {
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
  return { groupId: g.id, toAdd, bulk, crawl, small, crawlDoneAtKill: Number(crawlAtKill.progress.done) }
}

/**
 * After the failover: every job completed, each account added upstream exactly once, the crawl's sink exact,
 * the alias and the queue usable. Returns the figures the tests print.
 */
export async function expectLoadSurvived (t: TestSpoke, sim: Simulator, load: FailoverLoad, killedAt: number): Promise<string> {
  const job = await waitForJob(t, load.bulk, undefined, 120_000)
  const doneMs = Date.now() - killedAt
  sim.faults.clear()
  expect(job.state).toBe('completed')
  // The accounts in flight at the kill may have been added upstream with their checkpoint not written (or,
  // replication being asynchronous, lost): the next attempt re-reads their membership, finds them added and
  // counts them unchanged; it does not add them again (exactly one add per account, below).
  const { changed, unchanged } = job.result.summary as { changed: number, unchanged: number }
  expect(job.result.summary).toMatchObject({ total: 1_000, failed: 0 })
  expect(changed + unchanged).toBe(1_000)
  const members = new Set(sim.data.groupMembers(load.groupId))
  expect(load.toAdd.filter(a => !members.has(a))).toEqual([])
  const adds = sim.counters().byOperationStatus.addUserToGroupByGroupId ?? {}
  expect(adds['201']).toBe(1_000) // each account applied exactly once
  // The crawl completes, and its sink holds every current page, blog post and attachment exactly once.
  const crawlJob = await waitForJob(t, load.crawl, undefined, 120_000)
  expect(crawlJob.state).toBe('completed')
  expect(crawlJob.result.complete).toBe(true)
  const sink = expectCrawlExact(t, sim, 'failover/run.ndjson')
  const smallJobs = await Promise.all(load.small.map(async id => await waitForJob(t, id, undefined, 60_000)))
  expect(smallJobs.map(j => j.state)).toEqual(Array(10).fill('completed'))

  await expectAliasAndJobsWork(t, 'ha')
  const final = await getJob(t, load.bulk)
  // what made the crawl take another attempt, if it did (it resumes from its checkpoint)
  const retried = failedAttempts(t, load.crawl)
  return `bulk job completed ${doneMs} ms after it, attempts ${String(final.attemptsMade)}; jobs lost 0 of 12; ` +
    `accounts applied twice 0 of 1,000 (changed ${changed}, re-checked on a later attempt ${unchanged}); add requests ${JSON.stringify(adds)}; ` +
    `crawl killed at ${load.crawlDoneAtKill} items, completed, attempts ${String(crawlJob.attemptsMade)} (retried after ${JSON.stringify(retried)}), ` +
    `${sink.records} records, ${sink.duplicates} duplicated, ${sink.missing} missing`
}

/** Bulk add jobs that each ran to completion, every account of their plan added exactly once: on the site, one 201 apiece, no 409. */
export function expectEachAccountAddedOnce (
  sim: Pick<Simulator, 'data' | 'counters'>,
  plan: Array<{ group: { id: string }, add: string[] }>,
  jobs: any[]
): void {
  expect(jobs.map(j => j.state)).toEqual(plan.map(() => 'completed'))
  for (const [i, job] of jobs.entries()) {
    expect(job.result.summary).toMatchObject({ total: plan[i].add.length, failed: 0 })
    const members = new Set(sim.data.groupMembers(plan[i].group.id) ?? [])
    expect(plan[i].add.filter(a => !members.has(a))).toEqual([])
  }
  const c = sim.counters()
  expect(c.byOperationStatus.addUserToGroupByGroupId?.['201']).toBe(plan.reduce((n, p) => n + p.add.length, 0))
  expect(c.byStatus['409'] ?? 0).toBe(0)
}
