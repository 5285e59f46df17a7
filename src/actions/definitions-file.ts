// Shapes several action files share (a user, a group, an account id) live once in `_definitions.json` beside
// them, under `$defs`. An action's input or output names one with `{ "$ref": "_definitions.json#/$defs/user" }`
// (the path an editor resolves from the action file too). The loader inlines every such $ref before it
// compiles or publishes a schema, so GET /v1/actions and /openapi.json carry no $ref a client cannot follow.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { JsonSchema } from './action-definition'

export const DEFINITIONS_FILE = '_definitions.json'

export type SharedDefinitions = ReadonlyMap<string, JsonSchema>

const REF = /^_definitions\.json#\/\$defs\/([A-Za-z][A-Za-z0-9]*)$/
/** Keywords that may stand beside a $ref: annotations only, so inlining means what the $ref means. */
const BESIDE_REF = new Set(['$ref', 'description', 'title', 'examples', 'deprecated'])

export class DefinitionError extends Error {
  constructor (message: string) { super(message); this.name = 'DefinitionError' }
}

/** The `$defs` of `<dir>/_definitions.json` (none when there is no such file). */
export function loadSharedDefinitions (dir: string): SharedDefinitions {
  const file = join(dir, DEFINITIONS_FILE)
  if (!existsSync(file)) return new Map()
  const json = JSON.parse(readFileSync(file, 'utf8')) as { $defs?: unknown }
  const defs = json.$defs
  if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) throw new DefinitionError('needs a "$defs" object of named schemas')
  const raw = new Map(Object.entries(defs as Record<string, JsonSchema>))
  // Resolve the definitions among themselves once; a cycle has no inlined form.
  const resolved = new Map<string, JsonSchema>()
  const resolving = new Set<string>()
  const resolve = (name: string, where: string): JsonSchema => {
    const done = resolved.get(name)
    if (done !== undefined) return done
    const schema = raw.get(name)
    if (schema === undefined) throw new DefinitionError(`${where}: no definition "${name}" in ${DEFINITIONS_FILE}`)
    if (resolving.has(name)) throw new DefinitionError(`${where}: definitions refer to each other in a cycle through "${name}"`)
    resolving.add(name)
    const out = inline(schema, `$defs.${name}`, resolve) as JsonSchema
    resolving.delete(name)
    resolved.set(name, out)
    return out
  }
  for (const name of raw.keys()) resolve(name, `$defs.${name}`)
  return resolved
}

/** A copy of `schema` with every shared-definition $ref replaced by the definition (plus its annotations). */
export function inlineRefs (schema: unknown, where: string, defs: SharedDefinitions): unknown {
  return inline(schema, where, (name, at) => {
    const def = defs.get(name)
    if (def === undefined) throw new DefinitionError(`${at}: no definition "${name}" in ${DEFINITIONS_FILE}`)
    return def
  })
}

function inline (value: unknown, where: string, lookup: (name: string, where: string) => JsonSchema): unknown {
  if (Array.isArray(value)) return value.map((v, i) => inline(v, `${where}[${i}]`, lookup))
  if (value === null || typeof value !== 'object') return value
  const obj = value as Record<string, unknown>
  if (typeof obj.$ref === 'string') {
    const m = REF.exec(obj.$ref)
    if (m === null) throw new DefinitionError(`${where}.$ref: only "${DEFINITIONS_FILE}#/$defs/<name>" may be referred to (got "${obj.$ref}")`)
    const extra = Object.keys(obj).find(k => !BESIDE_REF.has(k))
    if (extra !== undefined) throw new DefinitionError(`${where}: "${extra}" beside a $ref (only ${[...BESIDE_REF].slice(1).join(', ')} may be)`)
    const { $ref: _ref, ...annotations } = obj
    return { ...structuredClone(lookup(m[1], where)), ...annotations }
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = inline(v, `${where}.${k}`, lookup)
  return out
}
