// The engine's mechanics against an in-memory fake of the ConfluenceClient seam (no I/O): meta, connection
// errors, pagination safety, retries, for the real catalogue in actions/. What each action sends and answers
// is in its cases (actions/<id>.cases.json, run by actions-cases.test.ts).
import { createActionRegistry } from '../../src/actions/action-registry'
import { createActionEngine, type ActionEngine } from '../../src/actions/execute-action'
import { loadActions } from '../../src/actions/load-actions'
import { decodeCursor } from '../../src/actions/paginate'
import type { ConfluenceClient, ConfluenceRequest, ConfluenceResponse } from '../../src/confluence/types'
import type { ConnectionResolver, ResolvedConnection } from '../../src/connections/types'
import { AppError } from '../../src/errors/app-error'
import {
  ConnectionNotFoundError, UpstreamNotFoundError, UpstreamRateLimitedError, UpstreamUnavailableError
} from '../../src/errors/errors'

const SITE = { cloudId: 'cloud-1', url: 'https://acme.atlassian.net' }
const registry = createActionRegistry(loadActions('actions'))

type Route = (req: ConfluenceRequest, n: number) => Partial<ConfluenceResponse> | Error
interface Fake { engine: ActionEngine, calls: ConfluenceRequest[], sleeps: number[] }

function fake (routes: Record<string, Route>, connection: Partial<ResolvedConnection> = {}, config = { syncRetryAfterMaxSeconds: 5, validateOutput: true }): Fake {
  const calls: ConfluenceRequest[] = []
  const counts = new Map<string, number>()
  const client: ConfluenceClient = {
    call: async (_alias, req) => {
      calls.push(req)
      const key = `${req.method} ${req.path}`
      const route = routes[key]
      if (route === undefined) throw new Error(`unexpected ${key}`)
      const n = (counts.get(key) ?? 0) + 1
      counts.set(key, n)
      const out = route(req, n)
      if (out instanceof Error) throw out
      return { status: 200, headers: {}, body: undefined, url: `https://gw${req.path}`, ...out }
    },
    site: async () => SITE
  }
  const connections: ConnectionResolver = {
    resolve: async (requested = 'confluence_cloud') => {
      if (requested === 'missing') throw new ConnectionNotFoundError('No connection "missing"')
      return {
        requested,
        resolved: requested === 'confluence_cloud' ? 'acme_prod' : requested,
        managedGroups: [{ groupId: 'g-managed', name: 'confluence-users' }],
        retryPolicy: { strategy: 'retry_after', maxAttempts: 3, maxElapsedSeconds: 60 },
        scopes: [],
        ...connection
      }
    }
  }
  const sleeps: number[] = []
  const engine = createActionEngine({
    registry, client, connections, config, sleep: async (ms) => { sleeps.push(ms) }, random: () => 0.5
  })
  return { engine, calls, sleeps }
}

const run = (f: Fake, actionId: string, input: unknown, connection?: string) =>
  f.engine.execute({ actionId, input, connection, requestId: 'req-1' })

async function failure (p: Promise<unknown>): Promise<AppError> {
  try { await p } catch (err) { if (err instanceof AppError) return err; throw err }
  throw new Error('expected a failure')
}

const v2Page = (id: number) => ({
  id: String(id), title: `Page ${id}`, spaceId: '77', status: 'current', version: { number: 3 },
  body: { storage: { representation: 'storage', value: `<p>${id}</p>` } },
  _links: { webui: `/spaces/ENG/pages/${id}/Page+${id}` }
})

