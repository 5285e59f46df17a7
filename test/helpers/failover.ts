// Shared steps of the Redis failover tests: watch /readyz through the gap, then prove the alias and the
// job queue work again on the promoted node.
import { http } from './connect'
import { submitJob, waitForJob } from './jobs'
import type { TestSpoke } from './spoke'

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
