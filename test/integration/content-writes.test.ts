// Content writes against the Confluence simulator over real HTTP and a real Redis, as users would make them:
// create → update with the version read → update with a stale version (409, nothing changed) → comment → label
// → delete, in sync and in async mode; 50 concurrent identical creates with one Idempotency-Key make one page;
// a write into an unmanaged space is refused before any upstream request; dryRun sends nothing; a title taken
// answers TITLE_TAKEN with the existing id (or returns / updates it); a Markdown document with every element
// is stored by the simulator (which refuses malformed storage); the audit line names key, alias, space, id.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startSimulator, writesOf, type Simulator, type SiteWrites } from 'confluence-cloud-simulator'
import { keyFingerprint } from '../../src/lib/api-keys'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { submit, waitForJob } from '../helpers/jobs'

let sim: Simulator
let t: TestSpoke
let writes: SiteWrites
let managed: { id: string, key: string, homepageId: string | null }
let other: { id: string, key: string, homepageId: string | null }

beforeAll(async () => {
  sim = await startSimulator({ seed: 'content-writes', size: { pages: 60, spaces: 3, users: 20 } })
  t = await buildTestSpoke(simulatorEnv(sim), { workers: true })
  const spaces = sim.data.spaces().filter(s => s.homepageId !== null)
  managed = spaces[0]
  other = spaces[1]
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', doc: { managedSpaces: [{ spaceId: managed.id, key: managed.key }] } })
  writes = writesOf(sim.state.sites.get(sim.defaultCloudId)!)
})
afterAll(() => closeCheckingContract(sim, t))

interface Answer { status: number, body: any, meta?: any }

/** One execute in sync mode, or in async mode through a job (the answer is the job's result or error). */
async function run (mode: 'sync' | 'async', action: string, input: unknown, headers?: Record<string, string>): Promise<Answer> {
  if (mode === 'sync') {
    const res = await http(t, 'POST', `/v1/actions/${action}/execute`, { key: t.keys.invoker, body: { input, mode: 'sync' }, headers })
    const body = res.json()
    return { status: res.status, body: res.status === 200 ? body.output : body, meta: body.meta }
  }
  const res = await submit(t, action, { input }, { headers })
  if (res.status !== 202) return { status: res.status, body: res.json() }
  const job = await waitForJob(t, res.json().jobId)
  // a failed job's error carries the code, not the HTTP status
  return job.state === 'completed' ? { status: 200, body: job.result } : { status: -1, body: job.error }
}

const storage = (value: string): { format: string, value: string } => ({ format: 'storage', value })
const current = (id: string) => writes.doc(id)!

describe.each(['sync', 'async'] as const)('as users would (%s)', (mode) => {
  it('create → update with the right version → stale update (409, nothing changed) → comment → label → delete', async () => {
    const title = `Runbook ${mode}`
    const created = await run(mode, 'confluence.page.create', { spaceId: managed.id, title, body: { format: 'markdown', value: '# Runbook\n\nStep **one**.' } })
    expect(created).toMatchObject({ status: 200, body: { title, spaceId: managed.id, version: 1, result: 'created', dryRun: false } })
    const id = created.body.id as string
    expect(current(id).storage).toBe('<h1>Runbook</h1>\n<p>Step <strong>one</strong>.</p>')

    const updated = await run(mode, 'confluence.page.update', { pageId: id, expectedVersion: 1, body: storage('<p>two</p>') })
    expect(updated).toMatchObject({ status: 200, body: { id, version: 2, result: 'updated' } })
    if (mode === 'sync') expect(updated.meta.write).toEqual({ versionFrom: 'expectedVersion', baseVersion: 1 })

    const stale = await run(mode, 'confluence.page.update', { pageId: id, expectedVersion: 1, body: storage('<p>lost</p>') })
    expect(stale.body.code).toBe('VERSION_CONFLICT')
    if (mode === 'sync') expect(stale.status).toBe(409)
    if (mode === 'sync') expect(stale.body.errors[0]).toMatchObject({ contentId: id, currentVersion: 2, changedBy: expect.any(String), expectedVersion: 1 })
    expect(current(id)).toMatchObject({ version: 2, storage: '<p>two</p>' })

    const comment = await run(mode, 'confluence.comment.create', { pageId: id, body: { format: 'markdown', value: 'Looks *good*' } })
    expect(comment).toMatchObject({ status: 200, body: { pageId: id, spaceId: managed.id, dryRun: false } })
    const reply = await run(mode, 'confluence.comment.create', { parentCommentId: comment.body.id, body: storage('<p>thanks</p>') })
    expect(reply).toMatchObject({ status: 200, body: { parentCommentId: comment.body.id, spaceId: managed.id } })
    expect(writes.comments.get(comment.body.id)?.storage).toBe('<p>Looks <em>good</em></p>')

    const labelled = await run(mode, 'confluence.label.add', { contentId: id, labels: ['runbook', 'ops'] })
    expect(labelled.body).toMatchObject({ added: ['runbook', 'ops'], labels: ['ops', 'runbook'], changed: true })
    expect((await run(mode, 'confluence.label.add', { contentId: id, labels: ['ops'] })).body).toMatchObject({ added: [], changed: false })
    expect((await run(mode, 'confluence.label.remove', { contentId: id, labels: ['ops'] })).body).toMatchObject({ removed: ['ops'], labels: ['runbook'], changed: true })
    expect(current(id).labels).toEqual(['runbook'])

    const deleted = await run(mode, 'confluence.page.delete', { pageId: id })
    expect(deleted.body).toMatchObject({ id, status: 'trashed', changed: true })
    expect(current(id).status).toBe('trashed')
    const purged = await run(mode, 'confluence.page.delete', { pageId: id, purge: true })
    expect(purged.body).toMatchObject({ status: 'purged', changed: true })
    expect(current(id).status).toBe('deleted')
  })

  it('blog posts: create, update without expectedVersion (the spoke reads it and says so)', async () => {
    const created = await run(mode, 'confluence.blogpost.create', { spaceId: managed.id, title: `News ${mode}`, body: storage('<p>n</p>') })
    expect(created.body).toMatchObject({ version: 1, result: 'created' })
    const updated = await run(mode, 'confluence.blogpost.update', { blogPostId: created.body.id, title: `News ${mode} 2` })
    expect(updated.body).toMatchObject({ version: 2, title: `News ${mode} 2` })
    if (mode === 'sync') expect(updated.meta.write).toEqual({ versionFrom: 'read', baseVersion: 1 })
    expect(current(created.body.id).storage).toBe('<p>n</p>')
  })
})

