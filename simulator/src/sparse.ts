// Sparse mode: every answer keeps only what the spec marks required. The body is walked against the
// operation's documented response schema ($ref, allOf, oneOf/anyOf, nullable, arrays, maps) and each object
// loses the properties its schema does not require (and any the schema does not declare). So a client sees
// the least Confluence may send, and whatever survives this must be all it relies on.
// Two exceptions, both about lists: a top-level `results` stays (v2 list envelopes do not require it, but a
// list answer without its list says nothing), and a top-level `_links.next` stays, because paging (the
// simulator's own, and any client's) needs it and the spec says it is there when more results exist. The
// `Link` header is left as it is.
import type { Contract, Operation } from './contract'

type Schema = Record<string, any>

export function sparseBody (contract: Contract, op: Operation, status: number, body: unknown): unknown {
  const schema = op.responses.get(String(status)) as Schema | undefined
  const doc = contract.documents.get(op.version) as Schema | undefined
  if (schema === undefined || doc === undefined || body === undefined) return body
  // The list itself counts as required (its items are still pruned by their own schema).
  const hasList = Array.isArray((body as { results?: unknown } | null)?.results)
  const pruned = new Pruner(doc).prune(hasList ? { allOf: [schema, { required: ['results'] }] } : schema, body)
  return keepNextLink(body, pruned)
}

class Pruner {
  constructor (private readonly doc: Schema) {}

  prune (schema: Schema | undefined, value: unknown): unknown {
    if (value === null || typeof value !== 'object') return value
    const s = this.flatten(schema, value)
    if (s === undefined) return value
    if (Array.isArray(value)) return value.map((item) => this.prune(s.items, item))
    const object = value as Record<string, unknown>
    const declared = s.properties as Record<string, Schema> | undefined
    const out: Record<string, unknown> = {}
    if (declared === undefined || Object.keys(declared).length === 0) {
      // A map (`GenericLinks`, `_expandable`): its entries are data, not optional fields.
      const entry = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined
      for (const [k, v] of Object.entries(object)) out[k] = this.prune(entry, v)
      return out
    }
    for (const name of (s.required ?? []) as string[]) {
      if (name in object) out[name] = this.prune(declared[name], object[name])
    }
    return out
  }

  /** The schema as one object/array schema: refs followed, allOf merged, the oneOf/anyOf branches that fit the value merged. */
  private flatten (schema: Schema | undefined, value: unknown): Schema | undefined {
    const s = this.resolve(schema)
    if (s === undefined) return undefined
    const parts: Schema[] = []
    if (Array.isArray(s.allOf)) parts.push(...(s.allOf as Schema[]).map((p) => this.flatten(p, value)).filter((p): p is Schema => p !== undefined))
    const choices = (s.oneOf ?? s.anyOf) as Schema[] | undefined
    if (Array.isArray(choices)) {
      // Keeping what any fitting branch requires keeps the body valid for the branch it matched.
      parts.push(...choices.map((c) => this.flatten(c, value)).filter((c): c is Schema => c !== undefined && fits(c, value)))
    }
    if (parts.length === 0) return s
    const merged: Schema = { ...s, properties: { ...(s.properties ?? {}) }, required: [...(s.required ?? [])] }
    for (const p of parts) {
      Object.assign(merged.properties, p.properties ?? {})
      merged.required.push(...(p.required ?? []))
      if (p.items !== undefined) merged.items ??= p.items
      if (p.additionalProperties !== undefined) merged.additionalProperties ??= p.additionalProperties
    }
    return merged
  }

  private resolve (schema: Schema | undefined): Schema | undefined {
    let s = schema
    for (let hops = 0; s !== undefined && typeof s.$ref === 'string' && hops < 32; hops++) {
      const ref = s.$ref as string
      const pointer = ref.slice(ref.indexOf('#') + 2)
      s = pointer.split('/').reduce<any>((node, key) => node?.[key], this.doc)
    }
    return s
  }
}

function fits (schema: Schema, value: unknown): boolean {
  const type = schema.type as string | undefined
  if (Array.isArray(value)) return type === 'array' || (type === undefined && schema.items !== undefined)
  return type === 'object' || (type === undefined && schema.items === undefined)
}

function keepNextLink (original: unknown, pruned: unknown): unknown {
  const links = (original as { _links?: { next?: unknown } } | null)?._links
  if (links === undefined || links === null || typeof links !== 'object' || links.next === undefined) return pruned
  const out = pruned as Record<string, unknown>
  out._links = { ...(out._links as object | undefined), next: links.next }
  return out
}
