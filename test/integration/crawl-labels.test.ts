// Labels on page, blog post and attachment records (issue 23), against the simulator on a real Redis: every record
// carries exactly the labels Confluence holds (seeded, and one written through v1 `POST
// /wiki/rest/api/content/{id}/label`), read at one v1 CQL search (`expand=metadata.labels`) per listing page
// and one v2 label read per item the search does not return (archived pages); labels that cannot be read
// leave the record exported, exact in its ACL, with `labels: null`, counted LABELS_UNREADABLE.
import { startSimulator, type ContentSummary, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { canRead, crawlToSink, reduce, subjects, type Rec } from '../helpers/crawl'

let sim: Simulator
let t: TestSpoke
const TYPES = ['page', 'blogpost', 'attachment', 'comment']

beforeAll(async () => {
  sim = await startSimulator({ seed: 'crawl-labels', permissions: 'nested', size: { pages: 120, spaces: 2, users: 15, groups: 3, blogposts: 10, attachments: 40, comments: 10, inlineComments: 4 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '4000', SPOKE_SITE_BURST: '400' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
}, 30_000)
afterAll(() => closeCheckingContract(sim, t))

const crawl = async (input: Record<string, unknown>): Promise<{ result: any, records: Rec[] }> => await crawlToSink(t, TYPES, input)

/** The labels Confluence holds for an item: seeded ones, unless a write changed them. */
const written = new Map<string, string[]>()
function truth (id: string): string[] {
  return [...new Set(written.get(id) ?? sim.data.site().labels(sim.data.site().contentIndex(id)))].sort()
}

it('every page, blog post and attachment record carries its labels, at one search per listing page; unreadable labels are null, counted, and open nothing', async () => {
  const pages = [...sim.data.content('page')].filter((p) => p.status === 'current')
  const target = pages.find((p) => sim.data.effectiveReadAccess(p.id)?.source === 'space') as ContentSummary
  // a label written through the v1 API (the simulator keeps it)
  const token = sim.issueToken().accessToken
  const res = await fetch(`${sim.url}/ex/confluence/${sim.defaultCloudId}/wiki/rest/api/content/${target.id}/label`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify([{ prefix: 'global', name: 'crawl-written' }])
  })
  expect(res.status).toBe(200)
  written.set(target.id, [...sim.data.site().labels(sim.data.site().contentIndex(target.id)), 'crawl-written'])
  sim.reset()
  const { result, records } = await crawl({ sink: { type: 'file', path: 'labels/full.ndjson' } })
  expect(result.errors).toEqual({})
  const content = records.filter((r) => r.kind === 'page' || r.kind === 'blogpost' || r.kind === 'attachment')
  expect(content.length).toBeGreaterThan(100)
  expect(content.filter((r) => r.kind === 'attachment' && r.labels.length > 0).length).toBeGreaterThan(0)
  expect(content.map((r) => [r.id, r.labels])).toEqual(content.map((r) => [r.id, truth(r.id)]))
  expect(content.find((r) => r.id === target.id)?.labels).toContain('crawl-written')
  expect(content.filter((r) => r.labels.length > 0).length).toBeGreaterThan(10)
  // the cost: one search per listing page, one label read per item the search does not show (archived pages)
  const ops = sim.counters().byOperation
  const listings = (ops.getPagesInSpace ?? 0) + (ops.getBlogPostsInSpace ?? 0)
  const archived = content.filter((r) => r.status === 'archived').length
  expect(ops.searchContentByCQL).toBeLessThanOrEqual(listings)
  expect((ops.getPageLabels ?? 0) + (ops.getBlogPostLabels ?? 0) + (ops.getAttachmentLabels ?? 0)).toBe(archived)
  const items = records.filter((r) => ['page', 'blogpost', 'attachment', 'comment'].includes(r.kind)).length
  console.log(`crawl labels: ${content.length} pages, blog posts and attachments labelled with ${ops.searchContentByCQL as number} searches and ${archived} label reads ` +
    `(${sim.counters().requests} requests for ${items} items = ${(sim.counters().requests / items).toFixed(3)} per item)`)

  // the search fails and so does one page's own label read: that page is exported, exact, with labels null
  const victim = content.find((r) => r.status !== 'archived' && r.kind === 'page' && r.id !== target.id) as Rec
  sim.reset()
  sim.faults.set({ errorRate: 1, errorStatus: 500, operations: ['searchContentByCQL', 'getPageLabels'], paths: ['/rest/api/content/search', `/pages/${victim.id}/labels`] })
  const faulty = await crawl({ sink: { type: 'file', path: 'labels/faulty.ndjson' } })
  sim.faults.clear()
  expect(faulty.result.errors).toEqual({ LABELS_UNREADABLE: 1 })
  const state = reduce(faulty.records)
  const page = state.get(`page:${victim.id}`) as Rec
  expect(page.labels).toBeNull()
  const who = subjects(state)
  for (const u of sim.data.users()) expect([u.accountId, canRead(page.acl, who.get(u.accountId))]).toEqual([u.accountId, sim.data.canRead(u.accountId, victim.id)])
  // every other item read its labels on its own, and has them
  const others = faulty.records.filter((r) => (r.kind === 'page' || r.kind === 'blogpost' || r.kind === 'attachment') && r.id !== victim.id)
  expect(others.map((r) => [r.id, r.labels])).toEqual(others.map((r) => [r.id, truth(r.id)]))
}, 180_000)
