// Sparse mode: answers carry only what the spec marks required (still valid against it), and paging still works.
import { startSimulator, type Simulator } from '../src/index'
import { confluence, q, type Answer } from './helpers'

describe('simulator: sparse mode', () => {
  let sim: Simulator
  let full: Simulator
  let token: string

  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, size: { pages: 40, spaces: 3, users: 12, groups: 4 }, sparse: true, validateResponses: true })
    full = await startSimulator({ seed: 7, size: { pages: 40, spaces: 3, users: 12, groups: 4 }, validateResponses: true })
    token = sim.issueToken().accessToken
  })
  afterAll(async () => { await sim.close(); await full.close() })
  afterEach(() => {
    expect(sim.invalidRequests()).toEqual([])
    expect(sim.responseViolations()).toEqual([])
  })

  const get = async (path: string, on = sim): Promise<Answer> => await confluence(on, on === sim ? token : on.issueToken().accessToken, 'GET', path)

  it('leaves out every optional field (v2 requires none, so a page is empty)', async () => {
    const page = sim.data.content('page').next().value
    const res = await get(`/wiki/api/v2/pages/${page.id}?body-format=storage`)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({})
    expect((await get('/wiki/rest/api/user/current')).body).toEqual({ type: 'known' })
    expect((await get('/wiki/api/v2/pages/999999999')).status).toBe(404)
    expect(sim.info().sparse).toBe(true)
  })

  it('keeps required fields at every depth: v1 groups and search results', async () => {
    const groups = await get('/wiki/rest/api/group?limit=2')
    expect(Object.keys(groups.body).sort()).toEqual(['_links', 'limit', 'results', 'size', 'start'])
    for (const g of groups.body.results) expect(Object.keys(g).sort()).toEqual(['id', 'name', 'type'])
    const search = await get(`/wiki/rest/api/search?cql=${q('type = page')}&expand=content.space&limit=3`)
    expect(Object.keys(search.body).sort()).toEqual(['_links', 'cqlQuery', 'limit', 'results', 'searchDuration', 'size', 'start', 'totalSize'])
    for (const r of search.body.results) {
      expect(Object.keys(r).sort()).toEqual(['breadcrumbs', 'entityType', 'excerpt', 'iconCssClass', 'lastModified', 'title', 'url'])
    }
  })

  it('keeps the pagination links: the same items page by page as without sparse mode', async () => {
    const walk = async (on: Simulator, first: string): Promise<number> => {
      let count = 0
      let next: string | undefined = first
      for (let i = 0; next !== undefined && i < 50; i++) {
        const res = await get(next, on)
        expect(res.status).toBe(200)
        count += res.body.results.length
        const link: string | undefined = res.body._links?.next
        next = link === undefined ? undefined : link.startsWith('/wiki/') ? link : `/wiki${link}`
      }
      return count
    }
    expect(await walk(sim, '/wiki/api/v2/spaces?limit=1')).toBe(await walk(full, '/wiki/api/v2/spaces?limit=1'))
    expect(await walk(sim, `/wiki/rest/api/search?cql=${q('type = page')}&limit=7`)).toBe(await walk(full, `/wiki/rest/api/search?cql=${q('type = page')}&limit=7`))
    const groups = await walk(sim, '/wiki/rest/api/group?limit=1')
    expect(groups).toBe(sim.data.groups().length)
    const members = sim.data.groups().find((g) => g.members.length > 1)!
    expect(await walk(sim, `/wiki/rest/api/group/${members.id}/membersByGroupId?limit=1`)).toBe(members.members.length)
  })
})
