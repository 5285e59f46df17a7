// A CQL parser and evaluator for the subset people write: type, space, title, text, label, id, parent,
// ancestor, created and lastmodified with =, !=, ~, !~, <, <=, >, >=, IN, NOT IN; AND, OR, NOT,
// parentheses; ORDER BY. Anything else is a CqlError (the search answers 400 "CQL query cannot be parsed").
// Queries run over "entities": content indices [0, total), then the site's spaces, then the directory's users
// (`type = space`, `type = user`); content-only fields never match a space or a user.
import { zonedToEpochSeconds } from './time-zone'
import type { SiteData, Space, User } from './seed'

export class CqlError extends Error {}

type Op = '=' | '!=' | '~' | '!~' | '<' | '<=' | '>' | '>=' | 'in' | 'not in'
type Value = { kind: 'literal', text: string } | { kind: 'function', name: string, args: string[] }
export type Expr =
  | { kind: 'and' | 'or', left: Expr, right: Expr }
  | { kind: 'not', expr: Expr }
  | { kind: 'clause', field: Field, op: Op, values: Value[] }
export interface CqlQuery { where: Expr, orderBy: Array<{ field: Field, desc: boolean }> }

type Field = 'type' | 'space' | 'title' | 'text' | 'label' | 'id' | 'parent' | 'ancestor' | 'created' | 'lastmodified'
const FIELDS: Record<string, Field> = {
  type: 'type', space: 'space', 'space.key': 'space', title: 'title', text: 'text', label: 'label', id: 'id', content: 'id',
  'content.id': 'id', parent: 'parent', ancestor: 'ancestor', created: 'created', lastmodified: 'lastmodified'
}
const OPS: Record<Field, Op[]> = {
  type: ['=', '!=', 'in', 'not in'],
  space: ['=', '!=', 'in', 'not in'],
  title: ['=', '!=', '~', '!~', 'in', 'not in'],
  text: ['~', '!~'],
  label: ['=', '!=', 'in', 'not in'],
  id: ['=', '!=', 'in', 'not in'],
  parent: ['=', '!=', 'in', 'not in'],
  ancestor: ['=', '!=', 'in', 'not in'],
  created: ['=', '!=', '<', '<=', '>', '>='],
  lastmodified: ['=', '!=', '<', '<=', '>', '>=']
}
const ORDERABLE = new Set<Field>(['type', 'space', 'title', 'id', 'created', 'lastmodified'])

interface Token { kind: 'word' | 'string' | 'op' | '(' | ')' | ',', text: string }

function tokenize (cql: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < cql.length) {
    const ch = cql[i]
    if (/\s/.test(ch)) { i++; continue }
    if (ch === '(' || ch === ')' || ch === ',') { tokens.push({ kind: ch, text: ch }); i++; continue }
    if (ch === '"' || ch === "'") {
      let text = ''
      let j = i + 1
      for (; j < cql.length && cql[j] !== ch; j++) text += cql[j] === '\\' && j + 1 < cql.length ? cql[++j] : cql[j]
      if (j >= cql.length) throw new CqlError('unterminated string')
      tokens.push({ kind: 'string', text })
      i = j + 1
      continue
    }
    const op = /^(!=|!~|<=|>=|=|~|<|>)/.exec(cql.slice(i))
    if (op) { tokens.push({ kind: 'op', text: op[1] }); i += op[1].length; continue }
    const word = /^[A-Za-z0-9_.:*+-]+/.exec(cql.slice(i))
    if (!word) throw new CqlError(`unexpected character '${ch}' at ${i}`)
    tokens.push({ kind: 'word', text: word[0] })
    i += word[0].length
  }
  return tokens
}

class Parser {
  private i = 0
  constructor (private readonly tokens: Token[]) {}

