// Many processes on one Redis: 2 api and 3 worker processes of the real entry point (each its own OS
// process), one simulator site. Jobs submitted through both api processes spread over every worker; one
// site's rate budget holds across all of them; a job started through one api process is cancelled through
// the other and its worker stops; every job's callback arrives once, signed, whichever worker ran it.
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { request } from 'undici'
import { parsePromText, sampleSum } from '../helpers/prom-text'
import { callApi, connectClientCredentials, newDeployment, startApiProcess, startWorkerProc, waitForJobAt, type ApiProcess, type Deployment, type WorkerProc } from '../helpers/spoke-processes'

/**
 * The simulator's limit (requests per second per app and site, counted in whole clock seconds) and the
 * spoke's site budget, 90% of it: the headroom README's sizing advice gives. With the budget at the limit
 * itself, scheduling jitter on a loaded machine still pushes a request now and then into the next second's
 * count (see README, "Many processes").
 */
const RATE = 40
const BUDGET = RATE * 0.9
const CONCURRENCY = 4
const SECRET = 'many-processes-callback-secret-0123456789'
let sim: Simulator
let d: Deployment
let receiver: Server
let receiverUrl: string
const apis: ApiProcess[] = []
const workers: WorkerProc[] = []
const callbacks: Array<{ body: string, signature: string }> = []

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => { callbacks.push({ body, signature: String(req.headers['x-spoke-signature']) }); res.end() })
  })
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/done`
  sim = await startSimulator({ seed: 'many-processes', size: { pages: 20, users: 700, groups: 6 }, rateLimit: { burstPerSecond: RATE } })
  d = newDeployment(sim.url, {
    SPOKE_SITE_RATE_PER_SECOND: String(BUDGET),
    SPOKE_SITE_BURST: '1',
    SPOKE_WORKER_CONCURRENCY: String(CONCURRENCY),
    SPOKE_CALLBACK_SECRET: SECRET,
    SPOKE_CALLBACK_ALLOWED_CIDRS: '127.0.0.1/32'
  })
  // Started side by side: each is a tsx process, most of a start is compiling.
  const started = await Promise.allSettled([startApiProcess(d), startApiProcess(d), startWorkerProc(d), startWorkerProc(d), startWorkerProc(d)])
  for (const s of started) if (s.status === 'fulfilled') (('id' in s.value) ? workers : apis).push(s.value as never)
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  const groups = sim.data.groups().slice(2, 6).map(g => ({ groupId: g.id }))
  await connectClientCredentials(apis[0].base, d, sim, { managedGroups: groups })
}, 60_000)

afterAll(async () => {
  await Promise.all([...apis, ...workers].map(async p => await p.kill('SIGKILL')))
  await sim?.close()
  await new Promise(resolve => receiver?.close(resolve))
})

const submit = async (api: ApiProcess, actionId: string, body: Record<string, unknown>): Promise<string> => {
  const res = await callApi(api.base, 'POST', `/v1/actions/${actionId}/execute`, d.keys.invoker, { mode: 'async', ...body })
  if (res.status !== 202) throw new Error(`submit through ${api.base}: ${res.status} ${JSON.stringify(res.json)}`)
  return res.json.jobId as string
}

it('spreads jobs submitted through both api processes over all three workers; each callback arrives once, signed', async () => {
  sim.reset()
  // Long enough calls that no one worker can take every job.
  sim.faults.set({ latencyMs: 100, operations: ['getCurrentUser'] })
  const ids: string[] = []
  for (let i = 0; i < 30; i++) ids.push(await submit(apis[i % 2], 'confluence.user.current', { input: {}, callbackUrl: `${receiverUrl}?n=${i}` }))
  const jobs = await Promise.all(ids.map(async (id, i) => await waitForJobAt(apis[(i + 1) % 2].base, d.keys.viewer, id, j => j.callback?.state === 'delivered')))
  sim.faults.clear()

  expect(jobs.map(j => j.state)).toEqual(ids.map(() => 'completed'))
  const perWorker = new Map(workers.map(w => [w.id, 0]))
  for (const j of jobs) perWorker.set(j.worker, (perWorker.get(j.worker) ?? 0) + 1)
  process.stdout.write(`many-processes: 30 jobs by worker ${JSON.stringify(Object.fromEntries(perWorker))}\n`)
  expect([...perWorker.keys()].sort()).toEqual(workers.map(w => w.id).sort())
  for (const n of perWorker.values()) expect(n).toBeGreaterThan(0)

  // One delivery per job (the callback worker of whichever process), signed with the shared secret.
  await new Promise(resolve => setTimeout(resolve, 500))
  const byJob = new Map<string, number>()
  for (const c of callbacks) {
    expect(c.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(c.body).digest('hex')}`)
    const view = JSON.parse(c.body)
    expect(view).toMatchObject({ state: 'completed', worker: jobs[ids.indexOf(view.id)].worker })
    byJob.set(view.id, (byJob.get(view.id) ?? 0) + 1)
  }
  expect([...byJob.keys()].sort()).toEqual([...ids].sort())
  expect([...byJob.values()].every(n => n === 1)).toBe(true)
}, 60_000)

