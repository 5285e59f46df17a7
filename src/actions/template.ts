// The data-only template language of action definitions (docs/actions.md): `{{ expression }}` lookups
// with `??` fallbacks and a fixed set of pure filters, plus two structural operators, `$each` and `$if`. Templates are
// compiled once at load into closures; rendering never parses, evaluates code, or touches I/O.
import { buildCql } from './cql'

/** What a template can see. `item`/`index` exist inside `$each`. */
export interface TemplateScope {
  input: Record<string, unknown>
  connection: { alias: string, site?: { url: string, cloudId: string } }
  response?: { status: number, headers: Record<string, string>, body: unknown }
  item?: unknown
  index?: number
}

export type Rendered = (scope: TemplateScope) => unknown

export class TemplateError extends Error {
  constructor (readonly where: string, message: string) {
    super(`${where}: ${message}`)
    this.name = 'TemplateError'
  }
}

export interface CompileOptions {
  /** Encodes each interpolated value of a string with surrounding text (path templates use encodeURIComponent). */
  encode?: (s: string) => string
  /** Roots the expressions may name. */
  roots?: readonly string[]
  /** Filled in while compiling: what the compiled expressions read (one object may collect several templates). */
  reads?: TemplateReads
}

/** What compiled templates read, so the engine fetches only what they need. */
export interface TemplateReads {
  /** An expression names `connection.site` (or all of `connection`), or uses a filter that needs the site (wikiUrl). */
  site: boolean
}

const ALL_ROOTS = ['input', 'connection', 'response', 'item', 'index'] as const
const WHOLE = /^\{\{([^{}]*)\}\}$/
const EMBEDDED = /\{\{([^{}]*)\}\}/g

/** Compile a JSON template value (string, object, array, literal). `where` names it in errors (e.g. "request.query.limit"). */
export function compileTemplate (template: unknown, where: string, opts: CompileOptions = {}): Rendered {
  if (typeof template === 'string') return compileString(template, where, opts)
  if (Array.isArray(template)) {
    const parts = template.map((t, i) => compileTemplate(t, `${where}[${i}]`, opts))
    return (scope) => {
      const out: unknown[] = []
      for (const p of parts) { const v = p(scope); if (v !== undefined) out.push(v) }
      return out
    }
  }
  if (template !== null && typeof template === 'object') {
    const obj = template as Record<string, unknown>
    if ('$each' in obj) return compileEach(obj, where, opts)
    if ('$if' in obj) return compileIf(obj, where, opts)
    const bad = Object.keys(obj).find(k => k.startsWith('$'))
    if (bad !== undefined) throw new TemplateError(where, `unknown operator "${bad}" (known: $each, $if)`)
    const entries = Object.entries(obj).map(([k, t]) => [k, compileTemplate(t, `${where}.${k}`, opts)] as const)
    return (scope) => {
      const out: Record<string, unknown> = {}
      // Absent values leave their key out: that is how a template includes a field conditionally.
      for (const [k, r] of entries) { const v = r(scope); if (v !== undefined) out[k] = v }
      return out
    }
  }
  return () => template
}

function compileEach (obj: Record<string, unknown>, where: string, opts: CompileOptions): Rendered {
  const keys = Object.keys(obj).sort().join(',')
  if (keys !== '$each,to') throw new TemplateError(where, '$each takes exactly "$each" (an expression) and "to" (the item template)')
  if (typeof obj.$each !== 'string' || !WHOLE.test(obj.$each)) throw new TemplateError(where, '$each must be one "{{ expression }}"')
  const source = compileString(obj.$each, `${where}.$each`, opts)
  const to = compileTemplate(obj.to, `${where}.to`, opts)
  return (scope) => {
    const list = source(scope)
    if (list === undefined || list === null) return undefined
    if (!Array.isArray(list)) throw new TemplateValueError(`${where}.$each is not a list`)
    const out = new Array<unknown>(list.length)
    for (let i = 0; i < list.length; i++) out[i] = to({ ...scope, item: list[i], index: i })
    return out
  }
}

function compileIf (obj: Record<string, unknown>, where: string, opts: CompileOptions): Rendered {
  const extra = Object.keys(obj).filter(k => k !== '$if' && k !== 'then' && k !== 'else')
  if (extra.length > 0 || !('then' in obj)) throw new TemplateError(where, '$if takes "$if" (an expression), "then" and optionally "else"')
  if (typeof obj.$if !== 'string' || !WHOLE.test(obj.$if)) throw new TemplateError(where, '$if must be one "{{ expression }}"')
  const test = compileString(obj.$if, `${where}.$if`, opts)
  const then = compileTemplate(obj.then, `${where}.then`, opts)
  const otherwise = 'else' in obj ? compileTemplate(obj.else, `${where}.else`, opts) : () => undefined
  // Present and not false/null/""/0: the usual "is it set" test for optional inputs.
  return (scope) => { const v = test(scope); return (v !== undefined && v !== null && v !== false && v !== '' && v !== 0) ? then(scope) : otherwise(scope) }
}

