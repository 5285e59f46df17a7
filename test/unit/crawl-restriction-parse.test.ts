// The crawl's restriction reader fails closed on every answer it cannot read completely and exactly: a
// restriction answer (v1 byOperation/read) is usable only when it names every principal it lists. Before
// (issue 23): an absent `restrictions` object or list and a user without `accountId` read as "no
// restriction" (the item was opened to the space), and a null entry threw a TypeError that failed the job.
// The property feeds bodies generated from the vendored v1 spec's schema (optional fields absent, nullable
// ones null, extra fields) and asserts the reader never throws and never names a principal the answer does
// not name, and that an answer with any entry it cannot name is never read as "no restriction".
import fc from 'fast-check'
import v1 from 'confluence-cloud-simulator/contracts/confluence-v1.openapi.json'
import { composeAcl, canRead, spaceClause, type Layer } from '../../src/crawl/acl'
import { parseRestrictionPage, RestrictionReader } from '../../src/crawl/layers'
import { UpstreamNotFoundError } from '../../src/errors/errors'
import { responseSchema, specBodies, type Schema } from '../helpers/spec-arbitrary'

const doc = v1 as unknown as Schema
const schema = responseSchema(doc, '/wiki/rest/api/content/{id}/restriction/byOperation/{operationKey}', 'get') as Schema

const user = (accountId: unknown): unknown => ({ type: 'known', accountId })
const group = (id: unknown): unknown => ({ type: 'group', name: 'n', id })
const answer = (users: unknown, groups: unknown): unknown => ({
  operation: 'read', _expandable: {}, _links: {},
  restrictions: { user: { results: users, start: 0, limit: 100, size: 0 }, group: { results: groups, start: 0, limit: 100, size: 0 } }
})

/** A reader whose upstream (the engine's call, as the crawl gets it) answers `bodies` in turn. */
function readerOf (bodies: unknown[]): RestrictionReader {
  let i = 0
  return new RestrictionReader(async () => ({ status: 200, headers: {}, body: bodies[Math.min(i++, bodies.length - 1)] }) as any)
}

