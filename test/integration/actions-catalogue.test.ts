// Every sync action against the Confluence simulator over real HTTP, on a real Redis: success paths
// against the simulator's ground truth, pagination, upstream errors, bad input, and membership writes.
// The simulator validates every request against the official specs: none may be invalid.
// Everything runs twice: against full answers, and against sparse ones (only the fields the spec requires),
// where outputs carry only what Confluence guaranteed and nothing made up. Last, the catalogue runner: every
// case of actions/<id>.cases.json with a `simulator` block, against the simulator.
import fc from 'fast-check'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { loadCases, substitute, type ActionCase } from '../helpers/action-cases'

const CASES = loadCases()

describe.each([false, true])('actions catalogue (sparse simulator: %s)', (sparse) => {
  let sim: Simulator
  let t: TestSpoke
  let managed: { id: string, name: string, members: string[] }
  let unmanaged: { id: string }
  let siteUrl: string

  beforeAll(async () => {
    sim = await startSimulator({ seed: 'actions-catalogue', size: { pages: 150, spaces: 3, users: 30 }, sparse })
    t = await buildTestSpoke(simulatorEnv(sim))
    const groups = sim.data.groups()
    managed = groups.find(g => g.members.length > 0 && g.members.length < 30)!
    unmanaged = groups.find(g => g.id !== managed.id)!
    // Content writes may go into the first space with a homepage only (the one the cases name "$spaceId").
    const writable = sim.data.spaces().find(s => s.homepageId !== null)!
    await connectSimulatorAlias(t, sim, { managedGroups: [{ groupId: managed.id, name: managed.name }], doc: { managedSpaces: [{ spaceId: writable.id, key: writable.key }] } })
    siteUrl = sim.sites()[0].url
  })
  afterAll(() => closeCheckingContract(sim, t))
  afterEach(() => { sim.faults.clear() })

  async function exec (id: string, input: unknown, extra: Record<string, unknown> = {}) {
    const res = await http(t, 'POST', `/v1/actions/${id}/execute`, { key: t.keys.invoker, body: { input, ...extra } })
    return { status: res.status, body: res.json(), headers: res.headers }
  }
  async function ok (id: string, input: unknown): Promise<any> {
    const res = await exec(id, input)
    if (res.status !== 200) throw new Error(`${id}: ${res.status} ${JSON.stringify(res.body)}`)
    return res.body.output
  }
  /** Walks a cursor-paged action page by page; checks no item repeats. */
  async function walk (id: string, input: Record<string, unknown>, key = 'id'): Promise<any[]> {
    const seen: any[] = []
    let cursor: string | undefined
    for (let i = 0; i < 100; i++) {
      const out = await ok(id, { ...input, ...(cursor ? { cursor } : {}) })
      seen.push(...out.results)
      cursor = out.nextCursor
      if (!cursor) break
    }
    // Sparse answers may carry no key at all: then only the count can be compared.
    if (!sparse || seen.every(r => r[key] !== undefined)) expect(new Set(seen.map(r => r[key])).size).toBe(seen.length)
    return seen
  }
  const homepage = () => sim.data.spaces().find(s => s.homepageId !== null)!
  /** A space outside the alias's managed spaces (content writes there are SPACE_NOT_MANAGED). */
  const otherSpace = () => sim.data.spaces().find(s => s.homepageId !== null && s.id !== homepage().id)!
  const blogPost = () => [...sim.data.content('blogpost')].find(c => c.status === 'current' && sim.data.canRead(sim.adminAccountId, c.id))!

  describe('confluence.page.get', () => {
    it('reads a page in each body format', async () => {
      const space = homepage()
      const truth = sim.data.contentById(space.homepageId!)!
      const res = await exec('confluence.page.get', { pageId: truth.id })
      expect(res.status).toBe(200)
      expect(res.body.meta).toMatchObject({ action: 'confluence.page.get', actionVersion: '1.0.0', connection: { requested: 'confluence_cloud', resolved: 'confluence_cloud' }, attempts: 1 })
      if (sparse) {
        // The v2 spec requires no field of a page: the answer is {}, the output only says which format was asked.
        expect(res.body.output).toEqual({ body: { format: 'storage' } })
        return
      }
      expect(res.body.output).toMatchObject({ id: truth.id, title: truth.title, spaceId: truth.spaceId, status: 'current', version: truth.version, body: { format: 'storage' } })
      expect(res.body.output.url.startsWith(`${siteUrl}/wiki/spaces/${space.key}/pages/${truth.id}/`)).toBe(true)
      expect(res.body.output.body.value).toContain('<h1>')
      const adf = await ok('confluence.page.get', { pageId: truth.id, bodyFormat: 'atlas_doc_format' })
      expect(JSON.parse(adf.body.value).type).toBe('doc')
      expect((await ok('confluence.page.get', { pageId: truth.id, bodyFormat: 'view' })).body.format).toBe('view')
    })
  })

  describe('confluence.page.list', () => {
    it('pages through a space with cursors, the same as all: true', async () => {
      const space = homepage()
      const paged = await walk('confluence.page.list', { spaceId: space.id, limit: 7 })
      expect(paged.length).toBeGreaterThan(7)
      const all = await ok('confluence.page.list', { spaceId: space.id, all: true })
      expect(all.nextCursor).toBeUndefined()
      expect(all.results.map((p: any) => p.id)).toEqual(paged.map(p => p.id))
      for (const p of all.results) {
        expect(p.body).toBeUndefined()
        if (sparse) { expect(p).toEqual({}); continue }
        expect(p.spaceId).toBe(space.id)
        expect(p.url.startsWith(`${siteUrl}/wiki/spaces/${space.key}/`)).toBe(true)
      }
      const capped = await ok('confluence.page.list', { spaceId: space.id, all: true, limit: 5, maxResults: 8 })
      expect(capped.results.map((p: any) => p.id)).toEqual(paged.slice(0, 8).map(p => p.id))
      const rest = await ok('confluence.page.list', { spaceId: space.id, all: true, cursor: capped.nextCursor })
      expect(rest.results.map((p: any) => p.id)).toEqual(paged.slice(8).map(p => p.id))
    })

    it('filters by status and includes bodies on request', async () => {
      const space = homepage()
      const out = await ok('confluence.page.list', { spaceId: space.id, status: ['current'], bodyFormat: 'storage', limit: 3 })
      expect(out.results).toHaveLength(3)
      for (const p of out.results) { expect(p.status).toBe(sparse ? undefined : 'current'); expect(p.body.format).toBe('storage') }
    })

    it('rejects a cursor of another space', async () => {
      const [a, b] = sim.data.spaces()
      const first = await ok('confluence.page.list', { spaceId: a.id, limit: 2 })
      const crossed = await exec('confluence.page.list', { spaceId: b.id, cursor: first.nextCursor })
      expect(crossed.status).toBe(400)
      expect(crossed.body).toMatchObject({ code: 'INPUT_INVALID', errors: [expect.objectContaining({ path: '/cursor' })] })
    })
  })

  describe('confluence.space.list', () => {
    it('lists every space, paged or all at once, and filters by key and status', async () => {
      const truth = sim.data.spaces()
      const paged = await walk('confluence.space.list', { limit: 1 })
      expect(paged).toHaveLength(truth.length)
      if (sparse) { expect(paged.every(s => Object.keys(s).length === 0)).toBe(true); return }
      expect(paged.map(s => s.key).sort()).toEqual(truth.map(s => s.key).sort())
      for (const s of paged) expect(s.url).toBe(`${siteUrl}/wiki/spaces/${s.key}`)
      const one = await ok('confluence.space.list', { spaceKeys: [truth[0].key] })
      expect(one.results).toEqual([expect.objectContaining({ id: truth[0].id, key: truth[0].key, name: truth[0].name })])
      const current = await ok('confluence.space.list', { status: 'current', all: true })
      expect(current.results.every((s: any) => s.status === 'current')).toBe(true)
      expect((await exec('confluence.space.list', { type: 'galaxy' })).body.code).toBe('INPUT_INVALID')
    })
  })

  describe('confluence.content.search', () => {
    it('finds content by text, narrowed by space and type, with cursors and all: true', async () => {
      const space = homepage()
      const truth = sim.data.contentById(space.homepageId!)!
      const word = truth.title.split(/\s+/).find(w => /^[a-z0-9]{3,}$/i.test(w))!
      const found = await ok('confluence.content.search', { text: word, spaceKeys: [space.key], types: ['page'] })
      // The url is required by the spec, so it identifies a result in both modes.
      expect(found.results.map((r: any) => r.url)).toContainEqual(expect.stringContaining(`/pages/${truth.id}/`))
      for (const r of found.results) {
        // Sparse: no content object, so the type is the entityType and there is no id or space key.
        expect(r).toMatchObject(sparse ? { type: 'content' } : { type: 'page', id: expect.any(String), spaceKey: space.key, status: 'current' })
        expect(r.url.startsWith(`${siteUrl}/wiki/spaces/${space.key}/`)).toBe(true)
        expect(Number.isNaN(Date.parse(r.lastModified))).toBe(false)
      }
      const paged = await walk('confluence.content.search', { cql: 'type = page', limit: 10 }, 'url')
      expect(paged.length).toBeGreaterThan(20)
      const capped = await ok('confluence.content.search', { cql: 'type = page', all: true, maxResults: 25, limit: 10 })
      expect(capped.results.map((r: any) => r.url)).toEqual(paged.slice(0, 25).map(r => r.url))
      expect(capped.nextCursor).toEqual(expect.any(String))
    })

    it('returns spaces, people and attachments with the fields and the URL of their kind', async () => {
      const current = sim.data.spaces().filter(s => s.status === 'current')
      const spaces = await ok('confluence.content.search', { types: ['space'], cql: 'type = space', limit: 100 })
      expect(spaces.results).toHaveLength(current.length)
      for (const r of spaces.results) {
        const space = current.find(s => s.name === r.title)!
        expect(r).toMatchObject({ type: 'space', url: `${siteUrl}/wiki/spaces/${space.key}` })
        if (!sparse) expect(r).toMatchObject({ id: space.id, spaceKey: space.key, status: 'current' })
      }
      const people = await ok('confluence.content.search', { types: ['user'], text: sim.data.users()[2].displayName })
      const person = sim.data.users()[2]
      expect(people.results).toContainEqual(expect.objectContaining({ type: 'user', title: person.displayName, url: `${siteUrl}/wiki/people/${encodeURIComponent(person.accountId)}` }))
      if (!sparse) expect(people.results.find((r: any) => r.title === person.displayName).id).toBe(person.accountId)
      const files = await ok('confluence.content.search', { types: ['attachment'], cql: 'type = attachment', limit: 5 })
      expect(files.results.length).toBeGreaterThan(0)
      for (const r of files.results) {
        // An attachment opens as a preview on its page, never as a page URL of its own.
        expect(r.url).toMatch(/^https:\/\/.+\/wiki\/spaces\/.+\?preview=/)
        if (sparse) { expect(r.type).toBe('content'); continue }
        expect(r.type).toBe('attachment')
        expect(r.url).not.toContain(`/pages/${r.id as string}/`)
        expect(r.downloadUrl).toMatch(new RegExp(`^${siteUrl}/wiki/download/attachments/\\d+/`))
      }
    })

    it('never lets hostile text change the query (no CQL parse errors)', async () => {
      await fc.assert(fc.asyncProperty(
        fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('" OR type = space OR "', '\\', 'x") OR (1=1', 'AND', 'NOT NOT', "'quoted'", 'order by title', '*')),
        async (text) => {
          const res = await exec('confluence.content.search', { text, limit: 1 })
          if (!/\S/.test(text)) { expect(res.status).toBe(400); return }
          expect(res.status).toBe(200)
        }), { numRuns: 40 })
    })
  })

  describe('users', () => {
    it('reads users, with email null when hidden', async () => {
      const users = sim.data.users()
      const hidden = users.find(u => !u.emailVisible)!
      const visible = users.find(u => u.emailVisible && u.email)!
      if (sparse) {
        // The spec requires only the user's type: nothing else is claimed.
        expect(await ok('confluence.user.get', { accountId: hidden.accountId })).toEqual({ active: true })
        expect(await ok('confluence.user.current', {})).toEqual({ active: true })
        return
      }
      expect(await ok('confluence.user.get', { accountId: hidden.accountId })).toEqual({ accountId: hidden.accountId, displayName: hidden.displayName, email: null, accountType: hidden.accountType, active: true })
      expect((await ok('confluence.user.get', { accountId: visible.accountId })).email).toBe(visible.email)
      expect((await ok('confluence.user.current', {})).accountId).toBe(sim.adminAccountId)
    })

    it('lists the groups of a user', async () => {
      const member = managed.members[0]
      const groups = await walk('confluence.user.groups', { accountId: member, limit: 1 })
      expect(groups.map(g => g.id).sort()).toEqual(sim.data.userGroups(member).map(g => g.id).sort())
      expect((await exec('confluence.user.groups', { accountId: 'ghost' })).body.code).toBe('UPSTREAM_NOT_FOUND')
      expect((await exec('confluence.user.groups', { accountId: member, limit: 500 })).body.code).toBe('INPUT_INVALID')
    })
  })

  describe('groups', () => {
    it('lists all groups (offset pages behind opaque cursors)', async () => {
      const truth = sim.data.groups()
      const paged = await walk('confluence.group.list', { limit: 2 })
      expect(paged).toEqual(expect.arrayContaining(truth.map(g => ({ id: g.id, name: g.name }))))
      expect(paged).toHaveLength(truth.length)
      expect((await ok('confluence.group.list', { all: true })).results).toHaveLength(truth.length)
    })

    it('lists the members of a group', async () => {
      const members = await walk('confluence.group.members', { groupId: managed.id, limit: 3 }, 'accountId')
      expect(members).toHaveLength(managed.members.length)
      if (sparse) { expect(members.every(m => m.active === true && m.accountId === undefined)).toBe(true); return }
      expect(members.map(m => m.accountId).sort()).toEqual([...managed.members].sort())
      for (const m of members) expect(m).toEqual({ accountId: expect.any(String), displayName: expect.any(String), email: m.email === null ? null : expect.any(String), accountType: expect.any(String), active: true })
    })
  })

  describe('membership writes', () => {
    it('adds and removes members of a managed group idempotently, with dryRun', async () => {
      const outsider = sim.data.users().find(u => !managed.members.includes(u.accountId))!.accountId
      const input = { groupId: managed.id, accountId: outsider }
      expect(await ok('confluence.group.member.add', { ...input, dryRun: true })).toEqual({ changed: true, dryRun: true })
      expect(sim.data.groupMembers(managed.id)).not.toContain(outsider)
      expect(await ok('confluence.group.member.add', input)).toEqual({ changed: true, dryRun: false })
      expect(sim.data.groupMembers(managed.id)).toContain(outsider)
      expect(await ok('confluence.group.member.add', input)).toEqual({ changed: false, dryRun: false })
      expect(await ok('confluence.group.member.remove', { ...input, dryRun: true })).toEqual({ changed: true, dryRun: true })
      expect(sim.data.groupMembers(managed.id)).toContain(outsider)
      expect(await ok('confluence.group.member.remove', input)).toEqual({ changed: true, dryRun: false })
      expect(sim.data.groupMembers(managed.id)).not.toContain(outsider)
      expect(await ok('confluence.group.member.remove', input)).toEqual({ changed: false, dryRun: false })
    })

    it('refuses groups that are not managed, and bad input', async () => {
      const before = sim.counters()
      const res = await exec('confluence.group.member.add', { groupId: unmanaged.id, accountId: sim.adminAccountId })
      expect(res.status).toBe(403)
      expect(res.body).toMatchObject({ code: 'GROUP_NOT_MANAGED', retryable: false })
      expect((await exec('confluence.group.member.remove', { groupId: unmanaged.id, accountId: sim.adminAccountId })).body.code).toBe('GROUP_NOT_MANAGED')
      expect(sim.counters()).toEqual(before)
      const bad = await exec('confluence.group.member.remove', { groupId: managed.id, dryRun: 'yes' })
      expect(bad.body.errors.map((e: any) => e.path).sort()).toEqual(['/accountId', '/dryRun'])
    })

    it('maps an unknown account to 404', async () => {
      expect((await exec('confluence.group.member.add', { groupId: managed.id, accountId: 'ghost' })).body.code).toBe('UPSTREAM_NOT_FOUND')
    })
  })

  describe('confluence.site.list', () => {
    it('lists the sites the token reaches', async () => {
      const out = await ok('confluence.site.list', {})
      expect(out.results).toEqual(expect.arrayContaining([expect.objectContaining({ id: sim.defaultCloudId, url: siteUrl, scopes: expect.any(Array) })]))
    })
  })

  describe('upstream errors, per action', () => {
    const member = () => managed.members[0]
    it.each([
      ['confluence.page.get', () => ({ pageId: homepage().homepageId }), 'getPageById', 'api'],
      ['confluence.blogpost.get', () => ({ blogPostId: blogPost().id }), 'getBlogPostById', 'api'],
      ['confluence.page.list', () => ({ spaceId: homepage().id }), 'getPagesInSpace', 'api'],
      ['confluence.space.list', () => ({}), 'getSpaces', 'api'],
      ['confluence.content.search', () => ({ text: 'x' }), 'searchByCQL', 'api'],
      ['confluence.user.get', () => ({ accountId: member() }), 'getUser', 'api'],
      ['confluence.user.current', () => ({}), 'getCurrentUser', 'api'],
      ['confluence.user.groups', () => ({ accountId: member() }), 'getGroupMembershipsForUser', 'api'],
      ['confluence.group.list', () => ({}), 'getGroups', 'api'],
      ['confluence.group.members', () => ({ groupId: managed.id }), 'getGroupMembersByGroupId', 'api'],
      ['confluence.group.member.add', () => ({ groupId: managed.id, accountId: member() }), 'getGroupMembershipsForUser', 'api'],
      ['confluence.group.member.remove', () => ({ groupId: managed.id, accountId: member(), dryRun: true }), 'getGroupMembershipsForUser', 'api'],
      ['confluence.site.list', () => ({}), 'oauth.accessibleResources', 'oauth']
    ] as const)('%s: 403 → UPSTREAM_FORBIDDEN (not retried); a 503 is retried; 4 x 503 → 502 retryable', async (id, input, operation, target) => {
      const match = { operations: [operation], targets: [target] as Array<'api' | 'oauth'> }
      sim.faults.next({ kind: 'error', status: 403 }, 1, match)
      const forbidden = await exec(id, input())
      expect(forbidden.status).toBe(403)
      expect(forbidden.body).toMatchObject({ code: 'UPSTREAM_FORBIDDEN', retryable: false })
      // Retry-After: 0 keeps the test fast; the backoff itself is unit-tested.
      sim.faults.next({ kind: 'error', status: 503, retryAfter: 0 }, 1, match)
      const recovered = await exec(id, input())
      expect(recovered.status).toBe(200)
      expect(recovered.body.meta.attempts).toBe(2)
      sim.faults.next({ kind: 'error', status: 503, retryAfter: 0 }, 4, match)
      const down = await exec(id, input())
      expect(down.status).toBe(502)
      expect(down.body).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true })
    })
  })

  describe('cases (actions/<id>.cases.json) against the simulator', () => {
    /** The simulator's values a case names as "$name". */
    const values = (): Record<string, string> => {
      const space = homepage()
      return {
        pageId: space.homepageId!,
        spaceId: space.id,
        blogPostId: blogPost().id,
        accountId: managed.members[0],
        outsiderId: sim.data.users().find(u => !managed.members.includes(u.accountId))!.accountId,
        managedGroupId: managed.id,
        unmanagedGroupId: unmanaged.id,
        unmanagedSpaceId: otherSpace().id,
        unmanagedPageId: otherSpace().homepageId!
      }
    }

    it('every action has a case that runs against the simulator', () => {
      expect(CASES.filter(([, cases]) => !cases.some(c => c.simulator !== undefined)).map(([id]) => id)).toEqual([])
    })

    const runs = CASES.flatMap(([id, cases]) => cases.filter(c => c.simulator !== undefined).map(c => [id, c.name, c] as const))
    it.each(runs)('%s: %s', async (id: string, _name: string, c: ActionCase) => {
      const v = values()
      // Async actions run in sync mode here: the answer is the output itself.
      const res = await exec(id, substitute(c.simulator!.input ?? c.input, v), { mode: 'sync' })
      if (c.error !== undefined) {
        expect(res.body).toMatchObject({ code: c.error.code })
        return
      }
      // 200 means the output passed its schema (the test spoke validates every output).
      if (res.status !== 200) throw new Error(`${id}: ${res.status} ${JSON.stringify(res.body)}`)
      if (!sparse && c.simulator!.output !== undefined) expect(res.body.output).toMatchObject(substitute(c.simulator!.output, v) as object)
    })
  })
})
