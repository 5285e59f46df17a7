// The operator's metrics move when the simulator makes things happen (docs/observability.md): an injected
// 429 counts in the 429 counter and the Retry-After histogram and pauses the site; a call waiting out that
// pause shows in the budget wait histogram; a refused refresh token moves the alias-state gauge. Scraped
// from /metrics over HTTP, as Prometheus would.
import { CrawlState } from '../../src/crawl/state'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { parsePromText, sampleSum, sampleValue, type Sample } from '../helpers/prom-text'
import { SiteBudget } from '../../src/budget/site-budget'
import { getJob, submit, submitJob, waitForJob } from '../helpers/jobs'
import { readSink } from '../helpers/crawl'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'observability', size: 20 })
  // info: the trace id tests read the request's and the job's log lines
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'info' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

async function scrape (): Promise<Sample[]> {
  const res = await http(t, 'GET', '/metrics', { key: t.keys.viewer })
  expect(res.status).toBe(200)
  return parsePromText(res.text)
}

const execute = (key: string): Promise<{ status: number, json: () => any }> =>
  http(t, 'POST', '/v1/actions/confluence.user.current/execute', { key, body: { input: {} } })

it('an injected 429: the 429 counter, the Retry-After histogram, a retry, a site pause, and a sync wait for it', async () => {
  const cloud = sim.defaultCloudId
  const op = { operation: 'confluence.user.current' }
  const before = await scrape()
  sim.faults.next({ kind: 'rateLimit', retryAfter: 2 }, 1, { operations: ['getCurrentUser'] })
  const first = execute(t.keys.invoker)
  await new Promise(resolve => setTimeout(resolve, 300))
  // Sent while the site is paused: it waits for the pause in the budget instead of calling Confluence.
  const second = await execute(t.keys.invoker)
  expect(second.status).toBe(200)
  expect((await first).status).toBe(200)

  const after = await scrape()
  const delta = (name: string, labels: Record<string, string> = {}): number => sampleSum(after, name, labels) - sampleSum(before, name, labels)
  expect(delta('spoke_upstream_rate_limited_total', { ...op, cloud_id: cloud })).toBe(1)
  expect(delta('spoke_upstream_retry_after_seconds_count', { cloud_id: cloud })).toBe(1)
  expect(delta('spoke_upstream_retry_after_seconds_sum', { cloud_id: cloud })).toBe(2)
  expect(delta('spoke_upstream_retry_after_seconds_bucket', { cloud_id: cloud, le: '1' })).toBe(0)
  expect(delta('spoke_upstream_retry_after_seconds_bucket', { cloud_id: cloud, le: '2' })).toBe(1)
  expect(delta('spoke_upstream_requests_total', { ...op, status_class: '4xx' })).toBe(1)
  expect(delta('spoke_upstream_requests_total', { ...op, status_class: '2xx' })).toBe(2)
  expect(delta('spoke_upstream_request_duration_seconds_count', op)).toBe(3)
  expect(delta('spoke_upstream_retries_total', { reason: 'rate_limited' })).toBe(1)
  expect(delta('spoke_budget_pauses_total', { cloud_id: cloud, reason: 'rate_limited' })).toBe(1)
  // The second call's wait for the pause (about 1.7 s) and the first's retry, if it met the pause too.
  const waits = delta('spoke_budget_wait_seconds_count', { cloud_id: cloud, mode: 'sync' })
  expect(waits).toBeGreaterThanOrEqual(1)
  expect(delta('spoke_budget_wait_seconds_sum', { cloud_id: cloud, mode: 'sync' })).toBeGreaterThan(1.2)
  expect(delta('spoke_budget_wait_seconds_bucket', { cloud_id: cloud, mode: 'sync', le: '1' })).toBe(0)
  expect(sampleValue(after, 'spoke_budget_pause_remaining_seconds', { cloud_id: cloud })).toBe(0)
  // Never a raw path, an account id or a token in a label.
  for (const s of after.filter(x => x.name.startsWith('spoke_upstream_'))) {
    for (const v of Object.values(s.labels)) expect(v).not.toMatch(/712020:|Bearer|\/wiki\/rest\/api\/user\/current/)
  }
}, 30_000)

it('a job-mode budget wait: tokens granted and the wait in the histogram', async () => {
  // A budget of its own (own key prefix) on the spoke's registry: 2 tokens/s, burst 1.
  const budget = new SiteBudget(t.core.redis.store, { keyPrefix: `${t.config.keyPrefix}:obs`, ratePerSecond: 2, burst: 1, syncPatienceMs: 1_000, metrics: t.core.metrics.budget })
  const before = await scrape()
  for (let i = 0; i < 3; i++) await budget.take('obs-site', 5_000)
  const after = await scrape()
  const delta = (name: string, labels: Record<string, string>): number => sampleSum(after, name, labels) - sampleSum(before, name, labels)
  expect(delta('spoke_budget_tokens_granted_total', { cloud_id: 'obs-site' })).toBe(3)
  expect(delta('spoke_budget_wait_seconds_count', { cloud_id: 'obs-site', mode: 'job' })).toBe(3)
  // Two of the three waited about half a second each for the bucket to refill.
  expect(delta('spoke_budget_wait_seconds_sum', { cloud_id: 'obs-site', mode: 'job' })).toBeGreaterThan(0.8)
})

