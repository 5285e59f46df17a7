// Async execute and the jobs API over HTTP, against the simulator on a real Redis: 202 + Location, states,
// Idempotency-Key, list filters and cursor, retry, cancel (waiting, delayed, active), failures keeping
// their code, nextAttemptAt while delayed, and nothing secret in job data.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { getJob, submit, submitJob, waitForJob } from '../helpers/jobs'
import { startWorkers, workerId } from '../../src/worker'

let sim: Simulator
let t: TestSpoke
/** A spoke without workers: its jobs stay waiting. */
let idle: TestSpoke
let group: { id: string, members: string[] }
let outsiders: string[]

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-api', size: { pages: 20, users: 200, groups: 6 } })
  const env = { ...simulatorEnv(sim), SPOKE_SITE_RATE_PER_SECOND: '1000', SPOKE_SITE_BURST: '200' }
  t = await buildTestSpoke(env, { workers: { concurrency: 4 } })
  idle = await buildTestSpoke(env)
  const groups = sim.data.groups()
  group = groups[2]
  outsiders = sim.data.users().map(u => u.accountId).filter(a => !group.members.includes(a)).slice(2, 102)
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', managedGroups: [{ groupId: group.id }] })
  // Retries after 30 s: long enough to look at a delayed job.
  await connectSimulatorAlias(t, sim, { alias: 'patient', grant: 'client_credentials', doc: { retryPolicy: { strategy: 'fixed', delaySeconds: 30, maxAttempts: 3, maxElapsedSeconds: 600 } } })
  await connectSimulatorAlias(idle, sim, { grant: 'client_credentials', managedGroups: [{ groupId: group.id }] })
})
afterAll(() => closeCheckingContract(sim, t, idle))
afterEach(() => { sim.faults.clear() })

it('queues an async run (202 + Location) and the worker completes it with the sync output', async () => {
  const res = await submit(t, 'confluence.user.current', { input: {} })
  expect(res.status).toBe(202)
  const { jobId, state, links } = res.json()
  expect(state).toBe('waiting')
  expect(links.self).toBe(`/v1/jobs/${jobId}`)
  expect(res.headers.location).toBe(`/v1/jobs/${jobId}`)
  const job = await waitForJob(t, jobId)
  expect(job).toMatchObject({
    id: jobId, action: 'confluence.user.current', state: 'completed', attemptsMade: 1,
    connection: { requested: 'confluence_cloud', resolved: 'confluence_cloud' },
    result: { accountId: sim.serviceAccountId },
    // The workers of this process ran it.
    worker: workerId()
  })
  expect(Date.parse(job.createdAt)).toBeLessThanOrEqual(Date.parse(job.startedAt))
  expect(Date.parse(job.startedAt)).toBeLessThanOrEqual(Date.parse(job.finishedAt))
  expect(job.error).toBeUndefined()
})

it('validates the input before queuing (400 at once) and checks the managed group (403)', async () => {
  const bad = await submit(t, 'confluence.page.get', { input: { pageId: 5 } })
  expect(bad.status).toBe(400)
  expect(bad.json().code).toBe('INPUT_INVALID')
  const unmanaged = await submit(t, 'confluence.group.members.bulk', { input: { groupId: sim.data.groups()[3].id, add: [outsiders[0]] } })
  expect(unmanaged.status).toBe(403)
  expect(unmanaged.json().code).toBe('GROUP_NOT_MANAGED')
  const both = await submit(t, 'confluence.group.members.bulk', { input: { groupId: group.id, add: [outsiders[0]], remove: [outsiders[0]] } })
  expect(both.status).toBe(400)
  expect(both.json().code).toBe('INPUT_INVALID')
  expect((await submit(t, 'confluence.user.current', { connection: 'nobody' })).json().code).toBe('CONNECTION_NOT_FOUND')
  const list = await http(t, 'GET', '/v1/jobs?action=confluence.page.get&limit=100', { key: t.keys.viewer })
  expect(list.json().jobs).toEqual([])
})

it('answers a repeated Idempotency-Key with the same job, and 409 for another body', async () => {
  const headers = { 'idempotency-key': `k-${Date.now()}` }
  const first = await submit(t, 'confluence.site.list', { input: {} }, { headers })
  const again = await submit(t, 'confluence.site.list', { input: {} }, { headers })
  expect(first.status).toBe(202)
  expect(again.status).toBe(202)
  expect(again.json().jobId).toBe(first.json().jobId)
  expect(again.headers.location).toBe(first.headers.location)
  const other = await submit(t, 'confluence.site.list', { input: {}, connection: 'patient' }, { headers })
  expect(other.status).toBe(409)
  expect(other.json().code).toBe('IDEMPOTENCY_CONFLICT')
})

it('fails a job at once on a non-retryable error and keeps its code', async () => {
  const id = await submitJob(t, 'confluence.page.get', { input: { pageId: '987654321' } })
  const job = await waitForJob(t, id)
  expect(job).toMatchObject({ state: 'failed', attemptsMade: 1, error: { code: 'UPSTREAM_NOT_FOUND', retryable: false } })
  expect(job.finishedAt).toBeDefined()
})

