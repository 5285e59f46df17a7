// fast-check arbitraries built from an OpenAPI 3.0 document's JSON Schemas: every value is valid against the
// schema (so against Atlassian's spec), and the generator leans on the corners a real server is allowed to
// use: optional properties absent, nullable values null, empty arrays, unknown extra properties, every enum
// value. `$ref` (into the same document), allOf, oneOf/anyOf, nullable, enum, additionalProperties and the
// common formats are understood; depth and array sizes are bounded so recursive schemas (Content → Space →
// homepage Content …) stay small.
import fc from 'fast-check'

export type Schema = Record<string, any>

/** How optional properties are chosen: each by chance, none, or all of them (down to `maxDepth`). */
export type OptionalMode = 'random' | 'none' | 'all'

export interface SpecArbitraryOptions {
  /** Object/array nesting up to which optional properties and array items appear (default 4). Deeper: required only, arrays at their minimum. */
  maxDepth?: number
  /** Largest array generated (default 3). */
  maxItems?: number
  /** Add unknown properties where the schema allows them (default true). */
  extraProperties?: boolean
  optional?: OptionalMode
}

/** Past this depth a schema whose required properties keep nesting is a cycle the spec cannot satisfy. */
const HARD_DEPTH_MARGIN = 8
/** Keys Confluence uses in its free-form maps (`_links`, `_expandable`): unknown-key generators favour them. */
const LINK_KEYS = ['next', 'prev', 'base', 'context', 'self', 'webui', 'tinyui', 'download', 'editui']

export class SpecArbitraryError extends Error {}

/** An arbitrary for `schema`, whose `$ref`s resolve against `doc` (the whole OpenAPI document). */
export function specArbitrary (doc: Schema, schema: Schema, options: SpecArbitraryOptions = {}): fc.Arbitrary<unknown> {
  return new Builder(doc, {
    maxDepth: options.maxDepth ?? 4,
    maxItems: options.maxItems ?? 3,
    extraProperties: options.extraProperties ?? true,
    optional: options.optional ?? 'random'
  }).build(schema, 0)
}

/**
 * The usual mix for property tests: bodies with only the required properties, with random optional ones, and
 * with all of them (at a smaller depth, as "all" multiplies).
 */
export function specBodies (doc: Schema, schema: Schema, options: Omit<SpecArbitraryOptions, 'optional'> = {}): fc.Arbitrary<unknown> {
  return fc.oneof(
    specArbitrary(doc, schema, { ...options, optional: 'none' }),
    { arbitrary: specArbitrary(doc, schema, { ...options, optional: 'random' }), weight: 2 },
    specArbitrary(doc, schema, { ...options, optional: 'all', maxDepth: Math.min(options.maxDepth ?? 4, 2) })
  )
}

/** The JSON Schema of the 2xx response of `method path` in an OpenAPI document (path as written in the spec). */
export function responseSchema (doc: Schema, path: string, method: string, status = '200'): Schema | undefined {
  const op = doc.paths?.[path]?.[method.toLowerCase()]
  if (op === undefined) throw new SpecArbitraryError(`no operation ${method} ${path} in the document`)
  const response = resolve(doc, op.responses?.[status])
  return response?.content?.['application/json']?.schema
}

/** Follows `#/...` references within the document. */
export function resolve (doc: Schema, schema: Schema | undefined): Schema | undefined {
  let current = schema
  for (let hops = 0; current !== undefined && typeof current.$ref === 'string'; hops++) {
    if (hops > 32) throw new SpecArbitraryError(`reference loop at ${String(current.$ref)}`)
    const ref: string = current.$ref
    if (!ref.startsWith('#/')) throw new SpecArbitraryError(`only local references are supported (${ref})`)
    current = ref.slice(2).split('/').map(unescapePointer).reduce<any>((node, key) => node?.[key], doc)
    if (current === undefined) throw new SpecArbitraryError(`unresolvable reference ${ref}`)
  }
  return current
}

function unescapePointer (segment: string): string { return segment.replace(/~1/g, '/').replace(/~0/g, '~') }

interface Settings { maxDepth: number, maxItems: number, extraProperties: boolean, optional: OptionalMode }

