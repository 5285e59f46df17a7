// confluence.content.relabel as a job against the simulator: every page a CQL query finds gets its label once,
// even when an attempt fails halfway (an item's label write answers 503 until the engine gives up) and the job
// resumes: the item list is the one checkpointed before the first write (the search runs once), the items done
// are skipped, and each item's label is written exactly once over both attempts.
import { startSimulator, writesOf, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submitJob, waitForJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'content-relabel', size: { pages: 90, spaces: 3, users: 12 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn' }, { workers: true })
})
afterAll(() => closeCheckingContract(sim, t))

it('relabels every page of a CQL query exactly once across a failed attempt', async () => {
  const site = sim.state.sites.get(sim.defaultCloudId)!
  const space = site.spaces[0]
  const other = site.spaces[1]
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', doc: { managedSpaces: [{ spaceId: space.id, key: space.key }] } })
  // the current pages of the space, in the search's order (content id)
  const items: string[] = []
  for (let c = space.pageStart; c < space.pageEnd; c++) if (site.status[c] === 0) items.push(site.contentId(c))
  expect(items.length).toBeGreaterThan(10)
  sim.reset()
  // the 8th item's label write fails every try of the first attempt (the engine tries 4 times)
  sim.faults.next({ kind: 'error', status: 503, retryAfter: 0 }, 4, { operations: ['addLabelsToContent'], paths: [`/content/${items[7]}/label`] })

  const id = await submitJob(t, 'confluence.content.relabel', { input: { cql: `space = "${space.key}" AND type = page`, add: ['reviewed'], remove: ['draft'] } })
  const job = await waitForJob(t, id, j => ['completed', 'failed'].includes(j.state), 60_000)
  expect(job.state).toBe('completed')
  expect(job.attemptsMade).toBeGreaterThanOrEqual(2)
  expect(job.result.summary).toMatchObject({ total: items.length, failed: 0, changed: items.length })
  expect(job.result.results.map((r: { contentId: string }) => r.contentId)).toEqual(items)

  const counters = sim.counters()
  expect(counters.byOperation.searchByCQL).toBe(1)
  expect(counters.byOperationStatus.addLabelsToContent['503']).toBe(4)
  expect(counters.byOperationStatus.addLabelsToContent['200']).toBe(items.length)
  const writes = writesOf(site)
  for (const item of items) expect(writes.doc(item)!.labels).toContain('reviewed')

  // a query reaching outside the managed spaces: those items are per-item errors, nothing written there
  const otherId = await submitJob(t, 'confluence.content.relabel', { input: { cql: `space = "${other.key}" AND type = page`, add: ['x'], maxItems: 3 } })
  const outside = await waitForJob(t, otherId)
  expect(outside.result.summary).toMatchObject({ total: 3, failed: 3, changed: 0 })
  expect(outside.result.results[0].error.code).toBe('SPACE_NOT_MANAGED')
  expect(sim.counters().byOperationStatus.addLabelsToContent['200']).toBe(items.length)
})
