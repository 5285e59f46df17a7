// Bull Board at /admin/queues (admin and viewer; viewer read-only), queue metrics on /metrics, and the jobs
// routes in /openapi.json.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, bearer, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'jobs-dashboard', size: 10 })
  t = await buildTestSpoke(simulatorEnv(sim), { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
})
afterAll(async () => {
  await t?.close()
  await sim?.close()
})

it('serves the dashboard to admins and viewers; only admins may change anything', async () => {
  const id = await submitJob(t, 'confluence.page.get', { input: { pageId: '987654321' } })
  await waitForJob(t, id)
  for (const role of ['admin', 'viewer'] as const) {
    const page = await t.app.inject({ method: 'GET', url: '/admin/queues', headers: bearer(t.keys[role]) })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/html/)
    const queues = await t.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: bearer(t.keys[role]) })
    expect(queues.statusCode).toBe(200)
    expect(queues.json().queues.map((q: { name: string }) => q.name).sort()).toEqual(['callback', 'run-action'])
    // Viewers get a read-only board (no retry / clean / pause buttons they could not use).
    for (const q of queues.json().queues) expect([q.readOnlyMode, q.allowRetries]).toEqual(role === 'admin' ? [false, true] : [true, false])
  }
  expect((await t.app.inject({ method: 'GET', url: '/admin/queues', headers: bearer(t.keys.invoker) })).statusCode).toBe(403)
  const retry = `/admin/queues/api/queues/run-action/${id}/retry`
  const viewer = await t.app.inject({ method: 'PUT', url: retry, headers: bearer(t.keys.viewer) })
  expect([viewer.statusCode, viewer.json().code]).toEqual([403, 'FORBIDDEN'])
  const admin = await t.app.inject({ method: 'PUT', url: retry, headers: bearer(t.keys.admin) })
  expect(admin.statusCode).toBe(204)
})

it('exports queue gauges and job counters on /metrics', async () => {
  const ok = await submitJob(t, 'confluence.user.current', { input: {} })
  await waitForJob(t, ok)
  const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: bearer(t.keys.viewer) })
  expect(res.statusCode).toBe(200)
  expect(res.body).toMatch(/spoke_queue_jobs\{queue="run-action",state="completed"\} [1-9]/)
  expect(res.body).toMatch(/spoke_queue_jobs\{queue="run-action",state="waiting"\} \d+/)
  expect(res.body).toMatch(/spoke_job_failures_total\{action="confluence.page.get",code="UPSTREAM_NOT_FOUND"\} [1-9]/)
  expect(res.body).toMatch(/spoke_job_completed_total\{action="confluence.user.current"\} [1-9]/)
  expect(res.body).toContain('spoke_job_retries_total')
})

it('documents the jobs routes and the 202 answer in /openapi.json', async () => {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/retry', '/v1/jobs/{id}/cancel']))
  expect(Object.keys(doc.paths).some((p: string) => p.startsWith('/admin/queues'))).toBe(false)
  expect(doc.paths['/v1/actions/confluence.group.members.bulk/execute'].post.responses['202']).toBeDefined()
})