it('delays a job after a retryable failure (nextAttemptAt), cancels it while delayed, and retries it', async () => {
  sim.faults.set({ errorRate: 1, errorStatus: 502, operations: ['getCurrentUser'] })
  const id = await submitJob(t, 'confluence.user.current', { connection: 'patient', input: {} })
  const delayed = await waitForJob(t, id, j => j.state === 'delayed')
  expect(delayed).toMatchObject({ attemptsMade: 1, error: { code: 'UPSTREAM_UNAVAILABLE', retryable: true } })
  const wait = Date.parse(delayed.nextAttemptAt) - Date.now()
  expect(wait).toBeGreaterThan(20_000)
  expect(wait).toBeLessThanOrEqual(30_000)

  const cancel = await http(t, 'POST', `/v1/jobs/${id}/cancel`, { key: t.keys.admin })
  expect(cancel.status).toBe(200)
  const cancelled = await waitForJob(t, id, j => j.state === 'cancelled' && j.finishedAt !== undefined)
  expect(cancelled.error).toMatchObject({ code: 'JOB_CANCELLED', retryable: false })

  sim.faults.clear()
  const retry = await http(t, 'POST', `/v1/jobs/${id}/retry`, { key: t.keys.admin })
  expect(retry.status).toBe(200)
  const done = await waitForJob(t, id)
  expect(done).toMatchObject({ state: 'completed', attemptsMade: 1, result: { accountId: sim.serviceAccountId } })
  expect(done.error).toBeUndefined()
})

it('cancels an active job at its next safe point: the rest of the accounts are not applied', async () => {
  sim.faults.set({ latencyMs: 40, operations: ['getGroupMembershipsForUser'] })
  const before = sim.counters().byOperation.addUserToGroupByGroupId ?? 0
  const id = await submitJob(t, 'confluence.group.members.bulk', { input: { groupId: group.id, add: outsiders } })
  await waitForJob(t, id, j => j.state === 'active' && (j.progress?.done ?? 0) >= 5)
  const cancel = await http(t, 'POST', `/v1/jobs/${id}/cancel`, { key: t.keys.admin })
  expect(cancel.status).toBe(200)
  const job = await waitForJob(t, id, j => j.state === 'cancelled')
  expect(job.error.code).toBe('JOB_CANCELLED')
  const applied = (sim.counters().byOperation.addUserToGroupByGroupId ?? 0) - before
  expect(applied).toBeGreaterThan(0)
  expect(applied).toBeLessThan(outsiders.length)
  await new Promise(resolve => setTimeout(resolve, 300))
  expect((sim.counters().byOperation.addUserToGroupByGroupId ?? 0) - before).toBe(applied)
  // Retried, it resumes: every account ends up in the group, none applied twice.
  sim.faults.clear()
  expect((await http(t, 'POST', `/v1/jobs/${id}/retry`, { key: t.keys.admin })).status).toBe(200)
  const done = await waitForJob(t, id)
  expect(done.state).toBe('completed')
  expect(done.result.summary).toMatchObject({ total: outsiders.length, failed: 0 })
  expect((sim.counters().byOperation.addUserToGroupByGroupId ?? 0) - before).toBe(outsiders.length)
  const members = new Set(sim.data.groupMembers(group.id))
  expect(outsiders.every(a => members.has(a))).toBe(true)
})

it('cancels a waiting job and retries it; refuses what the state does not allow (409) and unknown ids (404)', async () => {
  const id = await submitJob(idle, 'confluence.user.current', { input: {} })
  expect((await getJob(idle, id)).state).toBe('waiting')
  const cancel = await http(idle, 'POST', `/v1/jobs/${id}/cancel`, { key: idle.keys.admin })
  expect(cancel.status).toBe(200)
  expect(cancel.json().state).toBe('cancelled')
  const again = await http(idle, 'POST', `/v1/jobs/${id}/cancel`, { key: idle.keys.admin })
  expect(again.status).toBe(409)
  expect(again.json().code).toBe('JOB_STATE_CONFLICT')
  const retry = await http(idle, 'POST', `/v1/jobs/${id}/retry`, { key: idle.keys.admin })
  expect(retry.status).toBe(200)
  expect(retry.json().state).toBe('waiting')
  const retryWaiting = await http(idle, 'POST', `/v1/jobs/${id}/retry`, { key: idle.keys.admin })
  expect(retryWaiting.status).toBe(409)

  const completed = await submitJob(t, 'confluence.site.list', { input: {} })
  await waitForJob(t, completed)
  expect((await http(t, 'POST', `/v1/jobs/${completed}/cancel`, { key: t.keys.admin })).json().code).toBe('JOB_STATE_CONFLICT')
  expect((await http(t, 'POST', `/v1/jobs/${completed}/retry`, { key: t.keys.admin })).json().code).toBe('JOB_STATE_CONFLICT')
  for (const path of ['/v1/jobs/j000000000000000000000000', '/v1/jobs/nope']) {
    const res = await http(t, 'GET', path, { key: t.keys.viewer })
    expect(res.status).toBe(404)
    expect(res.json().code).toBe('JOB_NOT_FOUND')
  }
  expect((await http(t, 'POST', '/v1/jobs/nope/cancel', { key: t.keys.admin })).status).toBe(404)
})

