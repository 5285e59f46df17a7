// The request contract: Atlassian's official Confluence OpenAPI specs (this package's contracts/ folder), loaded once per
// process. Paths go into a segment trie (no scan of all spec paths per request); each operation's
// parameter and body validators are compiled with ajv on first use and kept for the process lifetime.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

export type ApiVersion = 'v1' | 'v2'
type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object'

export interface ParamSpec {
  name: string
  required: boolean
  kind: Kind
  itemKind: Kind
  /** form style with explode=false: one comma-separated value instead of repeated keys */
  commaSeparated: boolean
}

export interface Operation {
  operationId: string
  method: string
  /** full path template as called on a site, e.g. /wiki/api/v2/pages/{id} */
  template: string
  version: ApiVersion
  /** `x-atlassian-oauth2-scopes`: any one set suffices; empty = no OAuth scope requirement */
  scopeSets: string[][]
  pathParams: ParamSpec[]
  queryParams: Map<string, ParamSpec>
  body?: { required: boolean, contentTypes: string[], schema?: object, multipartSchema?: object }
  validators?: { path: ValidateFunction, query: ValidateFunction, body?: ValidateFunction, multipart?: ValidateFunction }
  responses: Map<string, object | undefined>
  responseValidators?: Map<string, ValidateFunction | undefined>
}

export interface ValidRequest {
  pathParams: Record<string, unknown>
  query: Record<string, unknown>
  body: unknown
}

export type Validation = { ok: true, value: ValidRequest } | { ok: false, reason: string }

interface TrieNode { fixed: Map<string, TrieNode>, param?: TrieNode, ops: Map<string, Operation> }

const SPEC_DIR = process.env.SIMULATOR_CONTRACTS_DIR ?? path.resolve(__dirname, '../contracts')
const SPECS: Array<{ version: ApiVersion, file: string, prefix: string }> = [
  { version: 'v1', file: 'confluence-v1.openapi.json', prefix: '' },
  { version: 'v2', file: 'confluence-v2.openapi.json', prefix: '/wiki/api/v2' }
]
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']

export class Contract {
  readonly operations = new Map<string, Operation>()
  /** The parsed specs, for walking response schemas (sparse mode). */
  readonly documents = new Map<ApiVersion, object>()
  private readonly root: TrieNode = newNode()
  private readonly ajv: Ajv