/** A template met data it cannot map (e.g. `$each` over a non-list): an upstream-shape problem, not a bug. */
export class TemplateValueError extends Error {
  constructor (message: string) { super(message); this.name = 'TemplateValueError' }
}

function compileString (text: string, where: string, opts: CompileOptions): Rendered {
  const whole = WHOLE.exec(text)
  if (whole) return compileExpression(whole[1], where, opts)
  const pieces: Array<string | Rendered> = []
  let last = 0
  for (const m of text.matchAll(EMBEDDED)) {
    if (m.index > last) pieces.push(text.slice(last, m.index))
    pieces.push(compileExpression(m[1], where, opts))
    last = m.index + m[0].length
  }
  if (pieces.length === 0) {
    if (text.includes('{{') || text.includes('}}')) throw new TemplateError(where, `unbalanced braces in "${text}"`)
    return () => text
  }
  if (last < text.length) pieces.push(text.slice(last))
  for (const p of pieces) if (typeof p === 'string' && (p.includes('{{') || p.includes('}}'))) throw new TemplateError(where, `unbalanced braces in "${text}"`)
  const encode = opts.encode ?? String
  return (scope) => {
    let out = ''
    for (const p of pieces) {
      if (typeof p === 'string') { out += p; continue }
      const v = p(scope)
      // An absent part makes the whole string absent rather than "…/undefined".
      if (v === undefined || v === null) return undefined
      if (typeof v === 'object') throw new TemplateValueError(`${where} interpolates a non-scalar value`)
      out += encode(String(v))
    }
    return out
  }
}

// ---- expressions: alternative ( "??" alternative )*, alternative: operand ( "|" filter [":" literal] )*

type Filter = (value: unknown, arg: unknown, scope: TemplateScope) => unknown

const FILTERS: Record<string, { arg: 'none' | 'optional' | 'required', fn: Filter, readsSite?: true }> = {
  /** Numbers and booleans to strings (v1 ids are int64 numbers, outputs want strings). */
  string: { arg: 'none', fn: (v) => (typeof v === 'number' || typeof v === 'boolean') ? String(v) : v },
  /** "" → null (hidden emails come back as empty strings). */
  emptyToNull: { arg: 'none', fn: (v) => v === '' ? null : v },
  /** null → absent: the key is left out (for fields the spec makes nullable but the output types as a plain value). */
  omitNull: { arg: 'none', fn: (v) => v === null ? undefined : v },
  /** A list to one delimited string (for `explode: false` parameters); an empty list is absent. */
  join: { arg: 'optional', fn: (v, sep) => Array.isArray(v) ? (v.length === 0 ? undefined : v.join(typeof sep === 'string' ? sep : ',')) : v },
  /** value === arg. */
  eq: { arg: 'required', fn: (v, arg) => v === arg },
  /** A site-relative Confluence link (`/spaces/…`, `/wiki/…`) to an absolute `https://<site>/wiki/…` URL. */
  wikiUrl: { arg: 'none', fn: (v, _arg, scope) => wikiUrl(v, scope.connection.site?.url), readsSite: true },
  /** The safe CQL for `{ cql?, text?, spaceKeys?, types? }` (see cql.ts). */
  searchCql: { arg: 'none', fn: (v) => (v !== null && typeof v === 'object') ? buildCql(v as Parameters<typeof buildCql>[0]) : undefined }
}

export const FILTER_NAMES = Object.keys(FILTERS)

/**
 * An absolute http(s) URL, normalised (percent-encoded) so it is always a valid URI; undefined for anything
 * else (another scheme, a link that is not site-relative, text that is no URL at all): never a made-up URL.
 */
export function wikiUrl (value: unknown, site: string | undefined): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  let absolute: string
  if (/^https?:\/\//i.test(value)) absolute = value
  else if (site !== undefined && value.startsWith('/')) absolute = value.startsWith('/wiki/') ? site + value : `${site}/wiki${value}`
  else return undefined
  let url: URL
  try { url = new URL(absolute) } catch { return undefined }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  // WHATWG URLs leave some characters RFC 3986 forbids (| ^ [ ] a lone %, a second #): encode them too.
  return url.origin + strictUri(url.pathname, PATH_CHARS) + strictUri(url.search, QUERY_CHARS) + (url.hash === '' ? '' : '#' + strictUri(url.hash.slice(1), QUERY_CHARS))
}