it('lists jobs newest first with filters and a cursor', async () => {
  await connectSimulatorAlias(idle, sim, { alias: 'other', grant: 'client_credentials' })
  const ids: string[] = []
  for (const [action, connection] of [['confluence.user.current', 'confluence_cloud'], ['confluence.site.list', 'other'], ['confluence.user.current', 'other'], ['confluence.site.list', 'confluence_cloud'], ['confluence.user.current', 'confluence_cloud']]) {
    ids.push(await submitJob(idle, action, { input: {}, connection }))
  }
  const list = async (query: string) => (await http(idle, 'GET', `/v1/jobs?${query}`, { key: idle.keys.invoker })).json()
  const newestFirst = [...ids].reverse()

  const all = await list('limit=100')
  expect(all.jobs.map((j: any) => j.id).slice(0, 5)).toEqual(newestFirst)
  const pages: string[] = []
  let cursor: string | undefined
  do {
    const page = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    expect(page.jobs.length).toBeLessThanOrEqual(2)
    pages.push(...page.jobs.map((j: any) => j.id))
    cursor = page.nextCursor
  } while (cursor !== undefined)
  expect(pages).toEqual(all.jobs.map((j: any) => j.id))

  expect((await list('action=confluence.site.list')).jobs.map((j: any) => j.id)).toEqual([ids[3], ids[1]])
  expect((await list('connection=other')).jobs.map((j: any) => j.id)).toEqual([ids[2], ids[1]])
  expect((await list('connection=other&action=confluence.user.current')).jobs.map((j: any) => j.id)).toEqual([ids[2]])
  await http(idle, 'POST', `/v1/jobs/${ids[0]}/cancel`, { key: idle.keys.admin })
  expect((await list('state=cancelled')).jobs.map((j: any) => j.id)).toContain(ids[0])
  expect((await list('state=waiting')).jobs.map((j: any) => j.id)).not.toContain(ids[0])
  expect((await http(idle, 'GET', '/v1/jobs?state=lost', { key: idle.keys.viewer })).status).toBe(400)
  expect((await http(idle, 'GET', '/v1/jobs?limit=0', { key: idle.keys.viewer })).status).toBe(400)
})

it('keeps job data to ids and input: no token or secret in Redis job hashes', async () => {
  const id = await submitJob(idle, 'confluence.user.current', { input: {} })
  const tokens = (await idle.core.connections.tokens.readTokens('confluence_cloud')).set
  const secrets = [sim.clientSecret, tokens?.accessToken, tokens?.refreshToken].filter((s): s is string => typeof s === 'string')
  expect(secrets.length).toBeGreaterThanOrEqual(2)
  const raw = await idle.core.redis.store.hget(idle.core.jobs.queue.toKey(id), 'data')
  // actor: the submitting key's fingerprint (8 hex digits of its SHA-256, for the audit lines), never the key
  const data = JSON.parse(raw!)
  expect(Object.keys(data).sort()).toEqual(['actionId', 'actionVersion', 'actor', 'connection', 'input', 'requestId', 'schemaVersion'])
  expect(data.actor).toMatch(/^[0-9a-f]{8}$/)
  expect(raw).not.toContain(idle.keys.invoker)
  const keys = await idle.core.redis.store.keys(`*${idle.config.keyPrefix}*bull*`)
  expect(keys.length).toBeGreaterThan(0)
  for (const key of keys) {
    const type = await idle.core.redis.store.type(key)
    const values = type === 'hash' ? Object.values(await idle.core.redis.store.hgetall(key)) : type === 'string' ? [await idle.core.redis.store.get(key)] : []
    for (const v of values) for (const s of secrets) expect(v).not.toContain(s)
  }
})

it('a worker that takes a cancelled waiting job later discards it without calling Confluence; a retried one runs', async () => {
  await idle.core.jobs.queue.drain(true) // earlier tests' waiting jobs would reach the simulator too
  const cancelledId = await submitJob(idle, 'confluence.user.current', { input: {} })
  const retriedId = await submitJob(idle, 'confluence.user.current', { input: {} })
  for (const id of [cancelledId, retriedId]) expect((await http(idle, 'POST', `/v1/jobs/${id}/cancel`, { key: idle.keys.admin })).status).toBe(200)
  expect((await http(idle, 'POST', `/v1/jobs/${retriedId}/retry`, { key: idle.keys.admin })).json().state).toBe('waiting')
  const before = sim.counters().byOperation.getCurrentUser ?? 0

  await startWorkers(idle.core, { concurrency: 2 })
  const cancelled = await waitForJob(idle, cancelledId, j => j.state === 'cancelled' && j.finishedAt !== undefined)
  expect(cancelled.error).toMatchObject({ code: 'JOB_CANCELLED' })
  expect((await waitForJob(idle, retriedId)).state).toBe('completed')
  // Only the retried job reached the simulator.
  expect((sim.counters().byOperation.getCurrentUser ?? 0) - before).toBe(1)
})
