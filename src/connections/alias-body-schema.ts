// The alias JSON Schema as a route body schema (moved out of validate.ts): no $id / $schema, which confuse
// the OpenAPI generator, and its local definitions (the alias-id rule) inlined, since the OpenAPI document
// would otherwise point at components that do not exist.
import aliasSchema from './alias.schema.json'

export function aliasBodySchema (): Record<string, unknown> {
  const { $id: _id, $schema: _s, definitions, ...rest } = aliasSchema as Record<string, unknown>
  return inline(rest, (definitions ?? {}) as Record<string, Record<string, unknown>>) as Record<string, unknown>
}

function inline (node: unknown, defs: Record<string, Record<string, unknown>>): unknown {
  if (Array.isArray(node)) return node.map(n => inline(n, defs))
  if (node === null || typeof node !== 'object') return node
  const { $ref, ...rest } = node as Record<string, unknown>
  const base = typeof $ref === 'string' && $ref.startsWith('#/definitions/') ? defs[$ref.slice('#/definitions/'.length)] : undefined
  const out: Record<string, unknown> = base ? { ...base } : ($ref !== undefined ? { $ref } : {})
  for (const [k, v] of Object.entries(rest)) out[k] = inline(v, defs)
  return out
}