it('50 concurrent identical creates with one Idempotency-Key make one page', async () => {
  const before = sim.counters().byOperation.createPage ?? 0
  const input = { spaceId: managed.id, title: 'Exactly once', body: storage('<p>once</p>') }
  const answers = await Promise.all(Array.from({ length: 50 }, () =>
    http(t, 'POST', '/v1/actions/confluence.page.create/execute', { key: t.keys.invoker, body: { input, mode: 'sync' }, headers: { 'idempotency-key': 'create-once-1' } })))
  expect(answers.map(a => a.status)).toEqual(Array(50).fill(200))
  const ids = new Set(answers.map(a => a.json().output.id))
  expect(ids.size).toBe(1)
  expect((sim.counters().byOperation.createPage ?? 0) - before).toBe(1)
  expect([...writes.docs.values()].filter(d => d.title === 'Exactly once')).toHaveLength(1)
  expect(answers.filter(a => a.headers['idempotent-replayed'] === 'true')).toHaveLength(49)
})

it('a write into an unmanaged space is refused before any upstream request; dryRun sends nothing', async () => {
  sim.reset()
  const refused = await run('sync', 'confluence.page.create', { spaceId: other.id, title: 'Nope', body: storage('<p>x</p>') })
  expect(refused).toMatchObject({ status: 403, body: { code: 'SPACE_NOT_MANAGED' } })
  const dry = await run('sync', 'confluence.page.create', { spaceId: managed.id, title: 'Dry', body: { format: 'markdown', value: '| a |\n|---|\n| b |' }, dryRun: true })
  expect(dry.body).toMatchObject({ dryRun: true, request: { operation: 'createPage', method: 'POST', path: '/wiki/api/v2/pages', body: { spaceId: managed.id, title: 'Dry' } } })
  expect(sim.counters().requests).toBe(0)
  // in async mode the refusal comes before the job is queued
  const queued = await submit(t, 'confluence.page.create', { input: { spaceId: other.id, title: 'Nope', body: storage('<p>x</p>') } })
  expect(queued.status).toBe(403)
  expect(sim.counters().requests).toBe(0)

  // updates, comments and labels read their target for its space, and write nothing outside the managed spaces
  const page = other.homepageId!
  for (const [action, input] of [
    ['confluence.page.update', { pageId: page, body: storage('<p>x</p>') }],
    ['confluence.comment.create', { pageId: page, body: storage('<p>x</p>') }],
    ['confluence.label.add', { contentId: page, labels: ['x'] }],
    ['confluence.page.delete', { pageId: page }]
  ] as const) {
    expect((await run('sync', action, input)).body.code).toBe('SPACE_NOT_MANAGED')
  }
  const ops = sim.counters().byOperation
  expect(Object.keys(ops).filter(op => !op.startsWith('get'))).toEqual([])
})

