// CQL for confluence.content.search, built so that no input can change the query's structure.
// `text` goes through two layers: Lucene (the `text ~` operand is a Lucene query inside a CQL string)
// and then CQL string quoting. Caller-supplied `cql` is the caller's own query and is kept verbatim
// inside parentheses (its ORDER BY moved to the end, where CQL requires it).

export interface SearchCqlInput {
  cql?: string
  text?: string
  spaceKeys?: string[]
  types?: string[]
}

/** A CQL string literal: backslashes and double quotes escaped, control characters blanked. */
export function cqlString (value: string): string {
  return '"' + value.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[\\"]/g, c => '\\' + c) + '"'
}

// Lucene's special characters, and the operators that are only operators when written in capitals.
const LUCENE_SPECIAL = /[\\+\-!(){}[\]^"~*?:/&|]/g
const LUCENE_OPERATOR = /\b(AND|OR|NOT|TO)\b/g

/** Free text as a Lucene query of plain terms: specials escaped, operators lower-cased into words. */
export function luceneText (text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(LUCENE_SPECIAL, c => '\\' + c)
    .replace(LUCENE_OPERATOR, w => w.toLowerCase())
    .trim()
}

export function buildCql (input: SearchCqlInput): string | undefined {
  const clauses: string[] = []
  let orderBy = ''
  if (typeof input.cql === 'string' && input.cql.trim() !== '') {
    const { query, order } = splitOrderBy(input.cql.trim())
    if (query !== '') clauses.push(`(${query})`)
    orderBy = order
  }
  if (typeof input.text === 'string' && luceneText(input.text) !== '') clauses.push(`text ~ ${cqlString(luceneText(input.text))}`)
  if (Array.isArray(input.spaceKeys) && input.spaceKeys.length > 0) clauses.push(`space IN (${input.spaceKeys.map(cqlString).join(', ')})`)
  if (Array.isArray(input.types) && input.types.length > 0) clauses.push(`type IN (${input.types.map(cqlString).join(', ')})`)
  if (clauses.length === 0) return undefined
  return clauses.join(' AND ') + (orderBy === '' ? '' : ` ${orderBy}`)
}

/** Split a trailing top-level `ORDER BY …` (outside quotes) from a CQL query. */
export function splitOrderBy (cql: string): { query: string, order: string } {
  let quote: string | undefined
  let at = -1
  for (let i = 0; i < cql.length; i++) {
    const c = cql[i]
    if (quote !== undefined) {
      if (c === '\\') i++
      else if (c === quote) quote = undefined
      continue
    }
    if (c === '"' || c === "'") { quote = c; continue }
    if (/^order\s+by\b/i.test(cql.slice(i, i + 16)) && (i === 0 || /\s|\)/.test(cql[i - 1]))) at = i
  }
  if (at < 0) return { query: cql, order: '' }
  return { query: cql.slice(0, at).trim(), order: cql.slice(at).trim() }
}
