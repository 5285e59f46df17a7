// Reads actions/*.json at start, checks each against the meta-schema and the rules a schema cannot say,
// and compiles everything once: input/output validators, request templates, output mappings.
// Any problem throws ActionLoadError naming the file, which stops the start.
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import type { ValidateFunction } from 'ajv'
import type { HttpMethod } from '../confluence/types'
import type { ActionDefinition, JsonSchema, PaginationSpec } from './action-definition'
import metaSchema from './action-definition.schema.json'
import { createInputAjv, createMetaAjv, createOutputAjv } from './ajv'
import { HANDLERS } from './handlers'
import type { ActionHandler } from './handlers/types'
import { compileTemplate, referencesSite, type Rendered } from './template'
import { encodeInputComponent } from '../lib/uri'

export class ActionLoadError extends Error {
  constructor (readonly file: string, reason: string) {
    super(`Invalid action file ${file}: ${reason}`)
    this.name = 'ActionLoadError'
  }
}

/** The public description of an action (GET /v1/actions). */
export type ActionSummary = Pick<ActionDefinition, 'id' | 'version' | 'title' | 'description' | 'mode' | 'scopes' | 'annotations' | 'input' | 'output'>

export interface CompiledRequest {
  method: HttpMethod
  base: 'confluence' | 'api'
  path: Rendered
  query?: Rendered
  headers?: Rendered
  body?: Rendered
}

export type CompiledMapping =
  | { kind: 'value', value: Rendered }
  | { kind: 'list', items: Rendered, item: Rendered }

export interface CompiledAction {
  id: string
  file: string
  definition: ActionDefinition
  summary: ActionSummary
  validateInput: ValidateFunction
  validateOutput: ValidateFunction
  request?: CompiledRequest
  pagination?: PaginationSpec
  mapping?: CompiledMapping
  handler?: { run: ActionHandler, params: Record<string, unknown> }
  /** The templates read `connection.site`: look the site up before mapping. */
  needsSite: boolean
}

const REQUEST_ROOTS = ['input', 'connection'] as const
const MAPPING_ROOTS = ['input', 'connection', 'response', 'item', 'index'] as const
const PAGINATION_INPUTS = ['limit', 'cursor', 'all', 'maxResults'] as const

export function loadActions (dir: string): CompiledAction[] {
  const root = resolve(dir)
  let files: string[]
  try {
    files = readdirSync(root).filter(f => f.endsWith('.json') && !f.endsWith('.schema.json')).sort()
  } catch (err) {
    throw new ActionLoadError(root, `cannot read the actions directory (${(err as Error).message})`)
  }
  const compiler = new ActionCompiler()
  return files.map(f => {
    const file = join(root, f)
    let json: unknown
    try { json = JSON.parse(readFileSync(file, 'utf8')) } catch (err) { throw new ActionLoadError(file, `not valid JSON (${(err as Error).message})`) }
    return compiler.compile(json, file)
  })
}

/** Compiles definitions with shared ajv instances (one per purpose, reused across files). */
export class ActionCompiler {
  private readonly meta = createMetaAjv().compile(metaSchema)
  private readonly inputAjv = createInputAjv()
  private readonly outputAjv = createOutputAjv()
  private readonly paramsAjv = createMetaAjv()

