// Builds src/content/write-requests.json from the vendored official specs (simulator/contracts/): for each
// operation a content write sends, its method, path, query parameters and request-body schema with every
// $ref inlined. The spoke validates a dryRun's request against it; test/unit/content-write.test.ts checks the
// file still equals what this builds, so it cannot drift from the specs. Run to regenerate:
//   npx tsx test/helpers/write-request-schemas.ts
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export const WRITE_OPERATIONS = [
  'createPage', 'updatePage', 'deletePage', 'createBlogPost', 'updateBlogPost', 'deleteBlogPost',
  'createFooterComment', 'addLabelsToContent', 'removeLabelFromContentUsingQueryParameter'
] as const

const CONTRACTS = path.join(__dirname, '../../simulator/contracts')
export const OUTPUT = path.join(__dirname, '../../src/content/write-requests.json')

function load (file: string): any { return JSON.parse(readFileSync(path.join(CONTRACTS, file), 'utf8')) }

function inline (doc: any, value: any, seen: string[] = []): any {
  if (Array.isArray(value)) return value.map(v => inline(doc, v, seen))
  if (value === null || typeof value !== 'object') return value
  if (typeof value.$ref === 'string') {
    if (seen.includes(value.$ref)) return {}
    const target = value.$ref.slice(2).split('/').reduce((o: any, k: string) => o?.[k], doc)
    return inline(doc, target, [...seen, value.$ref])
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (k !== 'description' && k !== 'example') out[k] = inline(doc, v, seen)
  return out
}

/** The body unions the specs write as oneOf can match no object (see simulator/contracts/SOURCES.md): anyOf. */
function bodyUnionsAsAnyOf (schema: any): any {
  if (Array.isArray(schema)) return schema.map(bodyUnionsAsAnyOf)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) out[k] = bodyUnionsAsAnyOf(v)
  if (k(out)) { out.anyOf = out.oneOf; delete out.oneOf }
  return out
  function k (o: Record<string, unknown>): boolean {
    return Array.isArray(o.oneOf) && o.oneOf.length === 2 && (o.oneOf as any[]).every(b => b?.type === 'object' && b.required === undefined) &&
      (o.oneOf as any[]).some(b => b.properties?.representation !== undefined)
  }
}

export function buildWriteRequests (): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [file, prefix] of [['confluence-v2.openapi.json', '/wiki/api/v2'], ['confluence-v1.openapi.json', '']] as const) {
    const doc = load(file)
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        if (!(WRITE_OPERATIONS as readonly string[]).includes(op?.operationId)) continue
        const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((x: any) => inline(doc, x))
        const body = op.requestBody === undefined ? undefined : inline(doc, op.requestBody).content?.['application/json']?.schema
        out[op.operationId] = {
          method: method.toUpperCase(),
          path: prefix + p,
          query: Object.fromEntries(params.filter((x: any) => x.in === 'query').map((x: any) => [x.name, x.schema ?? {}])),
          ...(body !== undefined ? { body: bodyUnionsAsAnyOf(body) } : {})
        }
      }
    }
  }
  return Object.fromEntries(Object.keys(out).sort().map(k => [k, out[k]]))
}

export function renderWriteRequests (): string {
  return JSON.stringify({ $comment: 'Generated from simulator/contracts/ (Atlassian\'s official Confluence Cloud OpenAPI specs) by test/helpers/write-request-schemas.ts; do not edit.', operations: buildWriteRequests() }, null, 2) + '\n'
}

if (require.main === module) writeFileSync(OUTPUT, renderWriteRequests())
