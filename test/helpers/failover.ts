// Shared steps of the Redis failover tests: watch /readyz through the gap, then prove the alias and the
// job queue work again on the promoted node.
import type { Simulator } from 'confluence-cloud-simulator'
import { http } from './connect'
import { submitJob, waitForJob } from './jobs'
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
 * pages, blog posts and attachments (of current containers, in current spaces: the crawl lists only those)
 * missing. Asserts both lists are empty.
 */
export function expectCrawlExact (t: TestSpoke, sim: Simulator, path: string): { records: number, duplicates: number, missing: number } {
  const records = readSink(t.config.dataDir, path)
  const ids = records.map(r => r.recordId)
  const duplicates = ids.filter((r, i) => ids.indexOf(r) !== i)
  const spaces = new Set(sim.data.spaces().filter(s => s.status === 'current').map(s => s.id))
  const expected = [...sim.data.content()].filter(c => c.status === 'current' && spaces.has(c.spaceId) && (c.kind !== 'attachment' || sim.data.contentById(c.parentId as string)?.status === 'current')).map(c => c.id)
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
