// A worker process SIGKILLed in the middle of a site's poll (after the window's CQL search, while the trash
// listing is slow): nothing was committed, the site's upper bound stays frozen, and once the dead poll's
// lease lapses the next poll — in another process — repeats the same window: every event arrives once.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process'
import { startWorkers } from '../../src/worker'

const ENV = { SPOKE_JOB_LOCK_MS: '2000', SPOKE_CALLBACK_SECRET: 'crash-secret', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' }
let sim: Simulator
let t: TestSpoke
let child: WorkerProcess | undefined
let server: Server
const got: any[] = []

beforeAll(async () => {
  sim = await startSimulator({ seed: 'triggers-crash', size: { pages: 80, spaces: 2, users: 10, groups: 2, blogposts: 5, attachments: 5, comments: 0, inlineComments: 0 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', ...ENV })
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => { got.push(JSON.parse(Buffer.concat(chunks).toString())); res.statusCode = 204; res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
}, 30_000)
afterAll(async () => {
  await child?.kill('SIGKILL')
  await new Promise((resolve) => server?.close(resolve))
  await t?.close()
  await sim?.close()
})

async function until<T> (what: string, probe: () => T | Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false && v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

it('a poll killed midway loses nothing and repeats nothing', async () => {
  const { alias } = await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  child = await startWorkerProcess(t, sim.url, ENV)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crash`
  expect((await http(t, 'PUT', '/v1/triggers/crash', { key: t.keys.admin, body: { connection: alias, events: ['page.updated'], delivery: { url }, every: 30 } })).status).toBe(201)
  const siteKey = t.core.triggers.store.siteKey(alias)
  // the scheduler's first poll (in the child) takes the baseline
  await until('the baseline poll', async () => await t.core.redis.store.hget(siteKey, 'since'))
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current').slice(2, 6)
  for (const p of pages) sim.data.mutate({ op: 'edit', id: p.id })
  sim.data.mutate({ op: 'edit', id: pages[0].id })
  const searches = sim.counters().byOperation.searchByCQL ?? 0
  sim.faults.set({ latencyMs: 20_000, operations: ['getPages'] })
  await t.core.triggers.queue.add('poll', { kind: 'poll', alias })
  // mid-poll: the window was read (upper bound frozen), the trash listing hangs
  await until('the window read', () => (sim.counters().byOperation.searchByCQL ?? 0) > searches)
  const frozen = await until('a frozen upper bound', async () => await t.core.redis.store.hget(siteKey, 'until'))
  await child.kill('SIGKILL')
  child = undefined
  sim.faults.clear()
  expect((await http(t, 'GET', '/v1/triggers/crash', { key: t.keys.admin })).json()).toMatchObject({ pending: 0, detected: 0 })
  await startWorkers(t.core, { concurrency: 2 })
  // the next poll (once the dead one's lease has lapsed) repeats the frozen window
  // (the killed job itself may run again first, once BullMQ sees it stalled: the same window either way)
  await until('a poll after the lease lapsed', async () => await t.core.triggers.poll(alias))
  expect(await t.core.redis.store.hget(siteKey, 'since')).toBe(frozen)
  const expected = [
    `${pages[0].id}.${pages[0].version + 1}.page.updated`, `${pages[0].id}.${pages[0].version + 2}.page.updated`,
    ...pages.slice(1).map((p) => `${p.id}.${p.version + 1}.page.updated`)
  ]
  await until('every event', () => got.length >= expected.length)
  // (the killed poll job stays "active" until BullMQ's stall check: wait on the trigger's own counters)
  await until('every event acknowledged', async () => { const v = (await http(t, 'GET', '/v1/triggers/crash', { key: t.keys.admin })).json(); return v.pending === 0 && v.delivered === expected.length })
  expect(got.map((e) => e.id).sort()).toEqual([...expected].sort())
  expect(got.filter((e) => e.content.id === pages[0].id).map((e) => e.content.version)).toEqual([pages[0].version + 1, pages[0].version + 2])
}, 90_000)