const PATH_CHARS = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/
const QUERY_CHARS = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/

function strictUri (part: string, allowed: RegExp): string {
  let out = ''
  for (let i = 0; i < part.length; i++) {
    const c = part[i]
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(part.slice(i + 1, i + 3))) out += c
    else if (allowed.test(c)) out += c
    else out += encodeURIComponent(c) // ASCII only: URL has already encoded the rest
  }
  return out
}

type Operand = (scope: TemplateScope) => unknown

function compileExpression (source: string, where: string, opts: CompileOptions): Rendered {
  const alternatives = splitTop(source, '??').map(a => compileAlternative(a.trim(), where, source, opts))
  if (alternatives.length === 1) return alternatives[0]
  return (scope) => {
    let v: unknown
    for (const alt of alternatives) { v = alt(scope); if (v !== undefined && v !== null) return v }
    return v
  }
}

function compileAlternative (source: string, where: string, whole: string, opts: CompileOptions): Operand {
  const [head, ...filterParts] = splitTop(source, '|').map(s => s.trim())
  if (head === '') throw new TemplateError(where, `empty expression in "{{${whole}}}"`)
  const operand = compileOperand(head, where, opts)
  const filters = filterParts.map(part => {
    const m = /^([A-Za-z]+)(?:\s*:\s*(.+))?$/.exec(part)
    if (!m) throw new TemplateError(where, `bad filter "${part}" in "{{${whole}}}"`)
    const spec = FILTERS[m[1]]
    if (spec === undefined) throw new TemplateError(where, `unknown filter "${m[1]}" (known: ${FILTER_NAMES.join(', ')})`)
    if (m[2] === undefined && spec.arg === 'required') throw new TemplateError(where, `filter "${m[1]}" needs an argument`)
    if (m[2] !== undefined && spec.arg === 'none') throw new TemplateError(where, `filter "${m[1]}" takes no argument`)
    if (spec.readsSite === true && opts.reads !== undefined) opts.reads.site = true
    const arg = m[2] === undefined ? undefined : parseLiteral(m[2].trim(), where)
    return { fn: spec.fn, arg }
  })
  if (filters.length === 0) return operand
  return (scope) => {
    let v = operand(scope)
    // Absent stays absent through every filter, so `??` can fall back past it.
    for (const f of filters) { if (v === undefined) return undefined; v = f.fn(v, f.arg, scope) }
    return v
  }
}

function compileOperand (text: string, where: string, opts: CompileOptions): Operand {
  if (/^[A-Za-z_]/.test(text) && !/^(true|false|null)$/.test(text)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_$-]+)*$/.test(text)) throw new TemplateError(where, `bad path "${text}"`)
    const segments = text.split('.')
    const roots = opts.roots ?? ALL_ROOTS
    if (!roots.includes(segments[0])) throw new TemplateError(where, `"${segments[0]}" is not available here (use ${roots.join(', ')})`)
    if (segments[0] === 'connection' && (segments[1] === undefined || segments[1] === 'site') && opts.reads !== undefined) opts.reads.site = true
    return compilePath(segments)
  }
  const literal = parseLiteral(text, where)
  return () => literal
}

function compilePath (segments: string[]): Operand {
  const [root, ...rest] = segments
  return (scope) => {
    let v: unknown = (scope as unknown as Record<string, unknown>)[root]
    for (const s of rest) {
      if (v === null || typeof v !== 'object') return undefined
      v = Object.prototype.hasOwnProperty.call(v, s) ? (v as Record<string, unknown>)[s] : undefined
    }
    return v
  }
}

function parseLiteral (text: string, where: string): unknown {
  if (text === 'true') return true
  if (text === 'false') return false
  if (text === 'null') return null
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text)
  const m = /^'((?:[^'\\]|\\.)*)'$/.exec(text)
  if (m) return m[1].replace(/\\(.)/g, '$1')
  throw new TemplateError(where, `bad literal ${text} (strings use single quotes)`)
}

/** Split on a separator outside single-quoted strings. */
function splitTop (text: string, sep: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      cur += c
      if (c === '\\' && i + 1 < text.length) { cur += text[++i]; continue }
      if (c === "'") quoted = false
      continue
    }
    if (c === "'") { quoted = true; cur += c; continue }
    if (text.startsWith(sep, i)) { out.push(cur); cur = ''; i += sep.length - 1; continue }
    cur += c
  }
  out.push(cur)
  return out
}