describe('catalogue', () => {
  it('loads every action with compiled schemas', () => {
    expect(registry.list().map(a => a.id)).toEqual([
      'confluence.attachment.download', 'confluence.attachment.upload', 'confluence.blogpost.get', 'confluence.content.crawl', 'confluence.content.search', 'confluence.group.list', 'confluence.group.member.add', 'confluence.group.member.remove',
      'confluence.group.members.bulk', 'confluence.group.members', 'confluence.license.reclaim', 'confluence.license.usage',
      'confluence.page.get', 'confluence.page.list', 'confluence.privacy.report', 'confluence.site.list', 'confluence.space.list',
      'confluence.user.current', 'confluence.user.get', 'confluence.user.groups'
    ])
    expect(() => registry.get('confluence.nope')).toThrow(expect.objectContaining({ code: 'ACTION_NOT_FOUND' }))
  })
})

describe('execute: meta and connections', () => {
  it('answers the output with meta: action, version, requested and resolved alias, attempts, request id', async () => {
    const f = fake({ 'GET /wiki/api/v2/pages/123': () => ({ body: v2Page(123) }) })
    const res = await run(f, 'confluence.page.get', { pageId: '123' })
    expect(res.output).toMatchObject({ id: '123', body: { format: 'storage' } })
    expect(res.meta).toMatchObject({ action: 'confluence.page.get', actionVersion: '1.0.0', connection: { requested: 'confluence_cloud', resolved: 'acme_prod' }, attempts: 1, requestId: 'req-1' })
    expect(res.meta.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('passes upstream AppErrors through and names the connection errors', async () => {
    const f = fake({ 'GET /wiki/api/v2/pages/9': () => new UpstreamNotFoundError('gone') })
    expect(await failure(run(f, 'confluence.page.get', { pageId: '9' }))).toMatchObject({ code: 'UPSTREAM_NOT_FOUND', retryable: false })
    expect(await failure(run(f, 'confluence.page.get', { pageId: '9' }, 'missing'))).toMatchObject({ code: 'CONNECTION_NOT_FOUND' })
  })

  it('lists each input error with a message, calling nothing', async () => {
    const f = fake({})
    const err = await failure(run(f, 'confluence.page.get', { pageId: 12, bodyFormat: 'pdf', extra: 1 }))
    expect(err).toMatchObject({ code: 'INPUT_INVALID', statusCode: 400, retryable: false })
    for (const e of err.errors as Array<{ message: unknown }>) expect(typeof e.message).toBe('string')
    expect(f.calls).toHaveLength(0)
  })

  it('never coerces types (a numeric string stays invalid) and applies defaults', () => {
    expect(() => fake({}).engine.validateInput('confluence.group.list', { limit: '5' })).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }))
    expect(fake({}).engine.validateInput('confluence.group.list', {})).toEqual({ all: false, maxResults: 1000 })
  })
})