it('a refused refresh token: the refresh counter and the alias-state gauge move to refresh_failed', async () => {
  await connectSimulatorAlias(t, sim, { alias: 'revoked', scopes: ['read:page:confluence', 'read:confluence-user', 'offline_access'] })
  const before = await scrape()
  expect(sampleValue(before, 'spoke_aliases', { state: 'refresh_failed' })).toBe(0)
  expect(sampleValue(before, 'spoke_aliases', { state: 'active' })).toBeGreaterThanOrEqual(1) // cached: may predate 'revoked'
  sim.revokeRefreshTokens()
  sim.expireAllTokens() // the gateway answers 401: the client refreshes once, which Atlassian refuses
  await expect(t.core.confluence.call('revoked', { method: 'GET', path: '/wiki/rest/api/user/current' })).rejects.toMatchObject({ code: 'CONNECTION_NOT_AUTHORIZED' })

  // The gauge reads the alias views at most every 5 s: poll like a scraper would.
  let after = await scrape()
  for (let i = 0; i < 40 && sampleValue(after, 'spoke_aliases', { state: 'refresh_failed' }) === 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 250))
    after = await scrape()
  }
  expect(sampleValue(after, 'spoke_aliases', { state: 'refresh_failed' })).toBe(1)
  expect(sampleValue(after, 'spoke_token_refreshes_total', { alias: 'revoked', outcome: 'refused' })).toBe(1)
  // A call outside the engine is labelled by its route template, never the raw path.
  expect(sampleSum(after, 'spoke_upstream_requests_total', { operation: 'GET /wiki/rest/api/user/current', status_class: '4xx' })).toBeGreaterThanOrEqual(1)
}, 30_000)

it('a crawl job: items by kind, the crawl progress time, its backlog while it runs, the job duration, and its paced requests under the action id', async () => {
  const before = await scrape()
  const alias = { alias: 'confluence_cloud' }
  // The first page listing is slow: the run is caught mid-way, its spaces counted, its pages not processed yet.
  sim.faults.next({ kind: 'latency', ms: 2_000 }, 1, { operations: ['getPagesInSpace'] })
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: ['page', 'blogpost'], sink: { type: 'file', path: 'obs/crawl.ndjson' } } })
  let during = await scrape()
  for (let i = 0; i < 60 && sampleValue(during, 'spoke_crawl_runs_active', alias) !== 1; i++) {
    await new Promise(resolve => setTimeout(resolve, 50))
    during = await scrape()
  }
  expect(sampleValue(during, 'spoke_crawl_runs_active', alias)).toBe(1)
  expect(sampleValue(during, 'spoke_crawl_pending_items', alias)).toBeGreaterThan(0)
  const job = await waitForJob(t, id, undefined, 30_000)
  expect(job.state).toBe('completed')
  const after = await scrape()
  expect(sampleValue(after, 'spoke_crawl_runs_active', alias)).toBe(0)
  expect(sampleValue(after, 'spoke_crawl_pending_items', alias)).toBe(0)
  // Behind by no more than the run took: the watermark is the complete run's start.
  expect(sampleValue(after, 'spoke_crawl_watermark_timestamp_seconds', alias)).toBe(Date.parse(job.result.watermark) / 1000)
  const delta = (name: string, labels: Record<string, string>): number => sampleSum(after, name, labels) - sampleSum(before, name, labels)
  const written = readSink(t.config.dataDir, 'obs/crawl.ndjson')
  for (const kind of ['space', 'page', 'blogpost']) {
    expect({ kind, counted: delta('spoke_crawl_items_total', { kind }) }).toEqual({ kind, counted: written.filter(r => r.kind === kind).length })
  }
  expect(written.length).toBeGreaterThan(5)
  expect(sampleValue(after, 'spoke_crawl_last_progress_timestamp_seconds', { alias: 'confluence_cloud' })).toBeGreaterThan(Date.now() / 1000 - 60)
  expect(delta('spoke_job_duration_seconds_count', { action: 'confluence.content.crawl', outcome: 'completed' })).toBe(1)
  const calls = delta('spoke_upstream_requests_total', { operation: 'confluence.content.crawl', status_class: '2xx' })
  expect(calls).toBeGreaterThan(0)
  // Job requests take tokens of the site budget (leases may grant a few more than were spent).
  expect(delta('spoke_budget_tokens_granted_total', { cloud_id: sim.defaultCloudId })).toBeGreaterThanOrEqual(calls)
}, 40_000)