  compile (json: unknown, file: string): CompiledAction {
    if (!this.meta(json)) {
      const reasons = (this.meta.errors ?? []).map(e => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length > 0 ? ' ' + JSON.stringify(e.params) : ''}`)
      throw new ActionLoadError(file, reasons.join('; '))
    }
    const def = json as unknown as ActionDefinition
    const expectedId = basename(file).replace(/\.json$/, '')
    if (def.id !== expectedId) throw new ActionLoadError(file, `id "${def.id}" must equal the file name "${expectedId}"`)

    const validateInput = this.schema(this.inputAjv, def.input, file, 'input')
    const validateOutput = this.schema(this.outputAjv, def.output, file, 'output')
    const compiled: CompiledAction = {
      id: def.id,
      file,
      definition: def,
      summary: {
        id: def.id,
        version: def.version,
        title: def.title,
        description: def.description,
        mode: def.mode,
        scopes: def.scopes,
        annotations: def.annotations,
        input: def.input,
        output: def.output
      },
      validateInput,
      validateOutput,
      needsSite: referencesSite(def.mapping) || referencesSite(def.request)
    }
    try {
      if (def.handler !== undefined) {
        const spec = HANDLERS[def.handler.name]
        if (spec === undefined) throw new Error(`unknown handler "${def.handler.name}" (known: ${Object.keys(HANDLERS).join(', ')})`)
        const params = def.handler.params ?? {}
        const check = this.paramsAjv.compile(spec.params)
        if (!check(params)) throw new Error(`handler.params: ${this.paramsAjv.errorsText(check.errors)}`)
        compiled.handler = { run: spec.run, params }
        return compiled
      }
      const req = def.request!
      compiled.request = {
        method: req.method,
        base: req.base ?? 'confluence',
        path: compileTemplate(req.path, 'request.path', { roots: REQUEST_ROOTS, encode: encodeInputComponent }),
        query: req.query === undefined ? undefined : compileTemplate(req.query, 'request.query', { roots: REQUEST_ROOTS }),
        headers: req.headers === undefined ? undefined : compileTemplate(req.headers, 'request.headers', { roots: REQUEST_ROOTS }),
        body: req.body === undefined ? undefined : compileTemplate(req.body, 'request.body', { roots: REQUEST_ROOTS })
      }
      const mapping = def.mapping!
      compiled.mapping = 'value' in mapping
        ? { kind: 'value', value: compileTemplate(mapping.value, 'mapping.value', { roots: MAPPING_ROOTS }) }
        : {
            kind: 'list',
            items: compileTemplate(mapping.items, 'mapping.items', { roots: MAPPING_ROOTS }),
            item: compileTemplate(mapping.item, 'mapping.item', { roots: MAPPING_ROOTS })
          }
      if (def.pagination !== undefined) {
        this.checkPagination(def, def.pagination)
        compiled.pagination = def.pagination
      }
    } catch (err) {
      throw new ActionLoadError(file, (err as Error).message)
    }
    return compiled
  }

  private schema (ajv: ReturnType<typeof createInputAjv>, schema: JsonSchema, file: string, which: 'input' | 'output'): ValidateFunction {
    const { $schema, ...rest } = schema
    if ($schema !== undefined && $schema !== 'https://json-schema.org/draft/2020-12/schema') {
      throw new ActionLoadError(file, `${which}.$schema must be draft 2020-12 (or left out)`)
    }
    try {
      return ajv.compile(rest)
    } catch (err) {
      throw new ActionLoadError(file, `${which} schema: ${(err as Error).message}`)
    }
  }

  private checkPagination (def: ActionDefinition, p: PaginationSpec): void {
    if (!('items' in def.mapping!)) throw new Error('a paginated action maps a list: mapping needs "items" and "item"')
    if (p.defaultLimit > p.maxLimit) throw new Error('pagination.defaultLimit is above maxLimit')
    if (p.style === 'offset' && p.startParam === undefined) throw new Error('offset pagination needs startParam')
    const props = (def.input.properties ?? {}) as Record<string, { maximum?: unknown }>
    for (const name of PAGINATION_INPUTS) {
      if (props[name] === undefined) throw new Error(`a paginated action declares the input "${name}"`)
    }
    if (typeof props.limit.maximum !== 'number' || props.limit.maximum > p.maxLimit) throw new Error(`input.limit needs a maximum of at most ${p.maxLimit}`)
    if (def.request!.query !== undefined && (p.limitParam in def.request!.query || (p.startParam !== undefined && p.startParam in def.request!.query))) {
      throw new Error('the engine sets the page size and position: leave them out of request.query')
    }
  }
}