  query (): CqlQuery {
    const where = this.or()
    const orderBy: CqlQuery['orderBy'] = []
    if (this.keyword('order')) {
      if (!this.keyword('by')) throw new CqlError('expected BY after ORDER')
      do {
        const field = this.field()
        if (!ORDERABLE.has(field)) throw new CqlError(`cannot order by ${field}`)
        const desc = this.keyword('desc') ? true : (this.keyword('asc'), false)
        orderBy.push({ field, desc })
      } while (this.punct(','))
    }
    if (this.i < this.tokens.length) throw new CqlError(`unexpected '${this.tokens[this.i].text}'`)
    return { where, orderBy }
  }

  private or (): Expr {
    let left = this.and()
    while (this.keyword('or')) left = { kind: 'or', left, right: this.and() }
    return left
  }

  private and (): Expr {
    let left = this.not()
    while (this.keyword('and')) left = { kind: 'and', left, right: this.not() }
    return left
  }

  private not (): Expr {
    if (this.keyword('not')) return { kind: 'not', expr: this.not() }
    if (this.punct('(')) {
      const inner = this.or()
      if (!this.punct(')')) throw new CqlError('expected )')
      return inner
    }
    return this.clause()
  }

  private clause (): Expr {
    const field = this.field()
    let op: Op
    if (this.keyword('in')) op = 'in'
    else if (this.keyword('not')) {
      if (!this.keyword('in')) throw new CqlError('expected IN after NOT')
      op = 'not in'
    } else {
      const t = this.tokens[this.i]
      if (t?.kind !== 'op') throw new CqlError(`expected an operator after ${field}`)
      this.i++
      op = t.text as Op
    }
    if (!OPS[field].includes(op)) throw new CqlError(`operator ${op} is not supported for ${field}`)
    const values: Value[] = []
    if (op === 'in' || op === 'not in') {
      if (!this.punct('(')) throw new CqlError('expected ( after IN')
      do values.push(this.value()); while (this.punct(','))
      if (!this.punct(')')) throw new CqlError('expected )')
    } else {
      values.push(this.value())
    }
    return { kind: 'clause', field, op, values }
  }

  private field (): Field {
    const t = this.tokens[this.i]
    const field = t?.kind === 'word' ? FIELDS[t.text.toLowerCase()] : undefined
    if (!field) throw new CqlError(t ? `unknown field '${t.text}'` : 'expected a field')
    this.i++
    return field
  }

  private value (): Value {
    const t = this.tokens[this.i++]
    if (!t || (t.kind !== 'word' && t.kind !== 'string')) throw new CqlError('expected a value')
    if (t.kind === 'word' && this.punct('(')) {
      const args: string[] = []
      if (!this.punct(')')) {
        do {
          const a = this.tokens[this.i++]
          if (!a || (a.kind !== 'string' && a.kind !== 'word')) throw new CqlError('expected a function argument')
          args.push(a.text)
        } while (this.punct(','))
        if (!this.punct(')')) throw new CqlError('expected )')
      }
      return { kind: 'function', name: t.text.toLowerCase(), args }
    }
    return { kind: 'literal', text: t.text }
  }

  private keyword (word: string): boolean {
    const t = this.tokens[this.i]
    if (t?.kind === 'word' && t.text.toLowerCase() === word) { this.i++; return true }
    return false
  }

  private punct (kind: '(' | ')' | ','): boolean {
    if (this.tokens[this.i]?.kind === kind) { this.i++; return true }
    return false
  }
}

export function parseCql (cql: string): CqlQuery {
  const tokens = tokenize(cql)
  if (tokens.length === 0) throw new CqlError('empty query')
  return new Parser(tokens).query()
}

// ---- entities ----

export type Entity = { kind: 'content', c: number } | { kind: 'space', space: Space } | { kind: 'user', user: User }

export function entityOf (site: SiteData, e: number): Entity {
  if (e < site.total) return { kind: 'content', c: e }
  const s = e - site.total
  return s < site.spaces.length ? { kind: 'space', space: site.spaces[s] } : { kind: 'user', user: site.users[s - site.spaces.length] }
}

