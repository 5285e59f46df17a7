// confluence.content.crawl on a chain of ancestors longer than one v2 answer (250): a 300-page chain with a
// restricted folder exactly where the first answer ends, so the crawl must continue through
// `folders/{id}/ancestors`. Every page's exported ancestors equal the simulator's chain, and the exported
// ACLs give exactly the simulator's read decision for every (user, page) pair.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submitJob, waitForJob } from '../helpers/jobs'
import { canRead, readSink, reduce, subjects } from '../helpers/crawl'

let sim: Simulator
let t: TestSpoke

beforeAll(async () => {
  sim = await startSimulator({ seed: 'deep-chain', permissions: 'nested', size: { pages: 320, spaces: 1, users: 40, groups: 4, blogposts: 2, attachments: 2, comments: 0, inlineComments: 0 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_SITE_RATE_PER_SECOND: '4000', SPOKE_SITE_BURST: '400' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } } })
}, 30_000)
afterAll(() => closeCheckingContract(sim, t))

const DEPTH = 300
const ANSWER = 250

it('follows an ancestor chain past one answer through a folder, and stays exact', async () => {
  expect(sim.data.spaces().map((s) => s.status)).toEqual(['current'])
  const pages = [...sim.data.content('page')]
  // page i under page i - 1 (the home page is pages[0]); then a restricted folder between pages[k] and pages[k + 1],
  // so that it is the highest of the deepest page's closest 250 ancestors
  for (let i = 1; i <= DEPTH; i++) sim.data.mutate({ op: 'move', id: pages[i].id, parentId: pages[i - 1].id })
  const k = DEPTH - ANSWER
  const folder = [...sim.data.folders()].find((f) => f.status === 'current') as { id: string }
  expect(folder).toBeDefined()
  const siteAdmins = sim.data.groups().find((g) => g.name === 'site-admins')?.id as string
  const users = sim.data.users()
  sim.data.mutate({ op: 'restrict', id: folder.id, read: { users: users.slice(2, 12).map((u) => u.accountId), groups: [siteAdmins] } })
  sim.data.mutate({ op: 'move', id: folder.id, parentId: pages[k].id })
  sim.data.mutate({ op: 'move', id: pages[k + 1].id, parentId: folder.id })
  const deepest = pages[DEPTH]
  const site = sim.data.site()
  const chain = site.ancestorRefs(site.contentIndex(deepest.id)).map((r) => site.refId(r))
  expect(chain.length).toBe(DEPTH + 1)
  expect(chain[ANSWER - 1]).toBe(folder.id)
  sim.reset()

  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'file', path: 'deep/full.ndjson' } } })
  const job = await waitForJob(t, id, undefined, 50_000)
  expect(job.state).toBe('completed')
  expect(job.result.errors).toEqual({})
  expect(sim.counters().byOperation.getFolderAncestors).toBeGreaterThan(0)
  const state = reduce(readSink(t.config.dataDir, 'deep/full.ndjson'))
  const record = state.get(`page:${deepest.id}`)
  expect(record?.ancestorIds).toEqual(chain)
  expect(record?.acl.allOf.some((c: { sourceId: string }) => c.sourceId === folder.id)).toBe(true)
  const who = subjects(state)
  const items = [...state.values()].filter((r) => r.kind === 'page')
  let pairs = 0
  const wrong = { grants: 0, denials: 0 }
  for (const item of items) {
    expect(item.ancestorIds).toEqual(site.ancestorRefs(site.contentIndex(item.id)).map((r) => site.refId(r)))
    for (const u of users) {
      const truth = sim.data.canRead(u.accountId, item.id)
      const got = canRead(item.acl, who.get(u.accountId))
      pairs++
      if (got && !truth) wrong.grants++
      if (!got && truth) wrong.denials++
    }
  }
  console.log(`crawl deep chain: ${items.length} pages, deepest with ${chain.length} ancestors (folder at ${ANSWER}), ` +
    `${sim.counters().byOperation.getFolderAncestors as number} folder-ancestor requests; ${pairs} (user, page) pairs: ${wrong.grants} false grants / ${wrong.denials} false denials`)
  expect(pairs).toBeGreaterThan(10_000)
  expect(wrong).toEqual({ grants: 0, denials: 0 })
}, 60_000)
