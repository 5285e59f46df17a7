// Triggers when things go wrong, on a real Redis, real BullMQ workers and real HTTP:
// - a poll that fails midway (the trash listing answers 500 after the window was read) commits nothing; the
//   next poll, over the same frozen window, delivers every event once;
// - a receiver down past the give-up time (2 s here): the events become dead letters (listed by the API,
//   counted), and a replay delivers them, in order, before anything newer;
// - a `start` in the past on a site never polled: exactly the changes since then.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { until } from '../helpers/until'

let sim: Simulator
let t: TestSpoke
let alias: string
let server: Server
let url = ''
let down = false
const got: any[] = []

beforeAll(async () => {
  sim = await startSimulator({ seed: 'triggers-recovery', size: { pages: 60, spaces: 2, users: 10, groups: 2, blogposts: 5, attachments: 5, comments: 0, inlineComments: 0 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_SECRET: 'recovery-secret', SPOKE_CALLBACK_ALLOW_PRIVATE: 'true', SPOKE_WEBHOOK_GIVE_UP_SECONDS: '2' }, { workers: true })
  ;({ alias } = await connectSimulatorAlias(t, sim, { grant: 'client_credentials' }))
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (down) { res.statusCode = 503; res.end(); return }
      got.push(JSON.parse(Buffer.concat(chunks).toString()))
      res.statusCode = 200
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}, 30_000)
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await t?.close()
  await sim?.close()
})
afterEach(() => { sim.faults.clear(); got.length = 0; down = false })

const poll = async (): Promise<any> => await until('a poll of the site', async () => await t.core.triggers.poll(alias))

it('a poll that fails midway commits nothing; the next one delivers every event once', async () => {
  await http(t, 'PUT', '/v1/triggers/crash', { key: t.keys.admin, body: { connection: alias, events: ['page.updated'], delivery: { url: `${url}/crash` }, every: 30 } })
  await poll()
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current').slice(3, 6)
  for (const p of pages) sim.data.mutate({ op: 'edit', id: p.id })
  sim.data.mutate({ op: 'edit', id: pages[0].id })
  // the window's listing succeeds, then the trash listing fails: the poll throws before its MULTI
  sim.faults.set({ errorRate: 1, errorStatus: 500, operations: ['getPages'] })
  await expect(t.core.triggers.poll(alias)).rejects.toThrow()
  const frozen = await t.core.redis.store.hget(t.core.triggers.store.siteKey(alias), 'until')
  expect(frozen).not.toBeNull()
  expect((await http(t, 'GET', '/v1/triggers/crash', { key: t.keys.admin })).json()).toMatchObject({ pending: 0, detected: 0 })
  sim.faults.clear()
  const retried = await poll()
  expect(retried.detected).toBe(4)
  // the retried poll read up to the frozen bound, which is now the watermark
  expect(await t.core.redis.store.hget(t.core.triggers.store.siteKey(alias), 'since')).toBe(frozen)
  const expected = [
    `${pages[0].id}.${pages[0].version + 1}.page.updated`, `${pages[0].id}.${pages[0].version + 2}.page.updated`,
    `${pages[1].id}.${pages[1].version + 1}.page.updated`, `${pages[2].id}.${pages[2].version + 1}.page.updated`
  ]
  await until('the events', () => got.length >= expected.length)
  await poll()
  expect(got.map((e) => e.id).sort()).toEqual([...expected].sort())
  expect(await t.core.redis.store.hget(t.core.triggers.store.siteKey(alias), 'until')).toBeNull()
  await http(t, 'DELETE', '/v1/triggers/crash', { key: t.keys.admin })
})

it('past the give-up time events become dead letters; a replay delivers them in order', async () => {
  await http(t, 'PUT', '/v1/triggers/dl', { key: t.keys.admin, body: { connection: alias, events: ['page.updated'], delivery: { url: `${url}/dl`, batch: 2 }, every: 30 } })
  await poll()
  down = true
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current').slice(10, 13)
  for (const p of pages) sim.data.mutate({ op: 'edit', id: p.id })
  await poll()
  await until('dead letters', async () => (await http(t, 'GET', '/v1/triggers/dl', { key: t.keys.admin })).json().deadLetters === 3, 20_000)
  const dead = (await http(t, 'GET', '/v1/triggers/dl/dead-letters', { key: t.keys.viewer })).json().deadLetters
  const deadIds = dead.flatMap((d: any) => d.events.map((e: any) => e.id))
  expect(deadIds.sort()).toEqual(pages.map((p) => `${p.id}.${p.version + 1}.page.updated`).sort())
  expect(dead[0].reason).toMatch(/503/)
  const view = (await http(t, 'GET', '/v1/triggers/dl', { key: t.keys.admin })).json()
  expect(view).toMatchObject({ pending: 0, delivered: 0, deadLetters: 3 })
  expect(got).toEqual([])
  const metrics = (await http(t, 'GET', '/metrics', { key: t.keys.admin })).text
  expect(metrics).toMatch(/spoke_trigger_dead_letters_total\{subscription="dl"\} 3/)
  // back up; a newer event is waiting behind the replayed ones
  down = false
  const later = [...sim.data.content('page')].filter((p) => p.status === 'current')[20]
  sim.data.mutate({ op: 'edit', id: later.id })
  expect((await http(t, 'POST', '/v1/triggers/dl/dead-letters/replay', { key: t.keys.viewer })).status).toBe(403)
  const replay = await http(t, 'POST', '/v1/triggers/dl/dead-letters/replay', { key: t.keys.admin })
  expect(replay.json()).toEqual({ replayed: 3 })
  await poll()
  await until('all four', () => got.flatMap((b) => b.events).length === 4)
  const ids = got.flatMap((b) => b.events.map((e: any) => e.id))
  expect(ids.slice(0, 3)).toEqual(deadIds)
  expect(ids[3]).toBe(`${later.id}.${later.version + 1}.page.updated`)
  expect((await http(t, 'GET', '/v1/triggers/dl/dead-letters', { key: t.keys.admin })).json().deadLetters).toEqual([])
}, 40_000)

it('start: a time in the past backfills on the site\'s first poll: changes since then, nothing before', async () => {
  // a second alias on the same simulator: a site the triggers have never polled
  const { alias: fresh } = await connectSimulatorAlias(t, sim, { grant: 'client_credentials', alias: 'backfill' })
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current').slice(40, 42)
  const edited = pages.map((p) => sim.data.mutate({ op: 'edit', id: p.id }))
  const start = new Date(Date.parse(edited[0].modifiedAt) - 1000).toISOString()
  const put = await http(t, 'PUT', '/v1/triggers/back', { key: t.keys.admin, body: { connection: fresh, events: ['page.updated'], delivery: { url: `${url}/back` }, every: 30, start } })
  expect(put.json().startAt).toBe(start)
  await until('a poll of the fresh site', async () => await t.core.triggers.poll(fresh))
  // exactly the pages modified since `start` (these two, and any an earlier test edited within that second)
  const expected = [...sim.data.content('page')].filter((p) => p.status === 'current' && Date.parse(p.modifiedAt) >= Date.parse(start)).map((p) => `${p.id}.${p.version}.page.updated`).sort()
  expect(expected).toEqual(expect.arrayContaining(edited.map((p) => `${p.id}.${p.version}.page.updated`)))
  await until('the backfilled events', () => got.length >= expected.length)
  await until('a second poll', async () => await t.core.triggers.poll(fresh))
  expect(got.map((e) => e.id).sort()).toEqual(expected)
  await http(t, 'DELETE', '/v1/triggers/back', { key: t.keys.admin })
})
