// The schema → fast-check converter used by the spec-sampled property tests: its values are valid against
// the schema (checked with the simulator's own spec validator), and it reaches the corners it promises.
import fc from 'fast-check'
import { loadContract } from 'confluence-cloud-simulator/contract'
import v1 from 'confluence-cloud-simulator/contracts/confluence-v1.openapi.json'
import v2 from 'confluence-cloud-simulator/contracts/confluence-v2.openapi.json'
import { resolve, responseSchema, specArbitrary, specBodies, SpecArbitraryError, type Schema } from '../helpers/spec-arbitrary'

const doc: Schema = {
  components: {
    schemas: {
      Node: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, child: { $ref: '#/components/schemas/Node' }, kids: { type: 'array', items: { $ref: '#/components/schemas/Node' } } } },
      Color: { type: 'string', enum: ['red', 'green', 'blue'] },
      Maybe: { type: 'object', nullable: true, properties: { a: { type: 'integer', format: 'int32' } } },
      Links: { type: 'object', additionalProperties: { oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: true }] } },
      Base: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, _links: { type: 'object', properties: { webui: { type: 'string' } } } } },
      Closed: { type: 'object', additionalProperties: false, properties: { x: { type: 'boolean' } } }
    }
  }
}
const sample = (schema: Schema, opts = {}, numRuns = 300): unknown[] => fc.sample(specArbitrary(doc, schema, opts), { numRuns, seed: 42 })

describe('specArbitrary', () => {
  it('resolves $ref and bounds recursion: deep objects carry only their required properties', () => {
    const values = sample({ $ref: '#/components/schemas/Node' }, { maxDepth: 2, maxItems: 2 }) as any[]
    const depth = (n: any): number => n === undefined ? 0 : 1 + Math.max(depth(n.child), ...(n.kids ?? []).map(depth), 0)
    expect(Math.max(...values.map(depth))).toBeLessThanOrEqual(3)
    expect(values.every(v => typeof v.name === 'string')).toBe(true)
    expect(values.some(v => v.child === undefined && v.kids === undefined)).toBe(true)
  })

  it('reaches every enum value, null for nullable schemas, and empty arrays', () => {
    expect(new Set(sample({ $ref: '#/components/schemas/Color' }))).toEqual(new Set(['red', 'green', 'blue']))
    const maybes = sample({ $ref: '#/components/schemas/Maybe' })
    expect(maybes).toContain(null)
    expect(maybes.some(m => m !== null && typeof (m as any).a === 'number')).toBe(true)
    const lists = sample({ type: 'array', items: { type: 'string' } }) as string[][]
    expect(lists.some(l => l.length === 0)).toBe(true)
    expect(lists.every(l => l.length <= 3)).toBe(true)
  })

  it('merges allOf (properties, required), picks oneOf branches, fills typed additionalProperties', () => {
    const merged = sample({ allOf: [{ $ref: '#/components/schemas/Base' }, { type: 'object', required: ['n'], properties: { n: { type: 'integer' }, _links: { type: 'object', properties: { base: { type: 'string' } } } } }] }, { optional: 'all' }) as any[]
    for (const m of merged) { expect(typeof m.id).toBe('string'); expect(Number.isInteger(m.n)).toBe(true); expect(typeof m._links.webui).toBe('string'); expect(typeof m._links.base).toBe('string') }
    const links = sample({ $ref: '#/components/schemas/Links' }) as Array<Record<string, unknown>>
    const values = links.flatMap(l => Object.values(l))
    expect(values.some(v => typeof v === 'string')).toBe(true)
    expect(values.some(v => typeof v === 'object')).toBe(true)
    expect(links.some(l => 'next' in l)).toBe(true)
  })

  it('leaves optional properties out, adds unknown ones where allowed, never where additionalProperties is false', () => {
    const bases = sample({ $ref: '#/components/schemas/Base' }) as any[]
    expect(bases.some(b => b._links === undefined)).toBe(true)
    expect(bases.some(b => b._links !== undefined)).toBe(true)
    expect(bases.some(b => Object.keys(b).some(k => k !== 'id' && k !== '_links'))).toBe(true)
    expect(sample({ $ref: '#/components/schemas/Base' }, { optional: 'none' })).toEqual(expect.arrayContaining([expect.anything()]))
    for (const b of sample({ $ref: '#/components/schemas/Base' }, { optional: 'none' }) as any[]) expect(Object.keys(b)).toEqual(['id'])
    for (const c of sample({ $ref: '#/components/schemas/Closed' }) as any[]) expect(Object.keys(c).every(k => k === 'x')).toBe(true)
  })

  it('honours formats and bounds', () => {
    for (const d of sample({ type: 'string', format: 'date-time' }) as string[]) expect(new Date(d).toISOString()).toBe(d)
    for (const n of sample({ type: 'integer', format: 'int32', minimum: 1 }) as number[]) { expect(Number.isInteger(n)).toBe(true); expect(n).toBeGreaterThanOrEqual(1); expect(n).toBeLessThan(2 ** 31) }
    for (const s of sample({ type: 'string', pattern: '^(att)?[0-9]+$' }) as string[]) expect(s).toMatch(/^(att)?[0-9]+$/)
  })

  it('fails loudly on what it cannot generate', () => {
    expect(() => resolve(doc, { $ref: '#/components/schemas/Nope' })).toThrow(SpecArbitraryError)
    expect(() => resolve(doc, { $ref: 'other.json#/x' })).toThrow(SpecArbitraryError)
    const loop: Schema = { components: { schemas: { A: { type: 'object', required: ['a'], properties: { a: { $ref: '#/components/schemas/A' } } } } } }
    expect(() => specArbitrary(loop, { $ref: '#/components/schemas/A' })).toThrow(SpecArbitraryError)
  })
})

// The operations the actions call: every generated body must pass the simulator's validator of the same spec.
const OPERATIONS: Array<[Schema, string, string, string]> = [
  [v1, '/wiki/rest/api/search', 'get', 'searchByCQL'],
  [v1, '/wiki/rest/api/group', 'get', 'getGroups'],
  [v1, '/wiki/rest/api/group/{groupId}/membersByGroupId', 'get', 'getGroupMembersByGroupId'],
  [v1, '/wiki/rest/api/user', 'get', 'getUser'],
  [v1, '/wiki/rest/api/user/current', 'get', 'getCurrentUser'],
  [v1, '/wiki/rest/api/user/memberof', 'get', 'getGroupMembershipsForUser'],
  [v2, '/pages/{id}', 'get', 'getPageById'],
  [v2, '/spaces/{id}/pages', 'get', 'getPagesInSpace'],
  [v2, '/spaces', 'get', 'getSpaces']
]

describe.each(OPERATIONS.map(([spec, path, method, id]) => ({ spec, path, method, id })))('bodies of $method $path', ({ spec, path, method, id: operationId }) => {
  it(`are valid ${operationId} 200 responses`, () => {
    const contract = loadContract()
    const op = contract.operations.get(operationId)!
    const schema = responseSchema(spec, path, method)!
    const bodies = fc.sample(specBodies(spec, schema), { numRuns: 150 })
    const invalid = bodies.map(b => contract.validateResponse(op, 200, b)).filter(r => r !== undefined)
    expect(invalid).toEqual([])
  })
})
