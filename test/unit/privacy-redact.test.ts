// Finding accountIds in stored values, and redacting closed accounts out of them.
import fc from 'fast-check'
import { collectAccountIds } from '../../src/privacy/collect'
import { ERASED, personalTerms, redact, redactText, type Terms } from '../../src/privacy/redact'

const A = '712020:aaaaaaaa-0000-4000-8000-000000000001'
const B = '712020:bbbbbbbb-0000-4000-8000-000000000002'

describe('collectAccountIds', () => {
  it('finds ids by field name at any depth, in single fields and id lists', () => {
    const value = { input: { groupId: 'g1', add: [A], remove: [] }, output: { results: [{ accountId: B, displayName: 'Bea' }], unknownActivity: { accountIds: [A] } }, other: { id: 'not-an-account' } }
    expect([...collectAccountIds(value)].sort()).toEqual([A, B])
  })
  it('finds nothing in a page', () => {
    expect(collectAccountIds({ id: '1', title: 'T', body: { storage: '<p/>' } }).size).toBe(0)
  })
})

describe('redact', () => {
  const stored = {
    input: { add: [A, B] },
    output: {
      results: [{ accountId: A, displayName: 'Ann Lee', email: 'ann@acme.example', active: true }, { accountId: B, displayName: 'Bea Ray', email: 'bea@acme.example', active: true }],
      summary: { total: 2 },
      note: `user:${A} (ann@acme.example)`,
      byAccount: { [A]: 1, [B]: 2 }
    }
  }
  const terms = (): Terms => { const t: Terms = { ids: new Set([A]), names: new Set() }; personalTerms(stored, t); return t }

  it('erases the closed account, keeps the shape and the other account', () => {
    const out = redact(stored, terms()) as typeof stored
    expect(out.input.add).toEqual([ERASED, B])
    expect(out.output.results[0]).toEqual({ accountId: ERASED, displayName: ERASED, email: ERASED, active: true })
    expect(out.output.results[1]).toEqual(stored.output.results[1])
    expect(out.output.summary).toEqual({ total: 2 })
    expect(out.output.note).toBe(`user:${ERASED} (${ERASED})`)
    const text = JSON.stringify(out)
    for (const trace of [A, 'Ann Lee', 'ann@acme.example']) expect(text).not.toContain(trace)
    expect(text).toContain('bea@acme.example')
  })

  it('redacts stored text (JSON or not) and leaves text without the account untouched', () => {
    expect(redactText(JSON.stringify(stored), terms())).not.toContain(A)
    expect(redactText(`failed for ${A}`, terms())).toBe(`failed for ${ERASED}`)
    const untouched = JSON.stringify({ accountId: B })
    expect(redactText(untouched, terms())).toBe(untouched)
  })

  it('never leaves a closed id anywhere in a random value', () => {
    const leaf = fc.oneof(fc.constantFrom(A, B, `x${A}y`, 'plain'), fc.integer(), fc.constant(null))
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(fc.constantFrom('accountId', 'displayName', A, 'k'), tie('tree'), { maxKeys: 4 }))
    }))
    fc.assert(fc.property(tree, (value) => {
      expect(JSON.stringify(redact(value, { ids: new Set([A]), names: new Set() }))).not.toContain(A)
    }))
  })
})
