import { startSimulator, type Simulator } from '../src/index'
import { confluence, http, q, type Answer } from './helpers'

describe('simulator: Confluence endpoints', () => {
  let sim: Simulator
  let admin: string

  beforeAll(async () => {
    sim = await startSimulator({ seed: 42, size: { pages: 150, spaces: 3, users: 40, groups: 6 }, validateResponses: true })
    admin = sim.issueToken().accessToken
  })
  afterAll(async () => { await sim.close() })
  afterEach(() => {
    expect(sim.invalidRequests()).toEqual([])
    expect(sim.responseViolations()).toEqual([])
  })

  const get = async (path: string, token = admin): Promise<Answer> => await confluence(sim, token, 'GET', path)
  const gatewayBase = (): string => `${sim.url}/ex/confluence/${sim.defaultCloudId}`

  /** A regular user who can read the space of a read-restricted page but not the page itself. */
  function outsider (): { pageId: string, accountId: string } {
    for (const pageId of sim.data.restrictedContentIds()) {
      const access = sim.data.effectiveReadAccess(pageId)
      if (access?.source !== 'content' || sim.data.contentById(pageId)?.status !== 'current') continue
      const spaceHome = sim.data.spaces().find((s) => s.id === sim.data.contentById(pageId)?.spaceId)?.homepageId as string
      const user = sim.data.users().find((u) => u.accountType === 'atlassian' && sim.data.canRead(u.accountId, spaceHome) && !sim.data.canRead(u.accountId, pageId))
      if (user) return { pageId, accountId: user.accountId }
    }
    throw new Error('the seed has no restricted page with an outsider')
  }

  describe('pages', () => {
    it.each(['storage', 'atlas_doc_format', 'view'])('gets a page by id with body-format=%s', async (format) => {
      const page = sim.data.content('page').next().value
      const res = await get(`/wiki/api/v2/pages/${page.id}?body-format=${format}`)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ id: page.id, title: page.title, spaceId: page.spaceId, version: { number: page.version } })
      expect(res.body.body[format]).toEqual({ representation: format, value: expect.any(String) })
      if (format === 'atlas_doc_format') expect(JSON.parse(res.body.body[format].value)).toMatchObject({ type: 'doc', version: 1 })
      expect(res.body._links.base).toBe('https://site-1.atlassian.net/wiki')
    })

    it('hides a page the caller may not read behind 404, like Confluence', async () => {
      const { pageId, accountId } = outsider()
      const token = sim.issueToken({ accountId }).accessToken
      expect((await get(`/wiki/api/v2/pages/${pageId}`, token)).status).toBe(404)
      expect((await get(`/wiki/api/v2/pages/${pageId}`)).status).toBe(200)
      expect((await get('/wiki/api/v2/pages/1')).body).toEqual({ errors: [{ status: 404, code: 'NOT_FOUND', title: 'Not Found', detail: null }] })
    })

    it('pages through a space with the Link header and _links.next (v2 cursors)', async () => {
      const space = sim.data.spaces()[1]
      const expected = [...sim.data.content('page')].filter((c) => c.spaceId === space.id && (c.status === 'current' || c.status === 'archived')).map((c) => c.id)
      const seen: string[] = []
      let next: string | undefined = `/wiki/api/v2/spaces/${space.id}/pages?limit=7&body-format=storage`
      while (next) {
        const res = await get(next)
        expect(res.status).toBe(200)
        seen.push(...res.body.results.map((p: { id: string }) => p.id))
        const link = res.headers.get('link') as string
        expect(link).toContain('<https://site-1.atlassian.net/wiki>; rel="base"')
        const fromHeader = /<([^>]+)>; rel="next"/.exec(link)?.[1]
        expect(fromHeader).toBe(res.body._links.next)
        next = fromHeader
      }
      expect(seen).toEqual(expected)
    })

    it('lists ancestors highest first, limited to the closest ones', async () => {
      const deep = [...sim.data.content('page')].find((p) => {
        let depth = 0
        for (let id = p.parentId; id; id = sim.data.contentById(id)?.parentId ?? null) depth++
        return depth >= 3
      })
      expect(deep).toBeDefined()
      const chain: string[] = []
      for (let id = deep?.parentId ?? null; id; id = sim.data.contentById(id)?.parentId ?? null) chain.unshift(id)
      const all = await get(`/wiki/api/v2/pages/${deep?.id as string}/ancestors`)
      expect(all.body.results).toEqual(chain.map((id) => ({ id, type: 'page' })))
      const closest = await get(`/wiki/api/v2/pages/${deep?.id as string}/ancestors?limit=2`)
      expect(closest.body.results.map((a: { id: string }) => a.id)).toEqual(chain.slice(-2))
    })

    it('lists direct children', async () => {
      const home = sim.data.spaces()[0].homepageId as string
      const children = [...sim.data.content('page')].filter((p) => p.parentId === home && p.status !== 'trashed').map((p) => p.id)
      const res = await get(`/wiki/api/v2/pages/${home}/direct-children?limit=250`)
      expect(res.body.results.map((c: { id: string }) => c.id)).toEqual(children)
    })
  })

  describe('search (CQL)', () => {
    it('follows _links.next relative to _links.base until the last page', async () => {
      const expected = [...sim.data.content('page')].filter((c) => c.status === 'current').length
      let next: string | undefined = `/rest/api/search?cql=${q('type = page order by id')}&limit=40`
      const ids: string[] = []
      let base = ''
      while (next) {
        const res = await http(`${gatewayBase()}/wiki${next}`, { headers: { authorization: `Bearer ${admin}` } })
        expect(res.status).toBe(200)
        expect(res.body.totalSize).toBe(expected)
        base = res.body._links.base
        ids.push(...res.body.results.map((r: { content: { id: string } }) => r.content.id))
        next = res.body._links.next
        if (next) expect(next).toMatch(/^\/rest\/api\/search\?.*cursor=/)
      }
      expect(base).toBe('https://site-1.atlassian.net/wiki')
      expect(ids).toHaveLength(expected)
      expect(new Set(ids).size).toBe(expected)
    })

    it('filters results by the caller\'s permissions', async () => {
      const { pageId, accountId } = outsider()
      const user = sim.issueToken({ accountId }).accessToken
      const cql = q(`id = ${pageId}`)
      expect((await get(`/wiki/rest/api/search?cql=${cql}`)).body.totalSize).toBe(1)
      expect((await get(`/wiki/rest/api/search?cql=${cql}`, user)).body.totalSize).toBe(0)
      const everything = await get(`/wiki/rest/api/search?cql=${q('type in (page, blogpost)')}&limit=1`, user)
      const readable = [...sim.data.content()].filter((c) => c.kind !== 'attachment' && c.status === 'current' && sim.data.canRead(accountId, c.id)).length
      expect(everything.body.totalSize).toBe(readable)
    })

    it('supports fields, operators, boolean logic, parentheses and ordering', async () => {
      const space = sim.data.spaces()[0]
      const pages = [...sim.data.content('page')].filter((c) => c.status === 'current')
      const cases: Array<[string, (c: typeof pages[number]) => boolean]> = [
        [`space = ${space.key} AND type = page`, (c) => c.spaceKey === space.key],
        [`type = page and space = "${space.key}" AND NOT (title ~ "roadmap" OR title ~ "runbook")`, (c) => c.spaceKey === space.key && !/roadmap|runbook/i.test(c.title)],
        [`type = page AND created >= "2024-01-01" AND lastmodified < "2025-01-01"`, (c) => c.createdAt >= '2024-01-01' && c.modifiedAt < '2025-01-01'],
        [`ancestor = ${space.homepageId as string}`, (c) => { for (let id = c.parentId; id; id = sim.data.contentById(id)?.parentId ?? null) if (id === space.homepageId) return true; return false }]
      ]
      for (const [cql, match] of cases) {
        const res = await get(`/wiki/rest/api/search?cql=${q(cql)}&limit=100`)
        expect(res.status).toBe(200)
        expect(res.body.totalSize).toBe(pages.filter(match).length)
      }
      const ordered = await get(`/wiki/rest/api/search?cql=${q(`space = ${space.key} and type = page order by title desc`)}&limit=100&expand=content.space,content.version`)
      const titles = ordered.body.results.map((r: { title: string }) => r.title)
      expect(titles).toEqual([...titles].sort((a: string, b: string) => b.localeCompare(a)))
      expect(ordered.body.results[0].content.space.key).toBe(space.key)
    })

    it('finds spaces and users when the query names their type, with their own URLs', async () => {
      const current = sim.data.spaces().filter((s) => s.status === 'current')
      const spaces = await get(`/wiki/rest/api/search?cql=${q('type = space')}&limit=100`)
      expect(spaces.body.totalSize).toBe(current.length)
      for (const r of spaces.body.results) {
        expect(r).toMatchObject({ entityType: 'space', title: r.space.name, url: `/spaces/${r.space.key as string}`, space: { _links: { webui: `/spaces/${r.space.key as string}` } } })
        expect(r.content).toBeUndefined()
      }
      const users = await get(`/wiki/rest/api/search?cql=${q('type = user')}&limit=100`)
      expect(users.body.totalSize).toBe(sim.data.users().length)
      for (const r of users.body.results) expect(r).toMatchObject({ entityType: 'user', title: r.user.displayName, url: `/people/${encodeURIComponent(r.user.accountId as string)}` })
      const someone = sim.data.users()[3]
      const named = await get(`/wiki/rest/api/search?cql=${q(`type = user and title ~ "${someone.displayName}"`)}`)
      expect(named.body.results.map((r: any) => r.user.accountId)).toContain(someone.accountId)
      const space = current[0]
      const mixed = await get(`/wiki/rest/api/search?cql=${q(`type in (space, page) and space = ${space.key} order by title`)}&limit=100`)
      const kinds = new Set(mixed.body.results.map((r: any) => r.entityType === 'space' ? 'space' : r.content.type))
      expect(kinds).toEqual(new Set(['space', 'page']))
      expect(mixed.body.results.filter((r: any) => r.entityType === 'space').map((r: any) => r.space.key)).toEqual([space.key])
      // Content search stays content only; without a type clause nothing but content is found either.
      expect((await get(`/wiki/rest/api/content/search?cql=${q('type = space')}`)).body.results).toEqual([])
      expect((await get(`/wiki/rest/api/search?cql=${q(`title ~ "${someone.displayName}"`)}`)).body.results.every((r: any) => r.entityType === 'content')).toBe(true)
    })

    it('links an attachment to its preview on its container, and to its file', async () => {
      const res = await get(`/wiki/rest/api/search?cql=${q('type = attachment')}&limit=5`)
      expect(res.body.results.length).toBeGreaterThan(0)
      for (const r of res.body.results) {
        const attachment = sim.data.contentById(r.content.id)!
        const container = sim.data.contentById(attachment.parentId!)!
        expect(r.url).toBe(`${r.content._links.webui as string}`)
        expect(r.url).toMatch(new RegExp(`^/spaces/[^/]+/(pages|blog/[0-9/]+)/${container.id}/[^?]+\\?preview=`))
        expect(r.content._links.download).toMatch(new RegExp(`^/download/attachments/${container.id}/`))
      }
    })

    it.each(['type = page AND', 'user = "x"', 'title ~', 'type = page ORDER title', '(type = page', 'creator.fullname ~ "x"'])('answers 400 "CQL query cannot be parsed" for %s', async (cql) => {
      const res = await get(`/wiki/rest/api/search?cql=${q(cql)}`)
      expect(res.status).toBe(400)
      expect(res.body.message).toMatch(/^CQL query cannot be parsed/)
    })
  })

  describe('spaces', () => {
    it('lists readable spaces only', async () => {
      const user = sim.data.users().find((u) => u.accountType === 'atlassian' && sim.data.spaces().some((s) => !sim.data.canRead(u.accountId, s.homepageId as string))) ?? sim.data.users()[2]
      const token = sim.issueToken({ accountId: user.accountId }).accessToken
      const res = await get('/wiki/api/v2/spaces?limit=250', token)
      const expected = sim.data.spaces().filter((s) => sim.data.canRead(user.accountId, s.homepageId as string)).map((s) => s.key)
      expect(res.body.results.map((s: { key: string }) => s.key)).toEqual(expected)
    })

    it('lists space permissions with user and group principals', async () => {
      const space = sim.data.spaces()[0]
      const res = await get(`/wiki/api/v2/spaces/${space.id}/permissions?limit=250`)
      const groupIds = new Set(sim.data.groups().map((g) => g.id))
      const reads = res.body.results.filter((p: { operation: { key: string } }) => p.operation.key === 'read')
      expect(reads.length).toBeGreaterThan(0)
      for (const p of res.body.results) expect(p.principal.type === 'group' ? groupIds.has(p.principal.id) : p.principal.type === 'user').toBe(true)
      const access = sim.data.effectiveReadAccess(space.homepageId as string)
      if (access?.source === 'space') {
        expect(reads.filter((p: { principal: { type: string } }) => p.principal.type === 'group').map((p: { principal: { id: string } }) => p.principal.id).sort())
          .toEqual(access.groups.map((g) => g.groupId).sort())
      }
    })
  })

  describe('crawl endpoints', () => {
    it('serves blog posts and attachments of their containers', async () => {
      const space = sim.data.spaces()[0]
      const posts = await get(`/wiki/api/v2/spaces/${space.id}/blogposts?limit=250&body-format=storage`)
      const expected = [...sim.data.content('blogpost')].filter((b) => b.spaceId === space.id && b.status === 'current').map((b) => b.id)
      expect(posts.body.results.map((b: { id: string }) => b.id)).toEqual(expected)
      const attachment = sim.data.content('attachment').next().value
      const container = attachment.parentId as string
      const kind = sim.data.contentById(container)?.kind === 'page' ? 'pages' : 'blogposts'
      const list = await get(`/wiki/api/v2/${kind}/${container}/attachments`)
      expect(list.body.results.map((a: { id: string }) => a.id)).toContain(`att${attachment.id}`)
      const one = await get(`/wiki/api/v2/attachments/att${attachment.id}`)
      expect(one.body).toMatchObject({ id: `att${attachment.id}`, title: attachment.title, fileSize: expect.any(Number) })
    })

    it('reports restrictions that match the ground truth', async () => {
      const { pageId } = outsider()
      const res = await get(`/wiki/rest/api/content/${pageId}/restriction/byOperation`)
      expect(res.status).toBe(200)
      const access = sim.data.effectiveReadAccess(pageId)
      expect(res.body.read.restrictions.user.results.map((u: { accountId: string }) => u.accountId)).toEqual(access?.users)
      expect(res.body.read.restrictions.group.results.map((g: { id: string }) => g.id)).toEqual(access?.groups.map((g) => g.groupId))
      const group = access?.groups[0].groupId as string
      expect((await get(`/wiki/rest/api/content/${pageId}/restriction/byOperation/read/byGroupId/${group}`)).status).toBe(200)
      const list = await get(`/wiki/rest/api/content/${pageId}/restriction?limit=100`)
      expect(list.body.results.map((r: { operation: string }) => r.operation)).toEqual(['read', 'update'])
    })
  })

  describe('users and groups', () => {
    it('shows an email only when the profile makes it visible', async () => {
      const users = sim.data.users()
      const hidden = users.find((u) => u.accountType === 'atlassian' && !u.emailVisible)
      const visible = users.find((u) => u.accountType === 'atlassian' && u.emailVisible && u.accountId !== sim.adminAccountId)
      expect((await get(`/wiki/rest/api/user?accountId=${q(hidden?.accountId as string)}`)).body.email).toBe('')
      expect((await get(`/wiki/rest/api/user?accountId=${q(visible?.accountId as string)}`)).body).toMatchObject({ accountId: visible?.accountId, email: visible?.email, displayName: visible?.displayName })
      expect((await get('/wiki/rest/api/user?accountId=nobody')).status).toBe(404)
      const current = await get('/wiki/rest/api/user/current')
      expect(current.body.accountId).toBe(sim.adminAccountId)
    })

    it('lists a user\'s group memberships', async () => {
      const user = sim.data.users()[5]
      const res = await get(`/wiki/rest/api/user/memberof?accountId=${q(user.accountId)}`)
      expect(res.body.results.map((g: { id: string }) => g.id)).toEqual(sim.data.userGroups(user.accountId).map((g) => g.id))
    })

    it('pages groups by offset, refusing limit above 200', async () => {
      const all = sim.data.groups().map((g) => g.id)
      const seen: string[] = []
      let next: string | undefined = '/rest/api/group?limit=3'
      while (next) {
        const res = await http(`${gatewayBase()}/wiki${next}`, { headers: { authorization: `Bearer ${admin}` } })
        seen.push(...res.body.results.map((g: { id: string }) => g.id))
        next = res.body._links.next
      }
      expect(seen).toEqual(all)
      const tooMany = await get('/wiki/rest/api/group?limit=201')
      expect(tooMany.status).toBe(400)
      const members = sim.data.groups()[1]
      const page = await get(`/wiki/rest/api/group/${members.id}/membersByGroupId?limit=5&shouldReturnTotalSize=true`)
      expect(page.body).toMatchObject({ start: 0, limit: 5, size: 5, totalSize: members.members.length })
      expect(page.body.results.map((u: { accountId: string }) => u.accountId)).toEqual(members.members.slice(0, 5))
    })

    it('adds (201) and removes (204, even for a non-member) group members, for site admins only', async () => {
      const group = sim.data.groups()[3]
      const user = sim.data.users().find((u) => !group.members.includes(u.accountId) && u.accountType === 'atlassian' && u.accountId !== sim.adminAccountId) as { accountId: string }
      const add = async (token = admin, groupId = group.id, accountId = user.accountId): Promise<Answer> =>
        await confluence(sim, token, 'POST', `/wiki/rest/api/group/userByGroupId?groupId=${groupId}`, { body: { accountId } })
      const remove = async (token = admin, groupId = group.id, accountId = user.accountId): Promise<Answer> =>
        await confluence(sim, token, 'DELETE', `/wiki/rest/api/group/userByGroupId?groupId=${groupId}&accountId=${q(accountId)}`)

      expect((await add()).status).toBe(201)
      expect(sim.data.groupMembers(group.id)).toContain(user.accountId)
      expect((await add()).status).toBe(201)
      expect((await remove()).status).toBe(204)
      expect(sim.data.groupMembers(group.id)).not.toContain(user.accountId)
      expect((await remove()).status).toBe(204)

      const regular = sim.issueToken({ accountId: user.accountId }).accessToken
      expect((await add(regular)).status).toBe(403)
      expect((await remove(regular)).status).toBe(403)
      expect((await add(admin, 'no-such-group')).status).toBe(404)
      expect((await add(admin, group.id, 'no-such-account')).status).toBe(404)
      expect((await remove(admin, 'no-such-group')).status).toBe(404)
    })
  })
})