describe('execute: pagination', () => {
  // A v2 space list of `total` spaces served `limit` per page, with an optional twist per page number.
  function spaces (total: number, twist: (n: number, body: Record<string, unknown>) => void = () => {}): Route {
    return (req, n) => {
      const limit = Number(req.query!.limit)
      const at = req.query!.cursor === undefined ? 0 : Number(String(req.query!.cursor).slice(1))
      const ids = Array.from({ length: Math.max(0, Math.min(limit, total - at)) }, (_, i) => at + i + 1)
      const body: Record<string, unknown> = {
        results: ids.map(i => ({ id: String(i), key: `K${i}`, name: `S${i}`, type: 'global', status: 'current', _links: { webui: `/spaces/K${i}` } })),
        _links: at + limit < total ? { next: `/wiki/api/v2/spaces?cursor=c${at + limit}&limit=${limit}` } : {}
      }
      twist(n, body)
      return { body }
    }
  }

  it('returns one page with an opaque nextCursor, and resumes from it', async () => {
    const f = fake({ 'GET /wiki/api/v2/spaces': spaces(5) })
    const first = await run(f, 'confluence.space.list', { limit: 2, status: 'current' }) as { output: { results: Array<{ id: string, url: string }>, nextCursor: string } }
    expect(f.calls[0].query).toEqual({ limit: 2, status: 'current' })
    expect(first.output.results.map(r => r.id)).toEqual(['1', '2'])
    expect(first.output.results[0].url).toBe('https://acme.atlassian.net/wiki/spaces/K1')
    expect(first.output.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/)
    // The page size travels with the cursor: a different limit on resume does not change it.
    const second = await run(f, 'confluence.space.list', { cursor: first.output.nextCursor, limit: 50 }) as { output: { results: Array<{ id: string }>, nextCursor: string } }
    expect(f.calls[1].query).toEqual({ cursor: 'c2', limit: '2' })
    expect(second.output.results.map(r => r.id)).toEqual(['3', '4'])
  })

  it('all: true walks every page and stops at maxResults with an exact resume point', async () => {
    const f = fake({ 'GET /wiki/api/v2/spaces': spaces(10) })
    const all = await run(f, 'confluence.space.list', { all: true, limit: 3 }) as { output: { results: unknown[], nextCursor?: string } }
    expect(all.output.results).toHaveLength(10)
    expect(all.output.nextCursor).toBeUndefined()
    expect(f.calls.map(c => c.query!.limit)).toEqual([3, '3', '3', '3'])

    const capped = await run(f, 'confluence.space.list', { all: true, limit: 3, maxResults: 4 }) as { output: { results: Array<{ id: string }>, nextCursor: string } }
    expect(capped.output.results.map(r => r.id)).toEqual(['1', '2', '3', '4'])
    expect(decodeCursor(capped.output.nextCursor, '/wiki/api/v2/spaces', registry.get('confluence.space.list').pagination!).skip).toBe(1)
    const rest = await run(f, 'confluence.space.list', { cursor: capped.output.nextCursor, all: true }) as { output: { results: Array<{ id: string }> } }
    expect(rest.output.results.map(r => r.id)).toEqual(['5', '6', '7', '8', '9', '10'])
  })

  it('uses the largest page size for all: true without a limit', async () => {
    const f = fake({ 'GET /wiki/api/v2/spaces': spaces(1) })
    await run(f, 'confluence.space.list', { all: true })
    expect(f.calls[0].query!.limit).toBe(250)
  })

  it('tolerates permission-filtered empty pages', async () => {
    const f = fake({ 'GET /wiki/api/v2/spaces': spaces(6, (n, body) => { if (n === 2) body.results = [] }) })
    const res = await run(f, 'confluence.space.list', { all: true, limit: 2 }) as { output: { results: Array<{ id: string }> } }
    expect(res.output.results.map(r => r.id)).toEqual(['1', '2', '5', '6'])
  })

  it('stops with an upstream error when a cursor repeats, instead of looping', async () => {
    const f = fake({ 'GET /wiki/api/v2/spaces': spaces(10, (n, body) => { if (n >= 2) body._links = { next: '/wiki/api/v2/spaces?cursor=c2&limit=2' } }) })
    expect(await failure(run(f, 'confluence.space.list', { all: true, limit: 2 }))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', statusCode: 502 })
    expect(f.calls.length).toBeLessThanOrEqual(3)
    const g = fake({ 'GET /wiki/api/v2/spaces': () => ({ body: { results: [], _links: { next: '/wiki/api/v2/spaces?limit=25' } } }) })
    expect(await failure(run(g, 'confluence.space.list', {}))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' })
  })

  it('answers a nonsense next link with 502, not a crash', async () => {
    for (const next of ['/wiki/api/v2/pages?cursor=x', 17, 'http://[bad']) {
      const f = fake({ 'GET /wiki/api/v2/spaces': () => ({ body: { results: [], _links: { next } } }) })
      expect(await failure(run(f, 'confluence.space.list', {}))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: false })
    }
  })

  it('rejects a cursor from another action or a forged one as INPUT_INVALID', async () => {
    const f = fake({ 'GET /wiki/api/v2/spaces': spaces(5), 'GET /wiki/api/v2/spaces/77/pages': () => ({ body: { results: [] } }) })
    const { output } = await run(f, 'confluence.space.list', { limit: 2 }) as { output: { nextCursor: string } }
    const err = await failure(run(f, 'confluence.page.list', { spaceId: '77', cursor: output.nextCursor }))
    expect(err).toMatchObject({ code: 'INPUT_INVALID', errors: [expect.objectContaining({ path: '/cursor' })] })
    expect(await failure(run(f, 'confluence.space.list', { cursor: 'garbage' }))).toMatchObject({ code: 'INPUT_INVALID' })
  })

  it('searches with safe CQL and maps search results', async () => {
    const f = fake({
      'GET /wiki/rest/api/search': (req) => ({
        body: req.query!.cursor !== undefined ? { results: [], start: 25, limit: 25, size: 0, totalSize: 1, cqlQuery: 'x', searchDuration: 1, _links: {} } : {
          results: [{ content: { id: '5', type: 'page', space: { key: 'ENG' } }, title: 'Plan', excerpt: 'the plan', url: '/spaces/ENG/pages/5/Plan', lastModified: '2026-01-02T03:04:05.000Z', entityType: 'content' }],
          start: 0, limit: 25, size: 1, totalSize: 1, cqlQuery: 'x', searchDuration: 1,
          _links: { next: '/rest/api/search?cql=x&cursor=n1&limit=25&next=true', base: 'https://acme.atlassian.net/wiki', context: '/wiki' }
        }
      })
    })
    const res = await run(f, 'confluence.content.search', { text: 'say "hi"', spaceKeys: ['ENG'], types: ['page'] }) as { output: { results: unknown[], nextCursor: string } }
    expect(f.calls[0].query).toEqual({ cql: 'text ~ "say \\\\\\"hi\\\\\\"" AND space IN ("ENG") AND type IN ("page")', expand: 'content.space', excerpt: 'indexed', limit: 25 })
    expect(res.output.results).toEqual([{ id: '5', type: 'page', title: 'Plan', spaceKey: 'ENG', url: 'https://acme.atlassian.net/wiki/spaces/ENG/pages/5/Plan', excerpt: 'the plan', lastModified: '2026-01-02T03:04:05.000Z' }])
    await run(f, 'confluence.content.search', { text: 'x', cursor: res.output.nextCursor })
    expect(f.calls[1]).toMatchObject({ path: '/wiki/rest/api/search', query: { cql: 'x', cursor: 'n1', limit: '25', next: 'true' } })
  })
})

describe('execute: retries', () => {
  it('waits out a short Retry-After and retries', async () => {
    const f = fake({ 'GET /wiki/api/v2/pages/1': (_r, n) => n === 1 ? new UpstreamRateLimitedError('slow down', { retryAfter: 2 }) : { body: v2Page(1) } })
    const res = await run(f, 'confluence.page.get', { pageId: '1' })
    expect(res.meta.attempts).toBe(2)
    expect(f.sleeps).toEqual([2200])
  })

  it('answers 429 with Retry-After when the wait is too long (or not given)', async () => {
    const f = fake({ 'GET /wiki/api/v2/pages/1': () => new UpstreamRateLimitedError('slow down', { retryAfter: 60 }) })
    expect(await failure(run(f, 'confluence.page.get', { pageId: '1' }))).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', statusCode: 429, retryAfter: 60, retryable: true })
    const g = fake({ 'GET /wiki/api/v2/pages/1': () => new UpstreamRateLimitedError('slow down') })
    expect(await failure(run(g, 'confluence.page.get', { pageId: '1' }))).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' })
    expect(f.calls).toHaveLength(1)
    expect(g.calls).toHaveLength(1)
  })

  it('retries 5xx with jittered backoff, bounded by the connection policy', async () => {
    const f = fake({ 'GET /wiki/api/v2/pages/1': () => new UpstreamUnavailableError('boom', { retryable: true }) })
    expect(await failure(run(f, 'confluence.page.get', { pageId: '1' }))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', statusCode: 502, retryable: true })
    expect(f.calls).toHaveLength(3)
    expect(f.sleeps).toEqual([250, 500])
  })
})