class Builder {
  /** One arbitrary per (reference, depth): refs repeat a lot inside Confluence's schemas. */
  private readonly cache = new Map<string, fc.Arbitrary<unknown>>()

  constructor (private readonly doc: Schema, private readonly s: Settings) {}

  build (schema: Schema | boolean | undefined, depth: number): fc.Arbitrary<unknown> {
    if (schema === undefined || schema === true) return anyJson()
    if (schema === false) throw new SpecArbitraryError('a schema of false has no values')
    if (depth > this.s.maxDepth + HARD_DEPTH_MARGIN) throw new SpecArbitraryError('required properties nest without end')
    if (typeof schema.$ref === 'string') {
      const key = `${schema.$ref as string}@${Math.min(depth, this.s.maxDepth + 1)}`
      const hit = this.cache.get(key)
      if (hit !== undefined) return hit
      const arb = this.build(resolve(this.doc, schema), depth)
      this.cache.set(key, arb)
      return arb
    }
    const base = this.nonNull(schema, depth)
    // OpenAPI 3.0.3: nullable does not widen an enum that leaves null out (and validators agree).
    const nullable = schema.nullable === true && !(Array.isArray(schema.enum) && !schema.enum.includes(null))
    return nullable ? fc.oneof(fc.constant(null), { arbitrary: base, weight: 3 }) : base
  }

  private nonNull (schema: Schema, depth: number): fc.Arbitrary<unknown> {
    if (Array.isArray(schema.allOf)) return this.build(this.mergeAllOf(schema), depth)
    const choices = schema.oneOf ?? schema.anyOf
    if (Array.isArray(choices)) {
      // Sibling keywords (properties beside a oneOf) apply to every branch.
      const { oneOf: _o, anyOf: _a, nullable: _n, ...rest } = schema
      const siblings = Object.keys(rest).length > 0 ? rest : undefined
      return fc.oneof(...choices.map((c: Schema) => this.build(siblings === undefined ? c : { allOf: [siblings, c] }, depth)))
    }
    if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum)
    if ('const' in schema) return fc.constant(schema.const)
    const type = schema.type ?? (schema.properties !== undefined || schema.additionalProperties !== undefined ? 'object' : schema.items !== undefined ? 'array' : undefined)
    switch (type) {
      case 'object': return this.object(schema, depth)
      case 'array': return this.array(schema, depth)
      case 'string': return stringOf(schema)
      case 'integer': return integerOf(schema)
      case 'number': return numberOf(schema)
      case 'boolean': return fc.boolean()
      case undefined: return anyJson()
      default: throw new SpecArbitraryError(`unknown type ${String(type)}`)
    }
  }

  /** allOf as one object schema: properties and required lists united (a property named twice is itself an allOf). */
  private mergeAllOf (schema: Schema): Schema {
    const { allOf, ...own } = schema
    const parts = [own, ...(allOf as Schema[]).map(p => {
      const r = resolve(this.doc, p) ?? {}
      return Array.isArray(r.allOf) ? this.mergeAllOf(r) : r
    })]
    const merged: Schema = { type: 'object', properties: {}, required: [] }
    for (const part of parts) {
      for (const [name, prop] of Object.entries(part.properties ?? {})) {
        merged.properties[name] = merged.properties[name] === undefined ? prop : { allOf: [merged.properties[name], prop] }
      }
      merged.required.push(...(part.required ?? []))
      if (part.additionalProperties === false) merged.additionalProperties = false
      else if (part.additionalProperties !== undefined && merged.additionalProperties === undefined) merged.additionalProperties = part.additionalProperties
      if (part.nullable === true) merged.nullable = true
      if (part.enum !== undefined) merged.enum = part.enum
      if (part.type !== undefined && part.type !== 'object') merged.type = part.type
    }
    return merged
  }

  private object (schema: Schema, depth: number): fc.Arbitrary<unknown> {
    const properties: Record<string, Schema> = schema.properties ?? {}
    const required = new Set<string>(schema.required ?? [])
    const deep = depth >= this.s.maxDepth
    const model: Record<string, fc.Arbitrary<unknown>> = {}
    const requiredKeys: string[] = []
    for (const [name, prop] of Object.entries(properties)) {
      if (resolve(this.doc, prop)?.writeOnly === true) continue
      const isRequired = required.has(name)
      if (!isRequired && (deep || this.s.optional === 'none')) continue
      model[name] = this.build(prop, depth + 1)
      if (isRequired || this.s.optional === 'all') requiredKeys.push(name)
    }
    // A required property the schema does not describe: any value will do.
    for (const name of required) if (model[name] === undefined) { model[name] = anyJson(); requiredKeys.push(name) }
    const declared = fc.record(model, { requiredKeys })
    const extras = this.extras(schema, Object.keys(properties), depth, deep)
    if (extras === undefined) return declared
    return fc.tuple(declared, extras).map(([d, x]) => ({ ...x, ...d }))
  }

  /** Unknown properties, where additionalProperties allows them (OpenAPI's default does). */
  private extras (schema: Schema, declared: string[], depth: number, deep: boolean): fc.Arbitrary<Record<string, unknown>> | undefined {
    const extra = schema.additionalProperties
    if (extra === false) return undefined
    const typed = extra !== undefined && extra !== true
    if (!typed && (!this.s.extraProperties || deep || this.s.optional === 'none')) return undefined
    const taken = new Set(declared)
    const key = fc.oneof(fc.constantFrom(...LINK_KEYS), fc.string({ minLength: 1, maxLength: 8 })).filter(k => !taken.has(k) && k !== '__proto__')
    const value = typed ? this.build(extra, depth + 1) : anyJson()
    const maxKeys = deep || this.s.optional === 'none' ? 0 : typed ? this.s.maxItems : 2
    return fc.dictionary(key, value, { maxKeys })
  }

  private array (schema: Schema, depth: number): fc.Arbitrary<unknown> {
    const min: number = schema.minItems ?? 0
    const deep = depth >= this.s.maxDepth
    const max = Math.max(min, deep ? min : Math.min(schema.maxItems ?? this.s.maxItems, this.s.maxItems))
    if (max === 0) return fc.constant([])
    const items = this.build(schema.items, depth + 1)
    return schema.uniqueItems === true
      ? fc.uniqueArray(items, { minLength: min, maxLength: max, selector: v => JSON.stringify(v) })
      : fc.array(items, { minLength: min, maxLength: max })
  }
}