/** Entity numbers of the spaces and the users, after the content. */
export const spaceEntity = (site: SiteData, s: number): number => site.total + s
export const userEntity = (site: SiteData, u: number): number => site.total + site.spaces.length + u

function kindOf (site: SiteData, e: number): string {
  return e < site.total ? site.kind(e) : entityOf(site, e).kind
}

function titleOf (site: SiteData, e: number): string {
  if (e < site.total) return site.title(e)
  const x = entityOf(site, e)
  return x.kind === 'space' ? x.space.name : x.kind === 'user' ? x.user.displayName : ''
}

/** The space an entity is in (a space is in itself); -2 for users, which are in none. */
function spaceOf (site: SiteData, e: number): number {
  if (e < site.total) return site.space[e]
  const x = entityOf(site, e)
  return x.kind === 'space' ? x.space.index : -2
}

/** Epoch seconds; NaN where the entity has no such time (so every comparison is false). */
function timeOf (site: SiteData, e: number, field: 'created' | 'lastmodified'): number {
  if (e < site.total) return (field === 'created' ? site.created : site.modified)[e]
  const x = entityOf(site, e)
  return x.kind === 'space' ? x.space.createdAt : NaN
}

/** The entity types a query asks for by name (`type = space`, `type in (user, page)`), lowercased. */
export function namedTypes (expr: Expr): Set<string> {
  const out = new Set<string>()
  const visit = (x: Expr): void => {
    if (x.kind === 'clause') {
      if (x.field === 'type' && (x.op === '=' || x.op === 'in')) for (const v of x.values) if (v.kind === 'literal') out.add(v.text.toLowerCase())
    } else if (x.kind === 'not') visit(x.expr)
    else { visit(x.left); visit(x.right) }
  }
  visit(expr)
  return out
}

// ---- evaluation ----

export type Predicate = (c: number) => boolean

export function compileWhere (site: SiteData, expr: Expr, now = Date.now()): Predicate {
  switch (expr.kind) {
    case 'and': { const a = compileWhere(site, expr.left, now); const b = compileWhere(site, expr.right, now); return (c) => a(c) && b(c) }
    case 'or': { const a = compileWhere(site, expr.left, now); const b = compileWhere(site, expr.right, now); return (c) => a(c) || b(c) }
    case 'not': { const a = compileWhere(site, expr.expr, now); return (c) => !a(c) }
    case 'clause': return compileClause(site, expr, now)
  }
}

function compileClause (site: SiteData, clause: Extract<Expr, { kind: 'clause' }>, now: number): Predicate {
  const { field, op } = clause
  if (field === 'created' || field === 'lastmodified') {
    const [from, to] = dateRange(clause.values[0], now, site.timeZone)
    const test: Record<string, (t: number) => boolean> = {
      '=': (t) => t >= from && t < to, '!=': (t) => t < from || t >= to, '<': (t) => t < from, '<=': (t) => t < to, '>': (t) => t >= to, '>=': (t) => t >= from
    }
    const check = test[op]
    return (e) => { const t = timeOf(site, e, field); return !Number.isNaN(t) && check(t) }
  }
  const texts = clause.values.map((v) => literal(v))
  const negated = op === '!=' || op === '!~' || op === 'not in'
  const content = (e: number): boolean => e < site.total
  let positive: Predicate
  switch (field) {
    case 'type': { const kinds = new Set(texts.map((t) => t.toLowerCase())); positive = (e) => kinds.has(kindOf(site, e)); break }
    case 'space': {
      const spaces = new Set(texts.map((t) => site.spaceByKey.get(t)?.index ?? -1))
      positive = (e) => spaces.has(spaceOf(site, e)); break
    }
    case 'label': { const labels = new Set(texts.map((t) => t.toLowerCase())); positive = (e) => content(e) && site.labels(e).some((l) => labels.has(l)); break }
    case 'id': { const ids = new Set(texts.map((t) => site.contentIndex(t))); positive = (e) => content(e) && ids.has(e); break }
    case 'parent': { const ids = new Set(texts.map((t) => site.contentIndex(t, 'page'))); positive = (e) => content(e) && site.kind(e) === 'page' && ids.has(site.parent[e]); break }
    case 'ancestor': {
      const ids = new Set(texts.map((t) => site.contentIndex(t, 'page')))
      positive = (e) => content(e) && site.kind(e) === 'page' && site.ancestors(e).some((a) => ids.has(a)); break
    }
    case 'title':
      if (op === '~' || op === '!~') { const m = matcher(texts[0]); positive = (e) => m(words(titleOf(site, e))); break }
      positive = (e) => texts.includes(titleOf(site, e)); break
    case 'text': { const m = matcher(texts[0]); positive = (e) => m([...words(titleOf(site, e)), ...(content(e) ? site.bodyWords(e) : [])]); break }
  }
  return negated ? (e) => !positive(e) : positive
}

