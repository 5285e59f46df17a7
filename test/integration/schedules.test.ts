// Schedules for any action on BullMQ job schedulers, on a real Redis: validation at PUT (action, input
// against its schema, alias, exactly one of every/cron, cron parses), roles, and a schedule of every 1 s that
// queues normal jobs (listed by the jobs API) until DELETE stops it.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { getJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'schedules', size: 40 })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
}, 30_000)
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

const put = async (id: string, body: unknown, key = t.keys.admin): ReturnType<typeof http> => await http(t, 'PUT', `/v1/schedules/${id}`, { key, body })

it('refuses what could never run: unknown action, invalid input, unknown alias, both or neither timing, bad cron or zone', async () => {
  const cases: Array<[unknown, number, string]> = [
    [{ action: 'confluence.nope', input: {}, every: 60 }, 404, 'ACTION_NOT_FOUND'],
    [{ action: 'confluence.space.list', input: { limit: 'many' }, every: 60 }, 400, 'INPUT_INVALID'],
    [{ action: 'confluence.space.list', connection: 'nobody', input: {}, every: 60 }, 404, 'CONNECTION_NOT_FOUND'],
    [{ action: 'confluence.space.list', input: {}, every: 60, cron: '* * * * *' }, 400, 'REQUEST_INVALID'],
    [{ action: 'confluence.space.list', input: {} }, 400, 'REQUEST_INVALID'],
    [{ action: 'confluence.space.list', input: {}, cron: 'every tuesday' }, 400, 'REQUEST_INVALID'],
    [{ action: 'confluence.space.list', input: {}, cron: '0 3 * * *', timezone: 'Mars/Olympus' }, 400, 'REQUEST_INVALID'],
    [{ action: 'confluence.space.list', input: {}, every: 'PT' }, 400, 'REQUEST_INVALID'],
    [{ action: 'confluence.space.list', input: {}, every: 0.5 }, 400, 'REQUEST_INVALID']
  ]
  for (const [body, status, code] of cases) {
    const res = await put('bad', body)
    expect([JSON.stringify(body), res.status, res.json().code]).toEqual([JSON.stringify(body), status, code])
    expect(res.headers['content-type']).toContain('application/problem+json')
  }
  expect((await http(t, 'GET', '/v1/schedules/bad', { key: t.keys.admin })).json().code).toBe('SCHEDULE_NOT_FOUND')
  // roles: an invoker neither writes nor reads schedules; a viewer reads
  expect((await put('x', { action: 'confluence.space.list', every: 60 }, t.keys.invoker)).status).toBe(403)
  expect((await put('x', { action: 'confluence.space.list', every: 60 }, t.keys.viewer)).status).toBe(403)
  expect((await http(t, 'GET', '/v1/schedules', { key: t.keys.viewer })).status).toBe(200)
  expect((await http(t, 'GET', '/v1/schedules', { key: t.keys.invoker })).status).toBe(403)
  // cron with a time zone, and an ISO duration, are accepted and normalised
  const daily = await put('daily', { action: 'confluence.space.list', input: {}, cron: '0 3 * * *', timezone: 'Europe/Paris' })
  expect(daily.status).toBe(201)
  expect(daily.json()).toMatchObject({ id: 'daily', cron: '0 3 * * *', timezone: 'Europe/Paris', connection: 'confluence_cloud', runs: 0 })
  expect(new Date(daily.json().nextRunAt as string).getTime()).toBeGreaterThan(Date.now())
  const replaced = await put('daily', { action: 'confluence.space.list', input: {}, every: 'PT1H' })
  expect([replaced.status, replaced.json().every, replaced.json().cron]).toEqual([200, 3600, undefined])
  expect((await http(t, 'DELETE', '/v1/schedules/daily', { key: t.keys.admin })).status).toBe(204)
})

it('a schedule of every 1 s queues normal jobs that complete; DELETE stops it', async () => {
  const created = await put('spaces-every-second', { action: 'confluence.group.list', input: { limit: 5 }, every: 1 })
  expect(created.status).toBe(201)
  expect(created.json()).toMatchObject({ every: 1, action: 'confluence.group.list', input: { limit: 5 } })
  const deadline = Date.now() + 20_000
  let jobs: any[] = []
  while (Date.now() < deadline) {
    const list = await http(t, 'GET', '/v1/jobs?action=confluence.group.list&state=completed', { key: t.keys.viewer })
    jobs = list.json().jobs
    if (jobs.length >= 2) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  expect(jobs.length).toBeGreaterThanOrEqual(2)
  const one = await getJob(t, jobs[0].id as string)
  expect(one).toMatchObject({ state: 'completed', action: 'confluence.group.list', connection: { requested: 'confluence_cloud' } })
  expect(one.result).toBeDefined()
  // Tracing is off here: each tick still gives its job a fresh traceparent (random ids, not sampled), so the
  // job's log lines carry a traceId and its upstream requests the header.
  const traceparents = await Promise.all(jobs.slice(0, 2).map(async (j) => (await t.core.jobs.queue.getJob(j.id as string))?.data.traceparent))
  for (const tp of traceparents) expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
  expect(traceparents[0]!.slice(3, 35)).not.toBe(traceparents[1]!.slice(3, 35))
  const upstream = new Set(sim.tracedRequests().map(r => r.traceparent.slice(3, 35)))
  for (const tp of traceparents) expect(upstream.has(tp!.slice(3, 35))).toBe(true)
  const view = (await http(t, 'GET', '/v1/schedules/spaces-every-second', { key: t.keys.viewer })).json()
  expect(view.runs).toBeGreaterThanOrEqual(2)
  expect((await http(t, 'GET', '/v1/schedules', { key: t.keys.viewer })).json().schedules.map((s: { id: string }) => s.id)).toContain('spaces-every-second')

  expect((await http(t, 'DELETE', '/v1/schedules/spaces-every-second', { key: t.keys.admin })).status).toBe(204)
  // Nothing is left that could queue a job: no scheduler, and no dispatch waiting, delayed or running
  // (bounded). A dispatch that raced the DELETE finds no definition and queues nothing.
  const queue = t.core.schedules.queue
  const idle = async (): Promise<boolean> => await queue.getJobScheduler('spaces-every-second') == null &&
    Object.values(await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized')).every(n => n === 0)
  for (const deadline = Date.now() + 10_000; !await idle() && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50))
  expect(await idle()).toBe(true)
  const count = async (): Promise<number> => (await http(t, 'GET', '/v1/jobs?action=confluence.group.list&limit=100', { key: t.keys.viewer })).json().jobs.length
  const afterDelete = await count()
  expect(await idle()).toBe(true)
  expect(await count()).toBe(afterDelete)
  expect((await http(t, 'GET', '/v1/schedules/spaces-every-second', { key: t.keys.viewer })).status).toBe(404)
  expect((await http(t, 'DELETE', '/v1/schedules/spaces-every-second', { key: t.keys.admin })).status).toBe(404)
  console.log(`schedules: every 1 s queued ${view.runs as number} jobs (${jobs.length} completed when checked); none after DELETE`)
}, 40_000)