function stringOf (schema: Schema): fc.Arbitrary<string> {
  switch (schema.format) {
    case 'date-time': return fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') }).map(d => d.toISOString())
    case 'date': return fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') }).map(d => d.toISOString().slice(0, 10))
    case 'uri': case 'url': return fc.webUrl()
    case 'email': return fc.emailAddress()
    case 'uuid': return fc.uuid()
  }
  const minLength: number = schema.minLength ?? 0
  const maxLength: number = Math.max(minLength, Math.min(schema.maxLength ?? 16, 16))
  if (typeof schema.pattern === 'string') {
    return fc.stringMatching(new RegExp(schema.pattern)).filter(v => v.length >= minLength && v.length <= (schema.maxLength ?? Infinity))
  }
  return fc.string({ minLength, maxLength })
}

function integerOf (schema: Schema): fc.Arbitrary<number> {
  const [lo, hi] = schema.format === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]
  const min = typeof schema.minimum === 'number' ? Math.ceil(schema.minimum + (schema.exclusiveMinimum === true ? 1 : 0)) : lo
  const max = typeof schema.maximum === 'number' ? Math.floor(schema.maximum - (schema.exclusiveMaximum === true ? 1 : 0)) : hi
  const small = { min: Math.max(min, -5), max: Math.min(max, 200) }
  if (small.min > small.max) return fc.integer({ min, max })
  // Small numbers most of the time (counts, positions), the whole range now and then.
  return fc.oneof({ arbitrary: fc.integer(small), weight: 3 }, fc.integer({ min, max }))
}

function numberOf (schema: Schema): fc.Arbitrary<number> {
  return fc.double({
    min: typeof schema.minimum === 'number' ? schema.minimum : -1e9,
    max: typeof schema.maximum === 'number' ? schema.maximum : 1e9,
    noNaN: true,
    noDefaultInfinity: true
  }).map(n => Object.is(n, -0) ? 0 : n)
}

function anyJson (): fc.Arbitrary<unknown> {
  return fc.jsonValue({ maxDepth: 1 })
}