it('a title the space has: TITLE_TAKEN with the existing id, or ifExists return / update', async () => {
  const first = await run('sync', 'confluence.page.create', { spaceId: managed.id, title: 'Taken', body: storage('<p>1</p>') })
  const id = first.body.id as string
  const taken = await run('sync', 'confluence.page.create', { spaceId: managed.id, title: 'Taken', body: storage('<p>2</p>') })
  expect(taken).toMatchObject({ status: 409, body: { code: 'TITLE_TAKEN', errors: [{ existingId: id, spaceId: managed.id, title: 'Taken' }] } })
  const returned = await run('sync', 'confluence.page.create', { spaceId: managed.id, title: 'Taken', body: storage('<p>2</p>'), ifExists: 'return' })
  expect(returned.body).toMatchObject({ id, result: 'existing', version: 1 })
  expect(current(id).storage).toBe('<p>1</p>')
  const updated = await run('sync', 'confluence.page.create', { spaceId: managed.id, title: 'Taken', body: storage('<p>2</p>'), ifExists: 'update' })
  expect(updated.body).toMatchObject({ id, result: 'updated', version: 2 })
  expect(current(id).storage).toBe('<p>2</p>')
})

it('a Markdown document with every element renders to storage the simulator accepts and stores', async () => {
  const markdown = readFileSync(join(__dirname, '../fixtures/markdown/every-element.md'), 'utf8')
  const created = await run('sync', 'confluence.page.create', { spaceId: managed.id, title: 'Every element', body: { format: 'markdown', value: markdown } })
  expect(created.status).toBe(200)
  const stored = current(created.body.id).storage
  for (const part of ['<h1>', '<h6>', '<ul>', '<ol>', '<table>', '<th', '<a href="https://example.com/docs?a=1&amp;b=2">', '<ac:image ac:alt="diagram"><ri:url ri:value="https://example.com/diagram.png" /></ac:image>',
    '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">js</ac:parameter>', ']]]]><![CDATA[>', '<blockquote>', '<hr />', '<s>', '<code>', '&lt;script&gt;']) {
    expect(stored).toContain(part)
  }
  expect(stored).not.toMatch(/<(script|div|iframe|img)\b|<[^>]*onerror/)
})

it('the audit line names the key, the alias, the space and the content id', async () => {
  const created = await run('sync', 'confluence.page.create', { spaceId: managed.id, title: 'Audited', body: storage('<p>a</p>') })
  const line = t.logs().split('\n').filter(Boolean).map(l => JSON.parse(l)).find(l => l.audit === 'page created' && l.contentId === created.body.id)
  expect(line).toMatchObject({ key: keyFingerprint(t.keys.invoker), alias: 'confluence_cloud', space: managed.id, contentId: created.body.id, action: 'confluence.page.create' })
})

it('a create resumed after a crash makes no second page (its intent and id are in the job checkpoint)', async () => {
  const checkpoint = (saved: Record<string, string>): { load: () => Promise<Map<string, string>>, save: (f: string, v: string) => Promise<void>, fields: Map<string, string> } => {
    const fields = new Map(Object.entries(saved))
    return { fields, load: async () => new Map(fields), save: async (f, v) => { fields.set(f, v) } }
  }
  const input = { spaceId: managed.id, title: 'Crash-safe', body: storage('<p>c</p>') }
  const execute = (cp: ReturnType<typeof checkpoint>): Promise<any> =>
    t.core.engine.execute({ actionId: 'confluence.page.create', input, requestId: 'crash-test', job: { jobId: 'crash-job', finalAttempt: false, checkpoint: cp } })

  // The first attempt posts the page and saves its id.
  const first = checkpoint({})
  const created = (await execute(first)).output
  expect(first.fields.get('create')).toBe(created.id)

  // A crash right after the POST, before the id was saved: the resumed attempt finds its own page by title.
  sim.reset()
  const afterPost = checkpoint({ create: 'pending' })
  expect((await execute(afterPost)).output).toMatchObject({ id: created.id, result: 'created' })
  expect(afterPost.fields.get('create')).toBe(created.id)

  // A crash after the id was saved: the resumed attempt only reads the page.
  const afterSave = checkpoint({ create: created.id })
  expect((await execute(afterSave)).output).toMatchObject({ id: created.id, result: 'created' })
  expect(sim.counters().byOperationStatus.createPage).toEqual({ 400: 1 })
  expect([...writes.docs.values()].filter(d => d.title === 'Crash-safe')).toHaveLength(1)
})

it('a blog post create resumed after a crash after its POST finds its own post by title and posts nothing', async () => {
  const fields = new Map<string, string>()
  const checkpoint = { load: async () => new Map(fields), save: async (f: string, v: string) => { fields.set(f, v) } }
  const input = { spaceId: managed.id, title: 'Crash-safe post', body: storage('<p>c</p>') }
  const execute = (): Promise<any> => t.core.engine.execute({ actionId: 'confluence.blogpost.create', input, requestId: 'crash-post', job: { jobId: 'crash-post', finalAttempt: false, checkpoint } })
  const created = (await execute()).output
  fields.set('create', 'pending') // as if the attempt crashed before saving the id
  sim.reset()
  expect((await execute()).output).toMatchObject({ id: created.id, result: 'created' })
  expect(sim.counters().byOperation.createBlogPost).toBeUndefined()
  expect([...writes.docs.values()].filter(d => d.title === 'Crash-safe post')).toHaveLength(1)
})