it(`keeps one site's rate budget (${BUDGET}/s of a ${RATE}/s limit) across three worker processes`, async () => {
  const groups = sim.data.groups().slice(2, 6)
  const users = sim.data.users().map(u => u.accountId).slice(2)
  sim.reset()
  const ids: string[] = []
  for (let i = 0; i < 12; i++) {
    const group = groups[i % groups.length]
    const add = users.filter(a => !group.members.includes(a)).slice(i * 18, i * 18 + 18)
    ids.push(await submit(apis[i % 2], 'confluence.group.members.bulk', { input: { groupId: group.id, add } }))
  }
  const jobs = await Promise.all(ids.map(async id => await waitForJobAt(apis[0].base, d.keys.viewer, id, undefined, 45_000)))
  expect(jobs.map(j => j.state)).toEqual(ids.map(() => 'completed'))
  expect(jobs.every(j => j.result.summary.failed === 0)).toBe(true)

  // The load would overrun the limit without a shared budget: the jobs ran in more than one process at once,
  // and a budget per process would admit BUDGET per process.
  const ran = new Set(jobs.map(j => j.worker))
  const overlapping = jobs.some(a => jobs.some(b => a.worker !== b.worker && Date.parse(a.startedAt) < Date.parse(b.finishedAt) && Date.parse(b.startedAt) < Date.parse(a.finishedAt)))
  expect(ran.size).toBeGreaterThan(1)
  expect(overlapping).toBe(true)

  const c = sim.counters()
  const seconds = (Math.max(...jobs.map(j => Date.parse(j.finishedAt))) - Math.min(...jobs.map(j => Date.parse(j.startedAt)))) / 1000
  const served429 = c.byStatus['429'] ?? 0
  process.stdout.write(`many-processes: ${c.requests} requests in ${seconds.toFixed(1)} s (${(c.requests / seconds).toFixed(1)}/s) by ${ran.size} worker processes ` +
    `(${ran.size * CONCURRENCY} jobs at once; ${ran.size} unshared budgets would admit ${ran.size * BUDGET}/s); budget ${BUDGET}/s, limit ${RATE}/s; ${served429} 429s\n`)
  expect(c.requests).toBeGreaterThan(300)
  expect(served429).toBeLessThanOrEqual(c.requests * 0.01)
}, 60_000)

it('cancels a running job through the api process that did not create it; its worker stops', async () => {
  const group = sim.data.groups()[5]
  const members = new Set(sim.data.groupMembers(group.id) ?? [])
  const add = sim.data.users().map(u => u.accountId).filter(a => !members.has(a)).slice(0, 300)
  sim.reset()
  const id = await submit(apis[0], 'confluence.group.members.bulk', { input: { groupId: group.id, add } })
  const running = await waitForJobAt(apis[1].base, d.keys.viewer, id, j => j.state === 'active' && (j.progress?.done ?? 0) >= 10)
  expect(workers.map(w => w.id)).toContain(running.worker)

  const worker = workers.find(w => w.id === running.worker) as WorkerProc
  const ended = async (): Promise<number> => {
    const res = await request(`${worker.base}/metrics`, { headers: { authorization: `Bearer ${d.keys.viewer}` } })
    return sampleSum(parsePromText(await res.body.text()), 'spoke_job_duration_seconds_count', { action: 'confluence.group.members.bulk', outcome: 'cancelled' })
  }
  const endedBefore = await ended()

  const cancel = await callApi(apis[1].base, 'POST', `/v1/jobs/${id}/cancel`, d.keys.admin)
  expect(cancel.status).toBeLessThan(300)
  const cancelled = await waitForJobAt(apis[1].base, d.keys.viewer, id, j => j.state === 'cancelled', 15_000)
  const writes = (): number => sim.counters().byOperationStatus.addUserToGroupByGroupId?.['201'] ?? 0
  // The worker's attempt has ended as cancelled (its own /metrics says so): it can write nothing more.
  for (const deadline = Date.now() + 15_000; await ended() <= endedBefore && Date.now() < deadline;) await new Promise(resolve => setTimeout(resolve, 50))
  expect(await ended()).toBe(endedBefore + 1)
  const atCancel = writes()
  await waitForJobAt(apis[0].base, d.keys.viewer, id, j => j.state === 'cancelled')
  process.stdout.write(`many-processes: job cancelled through the other api process at ${running.progress.done as number} of ${add.length}; ${atCancel} writes when its worker's attempt ended, ${writes()} after\n`)
  expect(cancelled.worker).toBe(running.worker)
  expect(writes()).toBe(atCancel)
  expect(atCancel).toBeLessThan(add.length)
}, 40_000)