it('crawl gauges per alias: two concurrent runs add their backlogs; the watermark is read from Redis on scrape (a restart loses nothing)', async () => {
  const alias = { alias: 'confluence_cloud' }
  // Both runs stall on their first page listing, each with its spaces counted and nothing processed yet.
  sim.faults.next({ kind: 'latency', ms: 4_000 }, 2, { operations: ['getPagesInSpace'] })
  const ids = [
    await submitJob(t, 'confluence.content.crawl', { input: { types: ['page', 'blogpost'], sink: { type: 'file', path: 'obs/both-a.ndjson' } } }),
    await submitJob(t, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'file', path: 'obs/both-b.ndjson' } } })
  ]
  // The gauge is the sum of each run's own backlog (counted minus processed), as the jobs report them.
  let seen: { active: number, pending: number, backlogs: number[] } = { active: 0, pending: 0, backlogs: [] }
  for (let i = 0; i < 60; i++) {
    const samples = await scrape()
    const progress = await Promise.all(ids.map(async (id) => (await getJob(t, id)).progress))
    seen = {
      active: sampleValue(samples, 'spoke_crawl_runs_active', alias),
      pending: sampleValue(samples, 'spoke_crawl_pending_items', alias),
      backlogs: progress.map((p: any) => typeof p?.total === 'number' ? p.total - (p.done ?? 0) : -1)
    }
    if (seen.active === 2 && seen.backlogs.every(b => b > 0) && seen.pending === seen.backlogs[0] + seen.backlogs[1]) break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  expect(seen.active).toBe(2)
  expect(seen.backlogs.every(b => b > 0)).toBe(true)
  expect(seen.pending).toBe(seen.backlogs[0] + seen.backlogs[1])
  const jobs = await Promise.all(ids.map(async (id) => await waitForJob(t, id, undefined, 30_000)))
  expect(jobs.map(j => j.state)).toEqual(['completed', 'completed'])
  const after = await scrape()
  expect(sampleValue(after, 'spoke_crawl_runs_active', alias)).toBe(0)
  expect(sampleValue(after, 'spoke_crawl_pending_items', alias)).toBe(0)

  // A fresh process has no watermark of its own: the gauge emptied as a restart would leave it still shows
  // the last complete run's, read from Redis, and so does an alias whose run another process completed.
  const latest = Math.max(...jobs.map(j => Date.parse(j.result.watermark) / 1000))
  t.core.metrics.crawl.watermark.reset()
  await t.core.redis.store.hset(`${t.config.keyPrefix}:crawl:watermarks`, 'elsewhere', '1700000000')
  const restarted = await scrape()
  expect(sampleValue(restarted, 'spoke_crawl_watermark_timestamp_seconds', alias)).toBe(latest)
  expect(sampleValue(restarted, 'spoke_crawl_watermark_timestamp_seconds', { alias: 'elsewhere' })).toBe(1_700_000_000)
  // Runs end in any order: one that started earlier but ended later never moves the alias's watermark back.
  const state = new CrawlState(t.core.redis.store, t.config.keyPrefix, 'order-check', 'order-run')
  await state.setWatermark('2026-01-02T00:00:00.000Z', 'ordered')
  await state.setWatermark('2026-01-01T00:00:00.000Z', 'ordered')
  expect(sampleValue(await scrape(), 'spoke_crawl_watermark_timestamp_seconds', { alias: 'ordered' })).toBe(Date.parse('2026-01-02T00:00:00.000Z') / 1000)
}, 60_000)

describe('W3C traceparent', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const traceparent = `00-${traceId}-00f067aa0ba902b7-01`

  it('sync: continued on every upstream request and on the request\'s log lines', async () => {
    sim.reset()
    const res = await http(t, 'POST', '/v1/actions/confluence.user.current/execute', { key: t.keys.invoker, body: { input: {} }, headers: { traceparent } })
    expect(res.status).toBe(200)
    expect(sim.tracedRequests()).toEqual([{ operationId: 'getCurrentUser', traceparent }])
    const lines = t.logs().split('\n').filter(l => l.includes(traceId))
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.every(l => JSON.parse(l).traceId === traceId)).toBe(true)
  })

  it('async: carried in the job data to every upstream request of the job and its log lines', async () => {
    sim.reset()
    const submitted = await submit(t, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'file', path: 'obs/traced.ndjson' } } }, { headers: { traceparent } })
    expect(submitted.status).toBe(202)
    const id = submitted.json().jobId as string
    const job = await waitForJob(t, id, undefined, 30_000)
    expect(job.state).toBe('completed')
    const traced = sim.tracedRequests()
    expect(traced.length).toBe(sim.counters().requests - (sim.counters().byOperation['oauth.token'] ?? 0))
    expect(new Set(traced.map(r => r.traceparent))).toEqual(new Set([traceparent]))
    const jobLines = t.logs().split('\n').filter(l => l.includes(`"jobId":"${id}"`))
    expect(jobLines.some(l => JSON.parse(l).msg === 'job completed' && JSON.parse(l).traceId === traceId)).toBe(true)
  }, 40_000)

  it('a malformed traceparent is dropped: nothing sent upstream, no trace id logged', async () => {
    sim.reset()
    const res = await http(t, 'POST', '/v1/actions/confluence.user.current/execute', { key: t.keys.invoker, body: { input: {} }, headers: { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` } })
    expect(res.status).toBe(200)
    expect(sim.tracedRequests()).toEqual([])
    expect(t.logs()).not.toContain(`"traceId":"${'0'.repeat(32)}"`)
  })
})
