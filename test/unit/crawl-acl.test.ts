import fc from 'fast-check'
import { aclHash, canRead, composeAcl, spaceClause, type Layer, type Subject } from '../../src/crawl/acl'

const subject = (accountId: string, groups: string[] = [], accountType = 'atlassian'): Subject => ({ accountId, groupIds: new Set(groups), accountType })

describe('crawl acl: space AND own AND every ancestor', () => {
  const space = spaceClause('S', [], ['g-all'], [])
  const alice = subject('alice', ['g-all', 'X'])
  const bob = subject('bob', ['g-all'])
  const carol = subject('carol', ['g-all', 'X'])
  const outsider = subject('dave', ['X'])

  it('parent restricted to group X, child to {alice, bob}: alice yes, bob no, carol no', () => {
    const { acl } = composeAcl(space, [
      { id: 'child', state: 'ok', read: { users: ['alice', 'bob'], groups: [] } },
      { id: 'parent', state: 'ok', read: { users: [], groups: ['X'] } }
    ])
    expect(acl.allOf.map((c) => c.sourceId)).toEqual(['S', 'child', 'parent'])
    expect([alice, bob, carol].map((s) => canRead(acl, s))).toEqual([true, false, false])
  })

  it('named by every restriction but without the space grant: no', () => {
    const { acl } = composeAcl(space, [{ id: 'p', state: 'ok', read: { users: ['dave'], groups: [] } }])
    expect(canRead(acl, outsider)).toBe(false)
  })

  it('an empty restriction inherits; an ancestor proven trashed (gone) is skipped', () => {
    const { acl, error } = composeAcl(space, [{ id: 'p', state: 'ok', read: { users: [], groups: [] } }, { id: 'gone', state: 'gone' }])
    expect(error).toBeUndefined()
    expect(acl.allOf).toHaveLength(1)
    expect(canRead(acl, bob)).toBe(true)
  })

  it('a 404 nothing explained (missing) fails closed, like an error: never "no restriction"', () => {
    const { acl, error } = composeAcl(space, [{ id: 'p', state: 'missing' }, { id: 'a', state: 'ok', read: { users: [], groups: [] } }])
    expect(error).toEqual({ layerId: 'p', code: 'UPSTREAM_NOT_FOUND' })
    expect([alice, bob, carol].some((s) => canRead(acl, s))).toBe(false)
  })

  it('an unreadable layer (403, 5xx) admits nobody and reports the error: fail closed', () => {
    const { acl, error } = composeAcl(space, [{ id: 'p', state: 'ok', read: { users: ['alice'], groups: [] } }, { id: 'a', state: 'error', code: 'UPSTREAM_FORBIDDEN' }])
    expect(error).toEqual({ layerId: 'a', code: 'UPSTREAM_FORBIDDEN' })
    expect([alice, bob, carol].some((s) => canRead(acl, s))).toBe(false)
  })

  it('access classes: anonymous admits anyone, all-licensed-users only human accounts', () => {
    const open = composeAcl(spaceClause('S', [], [], ['anonymous-users']), []).acl
    const licensed = composeAcl(spaceClause('S', [], [], ['all-licensed-users']), []).acl
    expect(canRead(open, undefined)).toBe(true)
    expect(canRead(licensed, undefined)).toBe(false)
    expect(canRead(licensed, subject('app', [], 'app'))).toBe(false)
    expect(canRead(licensed, bob)).toBe(true)
  })

  it('the hash is stable and changes with the principals', () => {
    const a = composeAcl(space, [{ id: 'p', state: 'ok', read: { users: ['b', 'a'], groups: [] } }]).acl
    const b = composeAcl(space, [{ id: 'p', state: 'ok', read: { users: ['a', 'b'], groups: [] } }]).acl
    const c = composeAcl(space, [{ id: 'p', state: 'ok', read: { users: ['a'], groups: [] } }]).acl
    expect(aclHash(a)).toBe(aclHash(b))
    expect(aclHash(a)).not.toBe(aclHash(c))
  })

  it('property: canRead(composeAcl) = in the space, no layer missing or unreadable, and listed by every non-empty one', () => {
    const ids = ['u1', 'u2', 'u3', 'u4']
    const groups = ['g1', 'g2', 'g3']
    const restriction = fc.record({ users: fc.subarray(ids), groups: fc.subarray(groups) })
    const layer: fc.Arbitrary<Layer> = fc.oneof(
      fc.record({ id: fc.constant('l'), state: fc.constant('ok' as const), read: restriction }),
      fc.constant({ id: 'g', state: 'gone' as const }),
      fc.constant({ id: 'm', state: 'missing' as const }),
      fc.constant({ id: 'e', state: 'error' as const, code: 'UPSTREAM_UNAVAILABLE' })
    )
    fc.assert(fc.property(restriction, fc.array(layer, { maxLength: 5 }), fc.constantFrom(...ids), fc.subarray(groups), (sp, layers, who, memberOf) => {
      const s = subject(who, memberOf)
      const listed = (r: { users: string[], groups: string[] }): boolean => r.users.includes(who) || r.groups.some((g) => memberOf.includes(g))
      const expected = listed(sp) && layers.every((l) => l.state === 'gone' || (l.state === 'ok' && (l.read.users.length + l.read.groups.length === 0 || listed(l.read))))
      return canRead(composeAcl(spaceClause('S', sp.users, sp.groups, []), layers).acl, s) === expected
    }))
  })
})