/** `~` matching: every term of the query appears among the words; a trailing `*` matches a prefix. */
function matcher (query: string): (words: string[]) => boolean {
  const terms = query.toLowerCase().split(/[^a-z0-9*]+/).filter(Boolean)
  return (ws) => terms.every((t) => t.endsWith('*') ? ws.some((w) => w.startsWith(t.slice(0, -1))) : ws.includes(t))
}

function words (text: string): string[] { return text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean) }

function literal (v: Value): string {
  if (v.kind === 'function') {
    if (v.name === 'currentuser') throw new CqlError('user functions are not supported in content search')
    throw new CqlError(`function ${v.name}() is not supported for this field`)
  }
  return v.text
}

/** A date value as a [from, to) range of epoch seconds: a whole day for dates, a minute for times. */
function dateRange (v: Value, now: number, timeZone: string): [number, number] {
  if (v.kind === 'function') {
    const offset = v.args[0] ? relativeSeconds(v.args[0]) : 0
    const base = Math.floor(now / 1000) + offset
    if (v.name === 'now') return [base, base + 1]
    const day = Math.floor(base / 86400) * 86400
    if (v.name === 'startofday') return [day, day + 1]
    if (v.name === 'endofday') return [day + 86400, day + 86401]
    throw new CqlError(`unknown date function ${v.name}()`)
  }
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T](\d{2}):(\d{2}))?$/.exec(v.text)
  if (!m) throw new CqlError(`invalid date '${v.text}'`)
  // read in the site's time zone, as Confluence does
  const seconds = zonedToEpochSeconds(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), timeZone)
  return [seconds, seconds + (m[4] ? 60 : 86400)]
}

function relativeSeconds (text: string): number {
  const m = /^([+-]?)(\d+)([mhdwy])$/.exec(text.trim())
  if (!m) throw new CqlError(`invalid relative date '${text}'`)
  const unit = { m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 }[m[3] as 'm' | 'h' | 'd' | 'w' | 'y']
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * unit
}

export function compileOrder (site: SiteData, orderBy: CqlQuery['orderBy']): ((a: number, b: number) => number) | undefined {
  if (orderBy.length === 0) return undefined
  const spaceKey = (e: number): string => site.spaces[spaceOf(site, e)]?.key ?? ''
  const keys = orderBy.map(({ field, desc }) => {
    const sign = desc ? -1 : 1
    const cmp = field === 'title'
      ? (a: number, b: number) => titleOf(site, a).localeCompare(titleOf(site, b))
      : field === 'created' || field === 'lastmodified'
        ? (a: number, b: number) => (timeOf(site, a, field) || 0) - (timeOf(site, b, field) || 0)
        : field === 'space'
          ? (a: number, b: number) => spaceKey(a).localeCompare(spaceKey(b))
          : field === 'type'
            ? (a: number, b: number) => kindOf(site, a).localeCompare(kindOf(site, b))
            : (a: number, b: number) => a - b
    return (a: number, b: number) => sign * cmp(a, b)
  })
  return (a, b) => {
    for (const k of keys) { const r = k(a, b); if (r !== 0) return r }
    return a - b
  }
}
