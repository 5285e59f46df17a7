import fc from 'fast-check'
import { buildCql, cqlString, luceneText, splitOrderBy } from '../../src/actions/cql'

// A small CQL tokenizer: words, operators, punctuation and double-quoted strings with backslash escapes.
type Token = { kind: 'word' | 'op' | 'punct', text: string } | { kind: 'string', value: string }
function tokenize (cql: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < cql.length) {
    const c = cql[i]
    if (c === ' ') { i++; continue }
    if (c === '"') {
      let value = ''
      i++
      for (;;) {
        if (i >= cql.length) throw new Error(`unterminated string in ${cql}`)
        const d = cql[i]
        if (d === '\\') { value += cql[i + 1]; i += 2; continue }
        if (d === '"') { i++; break }
        value += d; i++
      }
      out.push({ kind: 'string', value })
      continue
    }
    if ('(),'.includes(c)) { out.push({ kind: 'punct', text: c }); i++; continue }
    if (c === '~' || c === '=') { out.push({ kind: 'op', text: c }); i++; continue }
    const m = /^[A-Za-z]+/.exec(cql.slice(i))
    if (!m) throw new Error(`unexpected ${c} in ${cql}`)
    out.push({ kind: 'word', text: m[0] }); i += m[0].length
  }
  return out
}

/** Lucene terms back to text; fails on any special character left unescaped. */
function luceneUnescape (s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') { out += s[++i]; continue }
    if (/[+\-!(){}[\]^"~*?:/&|]/.test(s[i])) throw new Error(`unescaped ${s[i]} in ${s}`)
    out += s[i]
  }
  return out
}

const hostile = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.fullUnicodeString({ maxLength: 30 }),
  fc.array(fc.constantFrom('"', '\\', "'", ' AND ', ' OR ', ' NOT ', 'order by', ')', '(', '*', '~', 'space = X', '\n', '\u0000', '?', '}', 'TO'), { maxLength: 12 }).map(a => a.join(''))
)

describe('safe CQL from text', () => {
  it('always yields exactly one text ~ "…" clause whose value is the input as plain terms', () => {
    fc.assert(fc.property(hostile, (text) => {
      const cql = buildCql({ text })
      const expected = text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim()
      if (luceneText(text) === '') { expect(cql).toBeUndefined(); return }
      const tokens = tokenize(cql!)
      expect(tokens.slice(0, 2)).toEqual([{ kind: 'word', text: 'text' }, { kind: 'op', text: '~' }])
      expect(tokens).toHaveLength(3)
      const value = (tokens[2] as { value: string }).value
      expect(luceneUnescape(value).replace(/\b(and|or|not|to)\b/gi, w => w.toUpperCase()))
        .toBe(expected.replace(/\b(and|or|not|to)\b/gi, w => w.toUpperCase()))
      expect(value).not.toMatch(/\b(AND|OR|NOT|TO)\b/)
    }), { numRuns: 500 })
  })

  it('quotes space keys and types so they cannot escape their IN list', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 4 }), (keys) => {
      const tokens = tokenize(buildCql({ text: 'x', spaceKeys: keys, types: ['page'] })!)
      const strings = tokens.filter(t => t.kind === 'string').map(t => (t as { value: string }).value)
      expect(strings).toEqual(['x', ...keys.map(k => k.replace(/[\u0000-\u001f\u007f]/g, ' ')), 'page'])
      expect(tokens.filter(t => t.kind === 'word').map(t => (t as { text: string }).text)).toEqual(['text', 'AND', 'space', 'IN', 'AND', 'type', 'IN'])
    }), { numRuns: 300 })
  })

  it('combines cql, text, spaces and types with AND, keeping ORDER BY last', () => {
    expect(buildCql({ cql: 'type = page order by lastmodified desc', text: 'Q3 plan', spaceKeys: ['ENG'], types: ['page', 'blogpost'] }))
      .toBe('(type = page) AND text ~ "Q3 plan" AND space IN ("ENG") AND type IN ("page", "blogpost") order by lastmodified desc')
    expect(buildCql({ cql: 'title ~ "order by"' })).toBe('(title ~ "order by")')
    expect(buildCql({})).toBeUndefined()
    expect(splitOrderBy('ORDER BY created')).toEqual({ query: '', order: 'ORDER BY created' })
  })

  it('escapes quotes and backslashes in CQL strings', () => {
    expect(cqlString('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(luceneText('say "hi" AND (x OR y)*')).toBe('say \\"hi\\" and \\(x or y\\)\\*')
  })
})
