// Viewers read the queue dashboard's JSON API (issue 24, item 4): Bull Board's job JSON gave them job inputs
// (account ids) and callback URLs whole (tokens in their query), which GET /v1/jobs never shows. Now a
// viewer gets no more than GET /v1/jobs shows them; an admin still sees a job whole.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, bearer, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'

const TOKEN = 'cb-token-7f3a9c1e5d'
const ACCOUNT = '557058:hostile-dashboard-account'
let sim: Simulator
let t: TestSpoke
let server: Server
let callbackUrl: string
let delivered: string
let failed: string

beforeAll(async () => {
  server = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(204).end()) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=${TOKEN}`
  sim = await startSimulator({ seed: 'hostile-dashboard', size: 10 })
  t = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_CALLBACK_ALLOWED_CIDRS: '127.0.0.1/32', SPOKE_CALLBACK_SECRET: 'hostile-dashboard-secret-0123456789' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  delivered = await submitJob(t, 'confluence.user.current', { input: {}, callbackUrl })
  await waitForJob(t, delivered, j => j.callback?.state === 'delivered')
  failed = await submitJob(t, 'confluence.group.member.add', { input: { groupId: 'no-such-group-hostile', accountId: ACCOUNT } })
  await waitForJob(t, failed)
}, 60_000)
afterAll(async () => {
  await t?.close()
  await sim?.close()
  await new Promise(resolve => server?.close(resolve))
})

const read = async (key: string, url: string): Promise<string> => {
  const res = await t.app.inject({ method: 'GET', url, headers: bearer(key) })
  expect(res.statusCode).toBe(200)
  return res.body
}

it('GET /admin/queues/api/queues?activeQueue=run-action: a viewer sees no callbackUrl and no input; an admin does', async () => {
  const url = '/admin/queues/api/queues?activeQueue=run-action&status=latest&jobsPerPage=50'
  const admin = await read(t.keys.admin, url)
  expect(admin).toContain(TOKEN) // the test is meaningful: the job carries the URL
  expect(admin).toContain(ACCOUNT)
  const viewer = await read(t.keys.viewer, url)
  expect(viewer).not.toContain(TOKEN)
  expect(viewer).not.toContain('callbackUrl')
  expect(viewer).not.toContain(ACCOUNT)
  // What GET /v1/jobs shows is still there: the action and the alias.
  const job = JSON.parse(viewer).queues.find((q: { name: string }) => q.name === 'run-action').jobs.find((j: { id: string }) => j.id === delivered)
  expect(job.data).toEqual({ actionId: 'confluence.user.current', connection: expect.any(String) })
})

it('GET ...?activeQueue=callback&status=completed: a viewer sees no delivery url', async () => {
  const url = '/admin/queues/api/queues?activeQueue=callback&status=completed'
  expect(await read(t.keys.admin, url)).toContain(TOKEN)
  const viewer = await read(t.keys.viewer, url)
  expect(viewer).not.toContain(TOKEN)
  const jobs = JSON.parse(viewer).queues.find((q: { name: string }) => q.name === 'callback').jobs
  expect(jobs.length).toBeGreaterThan(0)
  for (const j of jobs) expect(j.data).toEqual({ jobId: expect.any(String) })
})

it('GET /admin/queues/api/queues/run-action/{id}: one job, same rule', async () => {
  for (const id of [delivered, failed]) {
    const url = `/admin/queues/api/queues/run-action/${encodeURIComponent(id)}`
    const viewer = await read(t.keys.viewer, url)
    expect(viewer).not.toContain(TOKEN)
    expect(viewer).not.toContain(ACCOUNT)
    expect(JSON.parse(viewer).job.data).toEqual({ actionId: expect.any(String), connection: expect.any(String) })
  }
  expect(await read(t.keys.admin, `/admin/queues/api/queues/run-action/${encodeURIComponent(delivered)}`)).toContain(TOKEN)
})
