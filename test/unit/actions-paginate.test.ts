import type { PaginationSpec } from '../../src/actions/action-definition'
import {
  BadCursorError, BadNextLinkError, decodeCursor, encodeCursor, linkHeaderNext, nextPage, parseLink, type PageRequest
} from '../../src/actions/paginate'

const cursorSpec: PaginationSpec = { style: 'cursor', limitParam: 'limit', defaultLimit: 25, maxLimit: 250 }
const offsetSpec: PaginationSpec = { style: 'offset', limitParam: 'limit', startParam: 'start', defaultLimit: 50, maxLimit: 200 }
const spaces: PageRequest = { path: '/wiki/api/v2/spaces', query: { limit: 25 } }

describe('next links', () => {
  it('follows v2 _links.next, else the Link header', () => {
    expect(nextPage(cursorSpec, spaces, { _links: { next: '/wiki/api/v2/spaces?cursor=abc&limit=25&keys=A&keys=B' } }, {}))
      .toEqual({ path: '/wiki/api/v2/spaces', query: { cursor: 'abc', limit: '25', keys: ['A', 'B'] } })
    expect(nextPage(cursorSpec, spaces, { results: [] }, { link: '</wiki/api/v2/spaces?cursor=x%2By&limit=25>; rel="next", <https://s.atlassian.net/wiki>; rel="base"' }))
      .toEqual({ path: '/wiki/api/v2/spaces', query: { cursor: 'x+y', limit: '25' } })
    expect(nextPage(cursorSpec, spaces, { results: [], _links: { base: 'https://s' } }, { link: '<https://s.atlassian.net/wiki>; rel="base"' })).toBeUndefined()
  })

  it('reads v1 links relative to the /wiki context and absolute links by their path', () => {
    const search = { path: '/wiki/rest/api/search', query: {} }
    expect(parseLink('/rest/api/search?cql=type%3Dpage&cursor=c1&limit=25', search.path)).toEqual({ path: search.path, query: { cql: 'type=page', cursor: 'c1', limit: '25' } })
    expect(parseLink('https://s.atlassian.net/wiki/rest/api/search?cursor=c2', search.path).query).toEqual({ cursor: 'c2' })
  })

  it('follows a next link past 8,192 characters by its cursor, on the request already sent (issue #24)', () => {
    const cql = `type = page OR title = "${'中'.repeat(1_300)}"`
    const sent = { cql, limit: 25 }
    const link = `/rest/api/search?${new URLSearchParams({ cql, next: 'true', cursor: 'c9', limit: '25' }).toString()}`
    expect(link.length).toBeGreaterThan(8_192)
    expect(parseLink(link, '/wiki/rest/api/search', sent)).toEqual({ path: '/wiki/rest/api/search', query: { cql, next: 'true', cursor: 'c9', limit: '25' } })
    // a long value the request did not have is not taken from the link
    const added = `${link}&extra=${'x'.repeat(2_000)}`
    expect(() => parseLink(added, '/wiki/rest/api/search', sent)).toThrow(BadNextLinkError)
    // no request to follow it on: refused as before
    expect(() => parseLink(link, '/wiki/rest/api/search')).toThrow(BadNextLinkError)
  })

  it('treats nonsense next links as upstream errors', () => {
    for (const bad of [42, '', '/wiki/api/v2/pages?cursor=x', 'http://[::1', '/rest/api/other', 'x'.repeat(9000)]) {
      expect(() => parseLink(bad, '/wiki/api/v2/spaces')).toThrow(BadNextLinkError)
    }
  })

  it('pages offsets by start + limit while Confluence says there is more, keeping the page size', () => {
    const groups: PageRequest = { path: '/wiki/rest/api/group', query: { limit: 200, accessType: 'user' } }
    expect(nextPage(offsetSpec, groups, { start: 0, limit: 200, size: 3, results: [], _links: { next: '/rest/api/group?start=200' } }, {}))
      .toEqual({ path: groups.path, query: { limit: 200, accessType: 'user', start: 200 } })
    expect(nextPage(offsetSpec, groups, { start: 0, limit: 200, size: 10, results: [], totalSize: 450 }, {})?.query.start).toBe(200)
    expect(nextPage(offsetSpec, groups, { start: 400, limit: 200, size: 50, results: [], totalSize: 450 }, {})).toBeUndefined()
    expect(nextPage(offsetSpec, groups, { start: 0, size: 0, results: [], _links: {} }, {})).toBeUndefined()
  })

  it('parses Link headers with several relations', () => {
    expect(linkHeaderNext('<https://b>; rel="base", </n?c=1>; rel="next"')).toBe('/n?c=1')
    expect(linkHeaderNext('</n?c=1>; rel="prev next"')).toBe('/n?c=1')
    expect(linkHeaderNext('</n?c=1>; rel="nextish"')).toBeUndefined()
  })
})

describe('client cursors', () => {
  const page: PageRequest = { path: '/wiki/api/v2/spaces', query: { cursor: 'up', limit: 25, status: ['current', 'archived'] } }

  it('round-trips a page and a position', () => {
    const c = encodeCursor({ page, skip: 3 })
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(c, page.path, cursorSpec)).toEqual({ page, skip: 3 })
  })

  it('rejects cursors it did not issue', () => {
    const forge = (payload: unknown): string => Buffer.from(JSON.stringify(payload)).toString('base64url')
    const bad = [
      'not base64!', 'aGVsbG8', forge({ p: '/wiki/api/v2/pages', q: { limit: 25 } }), forge({ p: page.path, q: { limit: 9999 } }),
      forge({ p: page.path, q: { limit: 25, cursor: { nested: 1 } } }), forge({ p: page.path, q: { limit: 25 }, s: 25 }), forge({ p: page.path, q: [] }), forge(null)
    ]
    for (const c of bad) expect(() => decodeCursor(c, page.path, cursorSpec)).toThrow(BadCursorError)
  })
})