  constructor (specDir = SPEC_DIR) {
    this.ajv = new Ajv({ strict: false, allErrors: false })
    addFormats(this.ajv)
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 })
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) })
    this.ajv.addFormat('binary', true)
    this.ajv.addFormat('string', true)
    for (const spec of SPECS) {
      const doc = JSON.parse(readFileSync(path.join(specDir, spec.file), 'utf8')) as OpenApiDoc
      this.ajv.addSchema({ ...(overlappingBodiesAsAnyOf(doc) as OpenApiDoc), $id: spec.version })
      this.documents.set(spec.version, doc)
      this.index(doc, spec.version, spec.prefix)
    }
  }

  /** The operation for a method and a site path (`/wiki/...`), with its raw path parameters. */
  match (method: string, sitePath: string): { op: Operation, rawPathParams: string[] } | undefined {
    const segments = sitePath.split('/').slice(1)
    const values: string[] = []
    const node = walk(this.root, segments, 0, values)
    const op = node?.ops.get(method.toLowerCase())
    return op ? { op, rawPathParams: values } : undefined
  }

  /** Whether some operation exists for the path with another method (for the 400 reason). */
  methodsAt (sitePath: string): string[] {
    const node = walk(this.root, sitePath.split('/').slice(1), 0, [])
    return node ? [...node.ops.keys()].map((m) => m.toUpperCase()) : []
  }

  validate (op: Operation, rawPathParams: string[], rawQuery: URLSearchParams, contentType: string | undefined, body: unknown): Validation {
    const validators = op.validators ?? (op.validators = this.compile(op))
    const pathParams: Record<string, unknown> = {}
    op.pathParams.forEach((p, i) => { pathParams[p.name] = coerce(safeDecode(rawPathParams[i]), p.kind) })
    if (!validators.path(pathParams)) return { ok: false, reason: describe('path parameter', validators.path.errors) }

    const query: Record<string, unknown> = {}
    for (const name of new Set(rawQuery.keys())) {
      const spec = op.queryParams.get(name)
      if (!spec) return { ok: false, reason: `query parameter '${name}' is not defined for ${op.operationId}` }
      const raw = rawQuery.getAll(name)
      if (spec.kind === 'array') {
        const items = spec.commaSeparated ? raw.join(',').split(',') : raw
        query[name] = items.map((v) => coerce(v, spec.itemKind))
      } else if (raw.length > 1) {
        return { ok: false, reason: `query parameter '${name}' must not be repeated` }
      } else {
        query[name] = coerce(raw[0], spec.kind)
      }
    }
    if (!validators.query(query)) return { ok: false, reason: describe('query parameter', validators.query.errors) }

    const bodyCheck = this.checkBody(op, contentType, body)
    if (bodyCheck) return { ok: false, reason: bodyCheck }
    return { ok: true, value: { pathParams, query, body } }
  }

  /** Checks a JSON response body against the operation's documented response schema (for the simulator's own tests). */
  validateResponse (op: Operation, status: number, body: unknown): string | undefined {
    const key = op.responses.has(String(status)) ? String(status) : op.responses.has('default') ? 'default' : undefined
    if (key === undefined) return status < 400 ? `status ${status} is not documented for ${op.operationId}` : undefined
    const validators = op.responseValidators ?? (op.responseValidators = new Map())
    if (!validators.has(key)) {
      const schema = op.responses.get(key)
      validators.set(key, schema ? this.ajv.compile(schema) : undefined)
    }
    const validate = validators.get(key)
    if (!validate || body === undefined || validate(body)) return undefined
    return describe('response body', validate.errors)
  }

  private checkBody (op: Operation, contentType: string | undefined, body: unknown): string | undefined {
    const present = body !== undefined && body !== null && body !== ''
    if (!op.body) return present ? `${op.operationId} takes no request body` : undefined
    if (!present) return op.body.required ? `${op.operationId} requires a request body` : undefined
    if (body instanceof InvalidJson) return `request body is not valid JSON: ${body.message}`
    const type = (contentType ?? '').split(';')[0].trim().toLowerCase()
    if (!op.body.contentTypes.some((t) => t === '*/*' || t === type)) {
      return `content type '${type || '(none)'}' is not accepted by ${op.operationId} (expects ${op.body.contentTypes.join(', ')})`
    }
    const validate = op.validators?.body
    if (type === 'application/json' && validate && !validate(body)) return describe('request body', validate.errors)
    // a multipart body arrives parsed (uploads.ts): each part name with one string, checked like a JSON body
    const multipart = op.validators?.multipart
    if (type === 'multipart/form-data' && multipart) {
      const parts = body as { specView?: () => Record<string, string> }
      if (typeof parts.specView !== 'function') return 'request body is not a multipart/form-data body'
      if (!multipart(parts.specView())) return describe('request body', multipart.errors)
    }
    return undefined
  }

  private compile (op: Operation): NonNullable<Operation['validators']> {
    const schemaOf = (params: ParamSpec[], schemas: Map<string, object>): object => ({
      type: 'object',
      properties: Object.fromEntries(params.map((p) => [p.name, schemas.get(p.name) ?? {}])),
      required: params.filter((p) => p.required).map((p) => p.name)
    })
    const schemas = paramSchemas.get(op) ?? new Map<string, object>()
    return {
      path: this.ajv.compile(schemaOf(op.pathParams, schemas)),
      query: this.ajv.compile(schemaOf([...op.queryParams.values()], schemas)),
      body: op.body?.schema ? this.ajv.compile(op.body.schema) : undefined,
      multipart: op.body?.multipartSchema ? this.ajv.compile(op.body.multipartSchema) : undefined
    }
  }

  private index (doc: OpenApiDoc, version: ApiVersion, prefix: string): void {
    const resolve = (value: unknown): any => resolveRef(doc, value)
    for (const [specPath, item] of Object.entries(doc.paths)) {
      const template = prefix + specPath
      for (const method of METHODS) {
        const raw = item[method] as RawOperation | undefined
        if (!raw) continue
        const schemas = new Map<string, object>()
        const pathParams: ParamSpec[] = []
        const queryParams = new Map<string, ParamSpec>()
        for (const ref of [...(item.parameters ?? []), ...(raw.parameters ?? [])]) {
          const p = resolve(ref) as RawParameter
          if (p.in !== 'path' && p.in !== 'query') continue
          const schema = resolve(p.schema ?? {}) as RawSchema
          const spec: ParamSpec = {
            name: p.name,
            required: p.required === true || p.in === 'path',
            kind: (schema.type ?? 'string') as Kind,
            itemKind: ((resolve(schema.items ?? {}) as RawSchema).type ?? 'string') as Kind,
            commaSeparated: p.explode === false
          }
          schemas.set(p.name, rewriteRefs(p.schema ?? {}, version))
          if (p.in === 'path') pathParams.push(spec); else queryParams.set(p.name, spec)
        }
        // path parameters in template order, so trie captures line up with them
        const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
        pathParams.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name))
        const op: Operation = {
          operationId: raw.operationId,
          method,
          template,
          version,
          scopeSets: (raw['x-atlassian-oauth2-scopes'] ?? []).map((s) => s.scopes),
          pathParams,
          queryParams,
          body: raw.requestBody ? bodySpec(resolve(raw.requestBody) as RawBody, version) : undefined,
          responses: new Map(Object.entries(raw.responses ?? {}).map(([status, r]) => {
            const schema = (resolve(r) as RawBody).content?.['application/json']?.schema
            return [status, schema ? rewriteRefs(schema, version) : undefined]
          }))
        }
        paramSchemas.set(op, schemas)
        this.operations.set(op.operationId, op)
        insert(this.root, template.split('/').slice(1)).ops.set(method, op)
      }
    }
  }
}

