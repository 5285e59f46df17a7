// The `nested` permission profile and the mutations crawl tests rely on: nested mixed restrictions, long
// restriction lists, access classes through role assignments, 404 restrictions of trashed content, the
// site's time zone in systemInfo and CQL, folders (restricted, nested, in the ancestor chain), footer and
// inline comments with replies at any depth, comments on attachments, and a ground truth that follows every mutation.
import { startSimulator, type Simulator } from '../src/index'
import { confluence, http, q } from './helpers'

describe('simulator: nested permission profile and mutations', () => {
  let sim: Simulator
  let admin: string

  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, permissions: 'nested', size: { pages: 400, spaces: 4, users: 160, groups: 8 }, validateResponses: true })
    admin = sim.issueToken().accessToken
  })
  afterAll(async () => { await sim.close() })
  afterEach(() => {
    expect(sim.invalidRequests()).toEqual([])
    expect(sim.responseViolations()).toEqual([])
  })

  const site = (): ReturnType<Simulator['data']['site']> => sim.data.site()

  it('nests read restrictions that mix users and groups, and some lists run past one page', () => {
    const s = site()
    let nested = 0
    let long = 0
    for (const [c, r] of s.restrictions) {
      if (r.read === undefined) continue
      if (r.read.users.length > 100) long++
      if (s.kind(c) === 'page' && s.parent[c] !== -1 && s.nearestReadRestricted[s.parent[c]] !== -1) nested++
    }
    expect(nested).toBeGreaterThan(3)
    expect(long).toBeGreaterThan(0)
  })

  it('pages a long restriction list with start/limit', async () => {
    const s = site()
    const [c] = [...s.restrictions].find(([, r]) => (r.read?.users.length ?? 0) > 100 && true) ?? []
    const id = s.contentId(c as number)
    const first = await confluence(sim, admin, 'GET', `/wiki/rest/api/content/${id}/restriction/byOperation/read?limit=100`)
    const second = await confluence(sim, admin, 'GET', `/wiki/rest/api/content/${id}/restriction/byOperation/read?limit=100&start=100`)
    expect(first.body.restrictions.user.size).toBe(100)
    expect(second.body.restrictions.user.size).toBe((s.restrictions.get(c as number)?.read?.users.length ?? 0) - 100)
  })

  it('grants read to access classes through role assignments', async () => {
    const space = sim.data.spaces().find((x) => x.accessClasses.length > 0)
    expect(space).toBeDefined()
    const res = await confluence(sim, admin, 'GET', `/wiki/api/v2/spaces/${space?.id as string}/role-assignments?limit=250`)
    expect(res.status).toBe(200)
    expect(res.body.results).toEqual(expect.arrayContaining([{ principal: { principalType: 'ACCESS_CLASS', principalId: space?.accessClasses[0] }, roleId: expect.any(String) }]))
  })

  it('reports the site time zone and reads CQL dates in it', async () => {
    const info = await confluence(sim, admin, 'GET', '/wiki/rest/api/settings/systemInfo')
    expect(info.body.defaultTimeZone).toBe('Australia/Sydney')
    const page = sim.data.mutate({ op: 'edit', id: sim.data.content('page').next().value.id })
    const at = new Date(page.modifiedAt)
    // the same instant written as Sydney wall-clock time (UTC+10/+11) matches; as UTC it does not
    const sydney = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Australia/Sydney', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(at)
    const utc = at.toISOString().slice(0, 16).replace('T', ' ')
    const search = async (when: string): Promise<string[]> => {
      const res = await confluence(sim, admin, 'GET', `/wiki/rest/api/content/search?cql=${q(`id = ${page.id} and lastmodified = "${when}"`)}`)
      return res.body.results.map((r: { id: string }) => r.id)
    }
    expect(await search(sydney)).toEqual([page.id])
    expect(await search(utc)).toEqual([])
  })

  it('serves footer comments of pages and blog posts, readable by whoever reads the container', async () => {
    const comments = [...sim.data.comments()].filter((c) => c.commentType === 'footer' && c.containerType === undefined)
    expect(comments.length).toBe(100)
    const onBlog = comments.find((c) => sim.data.contentById(c.parentId as string)?.kind === 'blogpost' && c.status === 'current')
    const onPage = comments.find((c) => sim.data.contentById(c.parentId as string)?.kind === 'page' && c.status === 'current' && sim.data.contentById(c.parentId as string)?.status === 'current')
    expect(onBlog !== undefined && onPage !== undefined).toBe(true)
    const page = onPage?.parentId as string
    const res = await confluence(sim, admin, 'GET', `/wiki/api/v2/pages/${page}/footer-comments?body-format=storage&limit=250`)
    expect(res.status).toBe(200)
    const expected = comments.filter((c) => c.parentId === page && c.parentCommentId === undefined && c.status === 'current').map((c) => c.id)
    expect(res.body.results.map((r: { id: string }) => r.id).sort()).toEqual(expected.sort())
    expect(res.body.results[0]).toMatchObject({ pageId: page, status: 'current', body: { storage: { representation: 'storage' } } })
    const blog = await confluence(sim, admin, 'GET', `/wiki/api/v2/blogposts/${onBlog?.parentId as string}/footer-comments`)
    expect(blog.body.results.some((r: { id: string, blogPostId: string }) => r.id === onBlog?.id && r.blogPostId === onBlog?.parentId)).toBe(true)
    for (const u of sim.data.users().slice(0, 40)) expect(sim.data.canRead(u.accountId, onPage?.id as string)).toBe(sim.data.canRead(u.accountId, page))
  })

  it('follows a restriction change, a move and a trash in the ground truth', async () => {
    const s = site()
    const users = sim.data.users().filter((u) => u.accountType === 'atlassian')
    // a current page with a current child, in a space every licensed user reads
    const parent = [...sim.data.content('page')].find((p) => p.status === 'current' && [...sim.data.content('page')].some((k) => k.parentId === p.id && k.status === 'current') &&
      users.every((u) => sim.data.canRead(u.accountId, p.id)) && s.restrictions.get(s.contentIndex(p.id))?.read === undefined)
    expect(parent).toBeDefined()
    const child = [...sim.data.content('page')].find((k) => k.parentId === parent?.id && k.status === 'current')?.id as string
    const alice = users[5].accountId
    sim.data.mutate({ op: 'restrict', id: parent?.id as string, read: { users: [alice] } })
    expect(sim.data.canRead(users[6].accountId, child)).toBe(false)
    expect(sim.data.canRead(alice, child)).toBe(sim.data.canRead(alice, parent?.id as string))
    // a trashed ancestor's restriction stops applying, and its restrictions answer 404
    sim.data.mutate({ op: 'delete', id: parent?.id as string })
    expect(sim.data.canRead(users[6].accountId, child)).toBe(true)
    const gone = await confluence(sim, admin, 'GET', `/wiki/rest/api/content/${parent?.id as string}/restriction/byOperation/read`)
    expect(gone.status).toBe(404)
    // over the control API: publish a draft, move a page to the root
    const draft = [...sim.data.content('page')].find((p) => p.status === 'draft')?.id as string
    const res = await http(`${sim.url}/__sim/sites/${sim.defaultCloudId}/mutations`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mutations: [{ op: 'publish', id: draft }, { op: 'move', id: child, parentId: null }] })
    })
    expect(res.status).toBe(200)
    expect(sim.data.contentById(draft)?.status).toBe('current')
    expect(sim.data.contentById(child)?.parentId).toBeNull()
    const bad = await http(`${sim.url}/__sim/sites/${sim.defaultCloudId}/mutations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mutations: [{ op: 'publish', id: child }] }) })
    expect(bad.status).toBe(400)
  })

  const groupsOf = (accountId: string): Set<string> => new Set(sim.data.userGroups(accountId).map((g) => g.id))
  /** whether a restriction (v1 byOperation/read body) names the account directly or through a group */
  const named = (body: any, accountId: string): boolean =>
    body.restrictions.user.results.some((u: { accountId: string }) => u.accountId === accountId) ||
    body.restrictions.group.results.some((g: { id: string }) => groupsOf(accountId).has(g.id))

  it('seeds folders at the root, in pages and in folders, some restricted and some trashed, with pages in them', async () => {
    const folders = [...sim.data.folders()]
    const ids = new Set(folders.map((f) => f.id))
    const pages = [...sim.data.content('page')]
    expect(folders.filter((f) => f.parentId === null).length).toBeGreaterThan(0)
    expect(folders.filter((f) => f.parentId !== null && ids.has(f.parentId)).length).toBeGreaterThan(0)
    expect(folders.filter((f) => f.parentId !== null && !ids.has(f.parentId)).length).toBeGreaterThan(0)
    expect(folders.filter((f) => f.status === 'trashed').length).toBeGreaterThan(0)
    const restricted = folders.filter((f) => site().restrictionOf(-2 - site().folders.index(f.id))?.read !== undefined)
    expect(restricted.length).toBeGreaterThan(2)
    // a current page in a restricted folder: v2 names the folder as its parent and in its ancestors
    const page = pages.find((p) => p.status === 'current' && restricted.some((f) => f.id === p.parentId && f.status === 'current')) as typeof pages[number]
    expect(page).toBeDefined()
    const folder = folders.find((f) => f.id === page.parentId) as typeof folders[number]
    const got = await confluence(sim, admin, 'GET', `/wiki/api/v2/pages/${page.id}`)
    expect(got.body).toMatchObject({ parentId: folder.id, parentType: 'folder' })
    const ancestors = await confluence(sim, admin, 'GET', `/wiki/api/v2/pages/${page.id}/ancestors?limit=250`)
    expect(ancestors.body.results[ancestors.body.results.length - 1]).toEqual({ id: folder.id, type: 'folder' })
    const byId = await confluence(sim, admin, 'GET', `/wiki/api/v2/folders/${folder.id}`)
    expect(byId.body).toMatchObject({ id: folder.id, type: 'folder', title: folder.title, spaceId: folder.spaceId })
    const children = await confluence(sim, admin, 'GET', `/wiki/api/v2/folders/${folder.id}/direct-children?limit=250`)
    expect(children.body.results).toEqual(expect.arrayContaining([expect.objectContaining({ id: page.id, type: 'page' })]))
    const folderAncestors = await confluence(sim, admin, 'GET', `/wiki/api/v2/folders/${folder.id}/ancestors`)
    expect(folderAncestors.body.results.map((a: { id: string }) => a.id)).toEqual(ancestors.body.results.slice(0, -1).map((a: { id: string }) => a.id))
    // the folder's read restriction (v1, as for any content) decides for the page: nobody it leaves out reads the page
    const restriction = await confluence(sim, admin, 'GET', `/wiki/rest/api/content/${folder.id}/restriction/byOperation/read?limit=100`)
    expect(restriction.status).toBe(200)
    const users = sim.data.users()
    let excluded = 0
    for (const u of users) {
      if (named(restriction.body, u.accountId)) continue
      expect(sim.data.canRead(u.accountId, page.id)).toBe(false)
      excluded++
    }
    expect(excluded).toBeGreaterThan(0)
    // a trashed folder's restrictions answer 404 and stop applying
    const trashed = folders.find((f) => f.status === 'trashed') as typeof folders[number]
    expect((await confluence(sim, admin, 'GET', `/wiki/rest/api/content/${trashed.id}/restriction/byOperation/read`)).status).toBe(404)
  })

  it('moves a page into a restricted folder, restricts a folder, and refuses a cycle', async () => {
    const folders = [...sim.data.folders()].filter((f) => f.status === 'current')
    const users = sim.data.users().filter((u) => u.accountType === 'atlassian')
    const open = [...sim.data.content('page')].find((p) => p.status === 'current' && p.parentId !== null && users.every((u) => sim.data.canRead(u.accountId, p.id))) as { id: string, spaceId: string }
    expect(open).toBeDefined()
    const folder = folders.find((f) => f.spaceId === open.spaceId && f.parentId === null) as { id: string }
    expect(folder).toBeDefined()
    const alice = users[9].accountId
    const siteAdmins = sim.data.groups().find((g) => g.name === 'site-admins')?.id as string
    const res = await http(`${sim.url}/__sim/sites/${sim.defaultCloudId}/mutations`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mutations: [{ op: 'restrict', id: folder.id, read: { users: [alice], groups: [siteAdmins] } }, { op: 'move', id: open.id, parentId: folder.id }] })
    })
    expect(res.status).toBe(200)
    expect(sim.data.contentById(open.id)?.parentId).toBe(folder.id)
    expect(sim.data.canRead(alice, open.id)).toBe(true)
    expect(sim.data.canRead(users[10].accountId, open.id)).toBe(false)
    const page = await confluence(sim, admin, 'GET', `/wiki/api/v2/pages/${open.id}/ancestors`)
    expect(page.body.results).toEqual([{ id: folder.id, type: 'folder' }])
    // a folder cannot move under a page inside it
    const cycle = await http(`${sim.url}/__sim/sites/${sim.defaultCloudId}/mutations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mutations: [{ op: 'move', id: folder.id, parentId: open.id }] }) })
    expect(cycle.status).toBe(400)
    sim.data.mutate({ op: 'restrict', id: folder.id, read: null })
    expect(sim.data.canRead(users[10].accountId, open.id)).toBe(true)
  })

  it('serves root inline comments with resolution status and selection, and their replies', async () => {
    const inline = [...sim.data.comments()].filter((c) => c.commentType === 'inline')
    expect(inline.length).toBe(80)
    const roots0 = new Set(inline.filter((c) => c.parentCommentId === undefined).map((c) => c.id))
    const reply = inline.find((c) => roots0.has(c.parentCommentId as string) && sim.data.contentById(c.parentId as string)?.status === 'current') as typeof inline[number]
    expect(reply).toBeDefined()
    const container = sim.data.contentById(reply.parentId as string) as { id: string, kind: string }
    const path = `/wiki/api/v2/${container.kind === 'page' ? 'pages' : 'blogposts'}/${container.id}/inline-comments?limit=250&body-format=storage`
    const roots = await confluence(sim, admin, 'GET', path)
    expect(roots.status).toBe(200)
    const expected = inline.filter((c) => c.parentId === container.id && c.parentCommentId === undefined && c.status === 'current').map((c) => c.id).sort()
    expect(roots.body.results.map((r: { id: string }) => r.id).sort()).toEqual(expected)
    const root = roots.body.results.find((r: { id: string }) => r.id === reply.parentCommentId)
    expect(root).toMatchObject({ resolutionStatus: expect.any(String), properties: { inlineOriginalSelection: expect.any(String) }, body: { storage: { representation: 'storage' } } })
    const children = await confluence(sim, admin, 'GET', `/wiki/api/v2/inline-comments/${reply.parentCommentId as string}/children`)
    expect(children.body.results.map((r: { id: string }) => r.id)).toContain(reply.id)
    expect(children.body.results[0].parentCommentId).toBe(reply.parentCommentId)
    const resolved = await confluence(sim, admin, 'GET', `${path}&resolution-status=resolved`)
    expect(resolved.body.results.every((r: { resolutionStatus: string }) => r.resolutionStatus === 'resolved')).toBe(true)
    for (const u of sim.data.users().slice(0, 40)) expect(sim.data.canRead(u.accountId, reply.id)).toBe(sim.data.canRead(u.accountId, container.id))
  })

  it('serves replies to footer and inline comments at any depth, each from its parent\'s children', async () => {
    const all = [...sim.data.comments()]
    const byId = new Map(all.map((c) => [c.id, c]))
    const depth = (c: typeof all[number]): number => c.parentCommentId === undefined ? 0 : 1 + depth(byId.get(c.parentCommentId) as typeof c)
    for (const kind of ['footer', 'inline'] as const) {
      const deep = all.filter((c) => c.commentType === kind && depth(c) >= 2 && sim.data.contentById(c.parentId as string)?.status === 'current')
      expect(deep.length).toBeGreaterThan(0)
      const reply = deep[0]
      const parent = byId.get(reply.parentCommentId as string) as typeof reply
      expect([parent.parentId, parent.status]).toEqual([reply.parentId, 'current'])
      const res = await confluence(sim, admin, 'GET', `/wiki/api/v2/${kind}-comments/${parent.id}/children?body-format=storage`)
      expect(res.status).toBe(200)
      const expected = all.filter((c) => c.parentCommentId === parent.id && c.status === 'current').map((c) => c.id).sort()
      expect(res.body.results.map((r: { id: string }) => r.id).sort()).toEqual(expected)
      expect(res.body.results.find((r: { id: string }) => r.id === reply.id)).toMatchObject({ parentCommentId: parent.id, body: { storage: { representation: 'storage' } } })
      expect(res.body.results.every((r: Record<string, unknown>) => r.pageId === undefined && r.blogPostId === undefined)).toBe(true)
      for (const u of sim.data.users().slice(0, 40)) expect(sim.data.canRead(u.accountId, reply.id)).toBe(sim.data.canRead(u.accountId, reply.parentId as string))
    }
    // footer replies are not listed with the page's footer comments (roots only)
    const footerReply = all.find((c) => c.commentType === 'footer' && c.parentCommentId !== undefined && c.status === 'current' && sim.data.contentById(c.parentId as string)?.kind === 'page' && sim.data.contentById(c.parentId as string)?.status === 'current') as typeof all[number]
    const listed = await confluence(sim, admin, 'GET', `/wiki/api/v2/pages/${footerReply.parentId as string}/footer-comments?limit=250`)
    expect(listed.body.results.map((r: { id: string }) => r.id)).not.toContain(footerReply.id)
  })

  it('serves comments on attachments (roots a cursor page at a time, replies from their children), readable by the attachment\'s page\'s readers', async () => {
    const onFiles = [...sim.data.comments()].filter((c) => c.containerType === 'attachment')
    // three fifths of the 80 attachments, seeded from the seed alone (a second simulator holds the same)
    expect(onFiles.length).toBe(48)
    const again = await startSimulator({ seed: 7, permissions: 'nested', size: { pages: 400, spaces: 4, users: 160, groups: 8 } })
    try {
      expect([...again.data.comments()].filter((c) => c.containerType === 'attachment')).toEqual(onFiles)
    } finally { await again.close() }
    const live = (id: string): boolean => sim.data.contentById(id)?.status === 'current'
    // the attachment with the most current root comments, on a current page
    const roots = (att: string): string[] => onFiles.filter((c) => c.parentId === att && c.parentCommentId === undefined && c.status === 'current').map((c) => c.id)
    const att = [...new Set(onFiles.map((c) => c.parentId as string))].filter((a) => live(a) && live(sim.data.contentById(a)?.parentId as string))
      .sort((a, b) => roots(b).length - roots(a).length)[0]
    expect(roots(att).length).toBeGreaterThan(1)
    const listed: Array<Record<string, any>> = []
    for (let path: string | undefined = `/wiki/api/v2/attachments/att${att}/footer-comments?limit=1&body-format=storage`; path !== undefined;) {
      const res = await confluence(sim, admin, 'GET', path)
      expect(res.status).toBe(200)
      listed.push(...res.body.results)
      path = res.body._links.next
    }
    expect(listed.map((r) => r.id).sort()).toEqual(roots(att).sort())
    expect(listed[0]).toMatchObject({ attachmentId: `att${att}`, status: 'current', body: { storage: { representation: 'storage' } } })
    // replies: a thread on a file, read like any footer comment's
    const reply = onFiles.find((c) => c.parentCommentId !== undefined && c.status === 'current' && live(c.parentId as string)) as typeof onFiles[number]
    expect(reply).toBeDefined()
    const children = await confluence(sim, admin, 'GET', `/wiki/api/v2/footer-comments/${reply.parentCommentId as string}/children`)
    expect(children.body.results.map((r: { id: string }) => r.id)).toContain(reply.id)
    const page = sim.data.contentById(reply.parentId as string)?.parentId as string
    for (const u of sim.data.users()) expect(sim.data.canRead(u.accountId, reply.id)).toBe(sim.data.canRead(u.accountId, page))
    // an unknown or trashed attachment answers 404; a deleted comment takes its replies along
    expect((await confluence(sim, admin, 'GET', '/wiki/api/v2/attachments/att999999/footer-comments')).status).toBe(404)
    const trashedAtt = [...sim.data.content('attachment')].find((a) => a.status === 'trashed')
    if (trashedAtt !== undefined) expect((await confluence(sim, admin, 'GET', `/wiki/api/v2/attachments/att${trashedAtt.id}/footer-comments`)).status).toBe(404)
    sim.data.mutate({ op: 'delete', id: reply.parentCommentId as string })
    expect([...sim.data.comments()].find((c) => c.id === reply.id)?.status).toBe('trashed')
    expect((await confluence(sim, admin, 'GET', `/wiki/api/v2/footer-comments/${reply.parentCommentId as string}/children`)).status).toBe(404)
  })

  it('deletes a comment with its replies at every depth; the children of a deleted comment answer 404', async () => {
    const all = [...sim.data.comments()]
    const below = (id: string): string[] => all.filter((c) => c.parentCommentId === id).flatMap((c) => [c.id, ...below(c.id)])
    const top = all.find((c) => c.commentType === 'footer' && c.status === 'current' && below(c.id).length >= 2 && below(c.id).some((r) => below(r).length > 0)) as typeof all[number]
    expect(top).toBeDefined()
    sim.data.mutate({ op: 'delete', id: top.id })
    const after = new Map([...sim.data.comments()].map((c) => [c.id, c.status]))
    expect([top.id, ...below(top.id)].map((id) => after.get(id))).toEqual([top.id, ...below(top.id)].map(() => 'trashed'))
    expect((await confluence(sim, admin, 'GET', `/wiki/api/v2/footer-comments/${top.id}/children`)).status).toBe(404)
    expect(() => sim.data.mutate({ op: 'edit', id: below(top.id)[0] })).toThrow(/only deleted or purged/)
  })
})
