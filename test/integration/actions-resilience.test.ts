// Rate limits, timeouts and Idempotency-Key over HTTP against the simulator, on a real Redis.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { request } from 'undici'
import { connectSimulatorAlias, http, listen, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'

let sim: Simulator
let t: TestSpoke
let pageId: string

beforeAll(async () => {
  sim = await startSimulator({ seed: 'actions-resilience', size: 40 })
  // A short upstream timeout so the timeout path is quick to reach.
  t = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_UPSTREAM_TIMEOUT_MS: '300', SPOKE_SYNC_RETRY_AFTER_MAX_SECONDS: '2' })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', doc: { retryPolicy: { strategy: 'retry_after', maxAttempts: 2, maxElapsedSeconds: 60 } } })
  pageId = sim.data.spaces().find(s => s.homepageId !== null)!.homepageId!
})
afterAll(() => closeCheckingContract(sim, t))
afterEach(() => { sim.faults.clear() })

const exec = (body: unknown, headers: Record<string, string> = {}) =>
  http(t, 'POST', '/v1/actions/confluence.page.get/execute', { key: t.keys.invoker, body, headers })
const gets = () => sim.counters().byOperation.getPageById ?? 0

describe('429 from Confluence', () => {
  it('waits out a short Retry-After and retries', async () => {
    sim.faults.next({ kind: 'rateLimit', retryAfter: 1 }, 1, { operations: ['getPageById'] })
    const started = Date.now()
    const res = await exec({ input: { pageId } })
    expect(res.status).toBe(200)
    expect(res.json().meta.attempts).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
  })

  it('answers 429 UPSTREAM_RATE_LIMITED with Retry-After when the wait is longer than allowed', async () => {
    sim.faults.next({ kind: 'rateLimit', retryAfter: 30 }, 1, { operations: ['getPageById'] })
    const before = gets()
    const res = await exec({ input: { pageId } })
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBe('30')
    expect(res.json()).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', retryable: true })
    expect(gets() - before).toBe(1)

    // The whole site is now paused for every process: the next call answers 429 without reaching Confluence.
    const paused = await exec({ input: { pageId } })
    expect(paused.status).toBe(429)
    expect(gets() - before).toBe(1)

    // End the pause so the rest of this file talks to Confluence again (the per-process cache lives 250 ms).
    const budgetKeys = await t.core.redis.store.keys(`${t.config.keyPrefix}:budget:*`)
    if (budgetKeys.length > 0) await t.core.redis.store.del(...budgetKeys)
    await new Promise(resolve => setTimeout(resolve, 300))
  })
})

describe('timeouts', () => {
  it('retries a timed-out read within the connection policy, then answers 504 UPSTREAM_TIMEOUT', async () => {
    // undici's timers fire with about 1 s granularity, so the upstream must be clearly slower than that.
    sim.faults.set({ latencyMs: 2500, operations: ['getPageById'] })
    const res = await exec({ input: { pageId } })
    expect(res.status).toBe(504)
    expect(res.json()).toMatchObject({ code: 'UPSTREAM_TIMEOUT', retryable: true })
  })
})

describe('a caller that hangs up', () => {
  it('stops the upstream call at once instead of waiting for Confluence', async () => {
    sim.faults.set({ latencyMs: 2500, operations: ['getPageById'] })
    const base = await listen(t)
    const hangUp = AbortSignal.timeout(150)
    const sent = Date.now()
    await expect(request(`${base}/v1/actions/confluence.page.get/execute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.invoker}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { pageId } }),
      signal: hangUp
    })).rejects.toThrow()
    // Well before both the upstream latency (2.5 s) and the upstream timeout (which fires after about 1 s).
    for (let i = 0; i < 40 && !t.logs().includes('caller went away'); i++) await new Promise(resolve => setTimeout(resolve, 10))
    expect(t.logs()).toContain('caller went away; its upstream calls were abandoned')
    expect(Date.now() - sent).toBeLessThan(800)
  })
})

describe('Idempotency-Key', () => {
  it('replays the first result for the same key and body, and refuses another body with 409', async () => {
    const before = gets()
    const first = await exec({ input: { pageId } }, { 'idempotency-key': 'idem-1' })
    const again = await exec({ input: { pageId } }, { 'idempotency-key': 'idem-1' })
    expect(first.status).toBe(200)
    expect(again.status).toBe(200)
    expect(again.json()).toEqual(first.json())
    expect(again.headers['idempotent-replayed']).toBe('true')
    expect(gets() - before).toBe(1)
    const other = await exec({ input: { pageId, bodyFormat: 'view' } }, { 'idempotency-key': 'idem-1' })
    expect(other.status).toBe(409)
    expect(other.json()).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', retryable: false })
  })

  it('runs concurrent repeats of one key once', async () => {
    sim.faults.set({ latencyMs: 150, operations: ['getPageById'] })
    const before = gets()
    const answers = await Promise.all(Array.from({ length: 4 }, () => exec({ input: { pageId } }, { 'idempotency-key': 'idem-2' })))
    expect(answers.map(a => a.status)).toEqual([200, 200, 200, 200])
    expect(new Set(answers.map(a => a.json().meta.requestId)).size).toBe(1)
    expect(gets() - before).toBe(1)
  })

  it('keeps final errors (same answer on repeat) but not retryable ones', async () => {
    const missing = { input: { pageId: '999999999' } }
    const a = await exec(missing, { 'idempotency-key': 'idem-3' })
    const b = await exec(missing, { 'idempotency-key': 'idem-3' })
    expect([a.status, b.status]).toEqual([404, 404])
    expect(b.json()).toEqual(a.json())
    expect(b.headers['content-type']).toContain('application/problem+json')

    sim.faults.next({ kind: 'error', status: 503, retryAfter: 0 }, 2, { operations: ['getPageById'] })
    expect((await exec({ input: { pageId } }, { 'idempotency-key': 'idem-4' })).status).toBe(502)
    expect((await exec({ input: { pageId } }, { 'idempotency-key': 'idem-4' })).status).toBe(200)
  })
})