let shared: Contract | undefined
/** The process-wide contract: specs are parsed and validators compiled once, whatever the number of simulators. */
export function loadContract (): Contract {
  return shared ?? (shared = new Contract())
}

/** Marks a request body that failed to parse as JSON, so validation can report it. */
export class InvalidJson {
  constructor (readonly message: string) {}
}

const paramSchemas = new WeakMap<Operation, Map<string, object>>()

function newNode (): TrieNode { return { fixed: new Map(), ops: new Map() } }

function insert (node: TrieNode, segments: string[]): TrieNode {
  for (const segment of segments) {
    if (segment.startsWith('{')) node = node.param ?? (node.param = newNode())
    else {
      let next = node.fixed.get(segment)
      if (!next) { next = newNode(); node.fixed.set(segment, next) }
      node = next
    }
  }
  return node
}

/** Static segments win over parameters; backtracks when a static branch dead-ends. */
function walk (node: TrieNode, segments: string[], i: number, values: string[]): TrieNode | undefined {
  if (i === segments.length) return node.ops.size > 0 ? node : undefined
  const fixed = node.fixed.get(segments[i])
  if (fixed) {
    const found = walk(fixed, segments, i + 1, values)
    if (found) return found
  }
  if (node.param && segments[i] !== '') {
    values.push(segments[i])
    const found = walk(node.param, segments, i + 1, values)
    if (found) return found
    values.pop()
  }
  return undefined
}

function coerce (value: string, kind: Kind): unknown {
  if (kind === 'integer' || kind === 'number') return value !== '' && !Number.isNaN(Number(value)) ? Number(value) : value
  if (kind === 'boolean') return value === 'true' ? true : value === 'false' ? false : value
  return value
}

function safeDecode (value: string): string {
  try { return decodeURIComponent(value) } catch { return value }
}

function describe (where: string, errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0]
  if (!e) return `${where} is invalid`
  if (e.keyword === 'required' && e.instancePath === '' && !where.endsWith('body')) {
    return `${where} '${String(e.params.missingProperty)}' is required`
  }
  const [, name, ...rest] = e.instancePath.split('/')
  const subject = where === 'request body' || where === 'response body'
    ? `${where}${e.instancePath ? ` field '${e.instancePath.slice(1)}'` : ''}`
    : `${where} '${name}'${rest.length ? `[${rest.join('/')}]` : ''}`
  const allowed = e.keyword === 'enum' ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''
  return `${subject} ${e.message ?? 'is invalid'}${allowed}`
}

function bodySpec (body: RawBody, version: ApiVersion): NonNullable<Operation['body']> {
  const content = body.content ?? {}
  const json = content['application/json']?.schema
  const multipart = content['multipart/form-data']?.schema
  return {
    required: body.required === true,
    contentTypes: Object.keys(content),
    schema: json ? overlappingBodiesAsAnyOf(rewriteRefs(json, version)) : undefined,
    multipartSchema: multipart ? rewriteRefs(multipart, version) : undefined
  }
}

/**
 * The v2 write bodies say `body: { oneOf: [XBodyWrite, XNestedBodyWrite] }`, but neither branch requires a
 * field or forbids extra ones, so every object matches both and a literal `oneOf` refuses every body,
 * including the `{ representation, value }` Confluence documents and accepts. The only reading under which
 * any request is valid is "one of these shapes": those two-way body unions are checked as `anyOf`. Nothing
 * else in the specs is read differently.
 */
function overlappingBodiesAsAnyOf (schema: object): object {
  return JSON.parse(JSON.stringify(schema).replace(/"oneOf":(\[\{"\$ref":"[^"]*#\/components\/schemas\/\w*BodyWrite"\},\{"\$ref":"[^"]*#\/components\/schemas\/\w*NestedBodyWrite"\}\])/g, '"anyOf":$1')) as object
}

/** Local `#/components/...` refs become `<version>#/components/...`, resolvable in the ajv instance. */
function rewriteRefs (schema: object, version: ApiVersion): object {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${version}#/`)) as object
}

function resolveRef (doc: OpenApiDoc, value: unknown): unknown {
  let current = value as { $ref?: string }
  while (current && typeof current.$ref === 'string') {
    current = current.$ref.slice(2).split('/').reduce<any>((o, k) => o?.[k], doc)
  }
  return current
}

interface OpenApiDoc { paths: Record<string, Record<string, unknown> & { parameters?: unknown[] }> }
interface RawOperation {
  operationId: string
  parameters?: unknown[]
  requestBody?: unknown
  responses?: Record<string, unknown>
  'x-atlassian-oauth2-scopes'?: Array<{ scopes: string[] }>
}
interface RawParameter { name: string, in: string, required?: boolean, explode?: boolean, schema?: object }
interface RawSchema { type?: string, items?: object }
interface RawBody { required?: boolean, content?: Record<string, { schema?: object }> }
