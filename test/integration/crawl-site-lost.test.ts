// confluence.content.crawl when the alias no longer reaches its site (issue 23), against the simulator on a
// real Redis: the app is removed from the site (accessible-resources stops listing it, the gateway answers
// 401). Proven by accessible-resources, the scope's stored records are deleted (or marked, `removedSpaces`)
// like a lost space; a check that cannot be made (accessible-resources answering 500) deletes nothing.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submitJob, waitForJob } from '../helpers/jobs'
import { readSink, reduce, subjects, canRead, type Rec } from '../helpers/crawl'

let sim: Simulator
let t: TestSpoke
const TYPES = ['page', 'blogpost', 'attachment', 'comment']
const contentKinds = new Set(TYPES)

beforeAll(async () => {
  sim = await startSimulator({ seed: 'site-lost', permissions: 'nested', size: { pages: 30, spaces: 2, users: 12, groups: 3, blogposts: 3, attachments: 6, comments: 10, inlineComments: 4 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '4000', SPOKE_SITE_BURST: '400' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
}, 30_000)
afterAll(() => closeCheckingContract(sim, t))

async function crawl (input: Record<string, unknown>): Promise<{ job: any, records: Rec[] }> {
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: TYPES, ...input } })
  const job = await waitForJob(t, id, undefined, 90_000)
  const path = (input.sink as { path: string }).path
  let records: Rec[] = []
  try { records = readSink(t.config.dataDir, path) } catch { /* no sink written */ }
  return { job, records }
}

it('a site the alias lost: a failed check deletes nothing; a proven loss removes every stored record (marked, then deleted)', async () => {
  const first = await crawl({ sink: { type: 'file', path: 'lost/0.ndjson' } })
  expect(first.job.state).toBe('completed')
  let state = reduce(first.records)
  const stored = [...state.values()].filter((r) => contentKinds.has(r.kind))
  const spaces = [...state.values()].filter((r) => r.kind === 'space')
  expect(stored.length).toBeGreaterThan(20)
  expect(spaces.length).toBe(2)

  // a listing that fails while the site is still listed: accessible-resources is asked, and nothing is removed
  sim.reset()
  sim.faults.set({ errorRate: 1, errorStatus: 403, operations: ['getSpaces'] })
  const refused = await crawl({ sink: { type: 'file', path: 'lost/0b.ndjson' } })
  sim.faults.clear()
  expect(refused.job.state).toBe('failed')
  expect(sim.counters().byOperation['oauth.accessibleResources']).toBeGreaterThan(0)
  expect(refused.records.filter((r) => r.kind === 'deleted' || r.kind === 'unavailable')).toEqual([])

  sim.setSiteReachable(sim.defaultCloudId, false)
  // not proven: accessible-resources cannot be read, so the run fails as before and nothing is removed
  sim.faults.set({ errorRate: 1, errorStatus: 500, targets: ['oauth'], operations: ['oauth.accessibleResources'] })
  const unsure = await crawl({ sink: { type: 'file', path: 'lost/1.ndjson' } })
  sim.faults.clear()
  expect(unsure.job.state).toBe('failed')
  expect(unsure.records.filter((r) => r.kind === 'deleted' || r.kind === 'unavailable')).toEqual([])

  // proven, marked: every stored item and space becomes unavailable, readable by nobody
  const marked = await crawl({ removedSpaces: 'mark', sink: { type: 'file', path: 'lost/2.ndjson' } })
  expect(marked.job.state).toBe('completed')
  expect(marked.job.result.siteLost).toBe(true)
  expect(marked.job.result.removedSpaces).toEqual(spaces.map((s) => s.id).sort())
  expect(marked.job.result.errors).toEqual({ SITE_LOST: 1 })
  expect(marked.records.every((r) => r.kind === 'unavailable')).toBe(true)
  expect(marked.records.map((r) => r.recordId).sort()).toEqual([...stored, ...spaces].map((r) => r.recordId).sort())
  state = reduce(marked.records, state)
  const who = subjects(state)
  expect(marked.records.filter((r) => sim.data.users().some((u) => canRead(r.acl, who.get(u.accountId))))).toEqual([])
  // the scope's state went with them: a further run has nothing left to remove
  const again = await crawl({ sink: { type: 'file', path: 'lost/3.ndjson' } })
  expect(again.job.result.removedSpaces).toEqual([])
  expect(again.records).toEqual([])

  // the site comes back: a full run exports it again; lost once more, the default deletes every record
  sim.setSiteReachable(sim.defaultCloudId, true)
  const back = await crawl({ sink: { type: 'file', path: 'lost/4.ndjson' } })
  expect(back.job.result.siteLost).toBeUndefined()
  expect(back.records.filter((r) => contentKinds.has(r.kind)).length).toBe(stored.length)
  sim.setSiteReachable(sim.defaultCloudId, false)
  const deleted = await crawl({ sink: { type: 'file', path: 'lost/5.ndjson' } })
  expect(deleted.job.result.siteLost).toBe(true)
  expect(deleted.records.every((r) => r.kind === 'deleted')).toBe(true)
  expect(deleted.job.result.deletions).toBe(stored.length + spaces.length)
  sim.setSiteReachable(sim.defaultCloudId, true)
  console.log(`crawl, site lost: ${stored.length} items and ${spaces.length} spaces marked unavailable, then (after the site came back) deleted; accessible-resources failing: nothing removed`)
}, 180_000)