describe('restriction answers are read exactly or fail closed', () => {
  it.each([
    ['no restrictions object', { operation: 'read', _expandable: {}, _links: {} }],
    ['restrictions without the user list', { operation: 'read', _expandable: {}, _links: {}, restrictions: { group: { results: [], start: 0, limit: 100, size: 0 } } }],
    ['restrictions without the group list', { operation: 'read', _expandable: {}, _links: {}, restrictions: { user: { results: [] } } }],
    ['a user entry without accountId', answer([user('a'), { type: 'known', displayName: 'x' }], [])],
    ['a null user entry', answer([null], [])],
    ['a null group entry', answer([], [null])],
    ['a group entry without id', answer([], [{ type: 'group', name: 'g' }])],
    ['a null body', null]
  ])('%s: RESTRICTION_INCOMPLETE, never "no restriction", never a throw', async (_name, body) => {
    expect(parseRestrictionPage(body, 100)).toEqual({ error: 'RESTRICTION_INCOMPLETE' })
    const layer = await readerOf([body]).layer('1')
    expect(layer).toEqual({ id: '1', state: 'error', code: 'RESTRICTION_INCOMPLETE' })
    const { acl } = composeAcl(spaceClause('S', ['a', 'b'], [], ['anonymous-users']), [layer])
    expect(canRead(acl, undefined)).toBe(false)
    expect(canRead(acl, { accountId: 'a', groupIds: new Set() })).toBe(false)
  })

  it('a list that announced more users than it gave (totalSize) is truncated: fails closed', async () => {
    const body = answer([user('a')], []) as any
    body.restrictions.user.totalSize = 3
    expect(await readerOf([body]).layer('1')).toEqual({ id: '1', state: 'error', code: 'RESTRICTION_TRUNCATED' })
  })

  it('a server that pages by a smaller limit than asked is followed to the end', async () => {
    const first = answer([user('a'), user('b')], [group('g')]) as any
    first.restrictions.user.limit = 2
    first.restrictions.group.limit = 2
    const second = answer([user('c')], []) as any
    expect(await readerOf([first, second]).layer('1')).toEqual({ id: '1', state: 'ok', read: { users: ['a', 'b', 'c'], groups: ['g'] } })
  })

  it('a 404 is re-checked: trashed → gone (skipped), still current → fails closed, 404 again → missing', async () => {
    const notFound = (): never => { throw new UpstreamNotFoundError('no') }
    const reader = (recheck: { status: number, body?: unknown }): RestrictionReader => new RestrictionReader(async (req) => {
      if (req.path.includes('/restriction/')) return notFound()
      if (recheck.status !== 200) return notFound()
      return { status: 200, headers: {}, body: recheck.body } as any
    })
    expect(await reader({ status: 200, body: { id: '1', status: 'trashed' } }).layer('1', 'folder')).toEqual({ id: '1', state: 'gone' })
    expect(await reader({ status: 200, body: { id: '1', status: 'current' } }).layer('1', 'page')).toEqual({ id: '1', state: 'error', code: 'RESTRICTION_NOT_FOUND' })
    expect(await reader({ status: 200, body: null }).layer('1', 'page')).toEqual({ id: '1', state: 'error', code: 'RESTRICTION_NOT_FOUND' })
    expect(await reader({ status: 404 }).layer('1', 'page')).toEqual({ id: '1', state: 'missing' })
  })

  it('property: any spec-valid answer is read without a throw, and never names (or opens to) anyone it does not name', async () => {
    const seen = { usable: 0, failedClosed: 0 }
    await fc.assert(fc.asyncProperty(specBodies(doc, schema, { maxDepth: 5, maxItems: 4 }), async (body) => {
      const parsed = parseRestrictionPage(body, 100)
      const layer = await readerOf([body]).layer('1')
      expect(layer.state === 'ok' || (layer.state === 'error' && /^RESTRICTION_/.test(layer.code))).toBe(true)
      if ('error' in parsed) seen.failedClosed++; else seen.usable++
      const r = (body as any)?.restrictions
      const userEntries: unknown[] = Array.isArray(r?.user?.results) ? r.user.results : []
      const groupEntries: unknown[] = Array.isArray(r?.group?.results) ? r.group.results : []
      const namedUsers = new Set(userEntries.map((u: any) => u?.accountId).filter((a) => typeof a === 'string'))
      const namedGroups = new Set(groupEntries.map((g: any) => g?.id).filter((a) => typeof a === 'string'))
      if ('error' in parsed) return true
      // read as usable: both lists were there, and every entry was named
      expect(Array.isArray(r?.user?.results) && Array.isArray(r?.group?.results)).toBe(true)
      expect(parsed.users.length).toBe(userEntries.length)
      expect(parsed.groups.length).toBe(groupEntries.length)
      expect(parsed.users.every((u) => namedUsers.has(u))).toBe(true)
      expect(parsed.groups.every((g) => namedGroups.has(g))).toBe(true)
      // and through the ACL: whoever the answer does not name (directly or by group) reads nothing it restricts
      if (parsed.users.length + parsed.groups.length > 0) {
        const layer: Layer = { id: 'x', state: 'ok', read: { users: parsed.users, groups: parsed.groups } }
        const { acl } = composeAcl(spaceClause('S', [], [], ['anonymous-users']), [layer])
        expect(canRead(acl, { accountId: 'not-named-anywhere', groupIds: new Set(['not-a-named-group']) })).toBe(false)
      }
      return true
    }), { numRuns: 400 })
    // both sides were exercised
    expect(seen.usable).toBeGreaterThan(10)
    expect(seen.failedClosed).toBeGreaterThan(10)
  })
})
