import { startSimulator, storageProblem, writesOf, type Simulator } from '../src/index'
import { confluence, type Answer } from './helpers'

describe('simulator: writes (pages, blog posts, comments, labels)', () => {
  let sim: Simulator
  let admin: string
  let spaceId: string

  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, size: { pages: 120, spaces: 3, users: 30, groups: 5 }, validateResponses: true })
    admin = sim.issueToken().accessToken
    const site = sim.state.sites.get(sim.defaultCloudId)!
    spaceId = site.spaces[0].id
  })
  afterAll(async () => { await sim.close() })
  afterEach(() => {
    expect(sim.invalidRequests()).toEqual([])
    expect(sim.responseViolations()).toEqual([])
  })

  const call = async (method: string, path: string, body?: unknown, token = admin): Promise<Answer> => await confluence(sim, token, method, path, { body })
  const storage = (value: string): Record<string, string> => ({ representation: 'storage', value })

  it('create → read → update with the next version → a stale version is 409 and changes nothing', async () => {
    const created = await call('POST', '/wiki/api/v2/pages', { spaceId, status: 'current', title: 'Release notes 1', body: storage('<p>one</p>') })
    expect(created.status).toBe(200)
    expect(created.body).toMatchObject({ title: 'Release notes 1', spaceId, version: { number: 1 }, body: { storage: { value: '<p>one</p>' } } })
    const id = created.body.id as string
    expect((await call('GET', `/wiki/api/v2/pages/${id}?body-format=storage`)).body.body.storage.value).toBe('<p>one</p>')

    const updated = await call('PUT', `/wiki/api/v2/pages/${id}`, { id, status: 'current', title: 'Release notes 1', body: storage('<p>two</p>'), version: { number: 2, message: 'm' } })
    expect(updated.status).toBe(200)
    expect(updated.body.version).toMatchObject({ number: 2, message: 'm' })

    const stale = await call('PUT', `/wiki/api/v2/pages/${id}`, { id, status: 'current', title: 'Release notes 1', body: storage('<p>three</p>'), version: { number: 2 } })
    expect(stale.status).toBe(409)
    expect(stale.body.errors[0].detail).toContain('Current version is: 2')
    const after = await call('GET', `/wiki/api/v2/pages/${id}?body-format=storage`)
    expect(after.body).toMatchObject({ version: { number: 2 }, body: { storage: { value: '<p>two</p>' } } })
  })

  it('a page title is unique in its space (create and rename), not across spaces', async () => {
    const site = sim.state.sites.get(sim.defaultCloudId)!
    const first = await call('POST', '/wiki/api/v2/pages', { spaceId, title: 'Unique title', body: storage('<p>x</p>') })
    expect(first.status).toBe(200)
    const again = await call('POST', '/wiki/api/v2/pages', { spaceId, title: 'Unique title', body: storage('<p>x</p>') })
    expect(again.status).toBe(400)
    expect(again.body.errors[0].detail).toContain('title already exists')
    const seededTitle = site.title(site.spaces[0].pageStart + 1)
    expect((await call('POST', '/wiki/api/v2/pages', { spaceId, title: seededTitle, body: storage('<p>x</p>') })).status).toBe(400)
    expect((await call('POST', '/wiki/api/v2/pages', { spaceId: site.spaces[1].id, title: 'Unique title', body: storage('<p>x</p>') })).status).toBe(200)
  })

  it('refuses malformed storage and non-ADF atlas_doc_format bodies (400)', async () => {
    for (const value of ['<p>open', '<p>a & b</p>', '<p><b>x</p></b>', '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[x</ac:plain-text-body></ac:structured-macro>']) {
      const r = await call('POST', '/wiki/api/v2/pages', { spaceId, title: `Bad ${value}`, body: storage(value) })
      expect(r.status).toBe(400)
    }
    const adf = await call('POST', '/wiki/api/v2/pages', { spaceId, title: 'ADF', body: { representation: 'atlas_doc_format', value: '{"type":"paragraph"}' } })
    expect(adf.status).toBe(400)
    expect(storageProblem('<p>a &amp; <a href="https://x.example/?a=1&amp;b=2">b</a><br/></p><ac:image><ri:url ri:value="https://x.example/i.png"/></ac:image>')).toBeUndefined()
  })

  it('delete trashes, purge removes only trashed content, a trashed page is not current', async () => {
    const created = await call('POST', '/wiki/api/v2/pages', { spaceId, title: 'To trash', body: storage('<p>x</p>') })
    const id = created.body.id as string
    expect((await call('DELETE', `/wiki/api/v2/pages/${id}?purge=true`)).status).toBe(400)
    expect((await call('DELETE', `/wiki/api/v2/pages/${id}`)).status).toBe(204)
    expect((await call('GET', `/wiki/api/v2/pages/${id}`)).body.status).toBe('trashed')
    expect((await call('DELETE', `/wiki/api/v2/pages/${id}`)).status).toBe(404)
    expect((await call('DELETE', `/wiki/api/v2/pages/${id}?purge=true`)).status).toBe(204)
    expect((await call('GET', `/wiki/api/v2/pages/${id}`)).status).toBe(404)
    // a trashed title is free again
    expect((await call('POST', '/wiki/api/v2/pages', { spaceId, title: 'To trash', body: storage('<p>x</p>') })).status).toBe(200)
  })

  it('a reader who is not on the edit restriction of seeded content gets 403 and nothing changes', async () => {
    const site = sim.state.sites.get(sim.defaultCloudId)!
    let target = -1
    let reader: string | undefined
    for (const [c, r] of site.restrictions) {
      if (r.read !== undefined || r.update === undefined || site.kind(c) !== 'page' || site.status[c] !== 0) continue
      const outsider = site.users.find((u) => u.accountType === 'atlassian' && u.index > 1 && !r.update!.users.includes(u.index) &&
        !r.update!.groups.some((g) => site.groups[g].members.has(u.index)) && site.spaces[site.space[c]].read.groups.some((g) => site.groups[g].members.has(u.index)))
      if (outsider) { target = c; reader = outsider.accountId; break }
    }
    if (target === -1 || reader === undefined) throw new Error('the seed has no edit-restricted page with an outside reader')
    const token = sim.issueToken({ accountId: reader }).accessToken
    const id = site.contentId(target)
    const version = site.version[target]
    const before = await call('GET', `/wiki/api/v2/pages/${id}`, undefined, token)
    expect(before.status).toBe(200)
    const r = await call('PUT', `/wiki/api/v2/pages/${id}`, { id, status: 'current', title: 'Hijacked', body: storage('<p>x</p>'), version: { number: version + 1 } }, token)
    expect(r.status).toBe(403)
    expect(site.version[target]).toBe(version)
    expect((await call('POST', `/wiki/rest/api/content/${id}/label`, [{ prefix: 'global', name: 'x' }], token)).status).toBe(403)
  })

  it('footer comments on a page, a blog post and an attachment, and replies', async () => {
    const site = sim.state.sites.get(sim.defaultCloudId)!
    const page = (await call('POST', '/wiki/api/v2/pages', { spaceId, title: 'Commented', body: storage('<p>x</p>') })).body.id as string
    const root = await call('POST', '/wiki/api/v2/footer-comments', { pageId: page, body: storage('<p>first</p>') })
    expect(root.status).toBe(201)
    expect(root.body).toMatchObject({ pageId: page, body: { storage: { value: '<p>first</p>' } } })
    const reply = await call('POST', '/wiki/api/v2/footer-comments', { parentCommentId: root.body.id, body: storage('<p>reply</p>') })
    expect(reply.status).toBe(201)
    expect(reply.body.parentCommentId).toBe(root.body.id)
    const blog = (await call('POST', '/wiki/api/v2/blogposts', { spaceId, title: 'Blog', body: storage('<p>b</p>') })).body.id as string
    expect((await call('POST', '/wiki/api/v2/footer-comments', { blogPostId: blog, body: storage('<p>c</p>') })).status).toBe(201)
    const attachment = site.pageCount + site.blogCount
    expect((await call('POST', '/wiki/api/v2/footer-comments', { attachmentId: `att${site.contentId(attachment)}`, body: storage('<p>c</p>') })).status).toBe(201)
    expect((await call('POST', '/wiki/api/v2/footer-comments', { pageId: '999999999', body: storage('<p>c</p>') })).status).toBe(404)
    expect(writesOf(site).comments.size).toBe(4)
  })

  it('labels: v1 add (one or many) and remove; the v2 page read shows them', async () => {
    const id = (await call('POST', '/wiki/api/v2/pages', { spaceId, title: 'Labelled', body: storage('<p>x</p>') })).body.id as string
    const added = await call('POST', `/wiki/rest/api/content/${id}/label`, [{ prefix: 'global', name: 'Alpha' }, { prefix: 'global', name: 'beta' }])
    expect(added.status).toBe(200)
    expect(added.body.results.map((l: { name: string }) => l.name)).toEqual(['alpha', 'beta'])
    expect((await call('POST', `/wiki/rest/api/content/${id}/label`, { prefix: 'global', name: 'has space' })).status).toBe(400)
    expect((await call('DELETE', `/wiki/rest/api/content/${id}/label?name=alpha`)).status).toBe(204)
    expect((await call('DELETE', `/wiki/rest/api/content/${id}/label/beta`)).status).toBe(204)
    expect((await call('GET', `/wiki/api/v2/pages/${id}?include-labels=true`)).body.labels.results).toEqual([])
  })

  it('blog posts: create, update with versions, delete', async () => {
    const created = await call('POST', '/wiki/api/v2/blogposts', { spaceId, title: 'News', body: storage('<p>n</p>') })
    expect(created.status).toBe(200)
    const id = created.body.id as string
    expect((await call('PUT', `/wiki/api/v2/blogposts/${id}`, { id, status: 'current', title: 'News 2', body: storage('<p>n2</p>'), version: { number: 3 } })).status).toBe(409)
    expect((await call('PUT', `/wiki/api/v2/blogposts/${id}`, { id, status: 'current', title: 'News 2', body: storage('<p>n2</p>'), version: { number: 2 } })).body.title).toBe('News 2')
    expect((await call('DELETE', `/wiki/api/v2/blogposts/${id}`)).status).toBe(204)
    expect((await call('GET', `/wiki/api/v2/blogposts/${id}`)).body.status).toBe('trashed')
  })
})
