// Reads actions/*.json at start (not `_definitions.json`, not the `*.cases.json` test fixtures), inlines the
// shared definitions they $ref, checks each against the meta-schema and the rules a schema cannot say, adds
// the shapes the engine owns (list-shape.ts), and compiles everything once: input/output validators, request
// templates, output mappings. Any problem throws ActionLoadError naming the file, which stops the start.
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import type { ValidateFunction } from 'ajv'
import type { HttpMethod } from '../confluence/types'
import type { ActionDefinition, ActionFile, JsonSchema, PaginationSpec } from './action-definition'
import metaSchema from './action-definition.schema.json'
import { createInputAjv, createMetaAjv, createOutputAjv } from './ajv'
import { HANDLERS } from './handlers'
import type { HandlerModule } from './handlers/types'
import { isListOutputSpec, listOutput, PAGING_INPUTS, pagingInputs } from './list-shape'
import { DEFINITIONS_FILE, DefinitionError, inlineRefs, loadSharedDefinitions, type SharedDefinitions } from './definitions-file'
import { compileTemplate, type Rendered, type TemplateReads } from './template'
import { encodeInputComponent } from '../lib/uri'

export class ActionLoadError extends Error {
  constructor (readonly file: string, reason: string) {
    super(`Invalid action file ${file}: ${reason}`)
    this.name = 'ActionLoadError'
  }
}

/** The public description of an action (GET /v1/actions): complete schemas, no $ref. */
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
  /** The file with its $refs inlined and the engine's shapes added: `input`/`output` are the published schemas. */
  definition: ActionDefinition
  summary: ActionSummary
  validateInput: ValidateFunction
  validateOutput: ValidateFunction
  request?: CompiledRequest
  pagination?: PaginationSpec
  mapping?: CompiledMapping
  handler?: Pick<HandlerModule, 'run' | 'precheck'> & { params: Record<string, unknown> }
  /** The compiled templates read `connection.site` (or use wikiUrl): look the site up before rendering. */
  needsSite: boolean
}

const REQUEST_ROOTS = ['input', 'connection'] as const
const MAPPING_ROOTS = ['input', 'connection', 'response', 'item', 'index'] as const

/** An action definition, as opposed to the shared definitions (`_*.json`) and the test cases beside them. */
export function isActionFile (name: string): boolean {
  return name.endsWith('.json') && !name.startsWith('_') && !name.endsWith('.cases.json') && !name.endsWith('.schema.json')
}

export function loadActions (dir: string): CompiledAction[] {
  const root = resolve(dir)
  let files: string[]
  try {
    files = readdirSync(root).filter(isActionFile).sort()
  } catch (err) {
    throw new ActionLoadError(root, `cannot read the actions directory (${(err as Error).message})`)
  }
  let defs: SharedDefinitions
  try {
    defs = loadSharedDefinitions(root)
  } catch (err) {
    throw new ActionLoadError(join(root, DEFINITIONS_FILE), (err as Error).message)
  }
  const compiler = new ActionCompiler(defs)
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

  constructor (private readonly defs: SharedDefinitions = new Map()) {}

  compile (json: unknown, file: string): CompiledAction {
    const written = this.inline(json, file)
    if (!this.meta(written)) {
      const reasons = (this.meta.errors ?? []).map(e => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length > 0 ? ' ' + JSON.stringify(e.params) : ''}`)
      throw new ActionLoadError(file, reasons.join('; '))
    }
    const expectedId = basename(file).replace(/\.json$/, '')
    if (written.id !== expectedId) throw new ActionLoadError(file, `id "${written.id}" must equal the file name "${expectedId}"`)
    let def: ActionDefinition
    try {
      def = withEngineShapes(written)
    } catch (err) {
      throw new ActionLoadError(file, (err as Error).message)
    }

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
      needsSite: false
    }
    try {
      if (def.handler !== undefined) {
        const spec = HANDLERS[def.handler.name]
        if (spec === undefined) throw new Error(`unknown handler "${def.handler.name}" (known: ${Object.keys(HANDLERS).join(', ')})`)
        const params = def.handler.params ?? {}
        const check = this.paramsAjv.compile(spec.params)
        if (!check(params)) throw new Error(`handler.params: ${this.paramsAjv.errorsText(check.errors)}`)
        compiled.handler = { run: spec.run, precheck: spec.precheck, params }
        return compiled
      }
      const reads: TemplateReads = { site: false }
      const requestOpts = { roots: REQUEST_ROOTS, reads }
      const mappingOpts = { roots: MAPPING_ROOTS, reads }
      const req = def.request!
      compiled.request = {
        method: req.method,
        base: req.base ?? 'confluence',
        path: compileTemplate(req.path, 'request.path', { ...requestOpts, encode: encodeInputComponent }),
        query: req.query === undefined ? undefined : compileTemplate(req.query, 'request.query', requestOpts),
        headers: req.headers === undefined ? undefined : compileTemplate(req.headers, 'request.headers', requestOpts),
        body: req.body === undefined ? undefined : compileTemplate(req.body, 'request.body', requestOpts)
      }
      const mapping = def.mapping!
      compiled.mapping = 'value' in mapping
        ? { kind: 'value', value: compileTemplate(mapping.value, 'mapping.value', mappingOpts) }
        : {
            kind: 'list',
            items: compileTemplate(mapping.items, 'mapping.items', mappingOpts),
            item: compileTemplate(mapping.item, 'mapping.item', mappingOpts)
          }
      compiled.needsSite = reads.site
      if (def.pagination !== undefined) compiled.pagination = def.pagination
    } catch (err) {
      throw new ActionLoadError(file, (err as Error).message)
    }
    return compiled
  }

  /** The file with the shared definitions its input and output $ref inlined. */
  private inline (json: unknown, file: string): ActionFile {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return json as ActionFile
    const out = { ...json } as Record<string, unknown>
    try {
      for (const key of ['input', 'output'] as const) if (key in out) out[key] = inlineRefs(out[key], key, this.defs)
    } catch (err) {
      if (err instanceof DefinitionError) throw new ActionLoadError(file, err.message)
      throw err
    }
    return out as unknown as ActionFile
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
}

/**
 * The definition as published: a list mapping's output becomes `{ results, nextCursor? }`, and a paginated
 * action's input gains limit, cursor, all and maxResults (list-shape.ts). Refuses files that write either
 * themselves, and the combinations the engine cannot run.
 */
function withEngineShapes (file: ActionFile): ActionDefinition {
  const list = file.mapping !== undefined && 'items' in file.mapping
  if (list !== isListOutputSpec(file.output)) {
    throw new Error(list
      ? 'a list mapping\'s output is { "results": { "items": <item schema>, "description"? } }: the engine adds the { results, nextCursor? } wrapper'
      : 'output { "results": ... } is for list mappings (mapping.items / mapping.item); give an object schema')
  }
  const output = isListOutputSpec(file.output) ? listOutput(file.output) : file.output
  const p = file.pagination
  if (p === undefined) return { ...file, output }
  if (!list) throw new Error('a paginated action maps a list: mapping needs "items" and "item"')
  if (p.defaultLimit > p.maxLimit) throw new Error('pagination.defaultLimit is above maxLimit')
  if (p.style === 'offset' && p.startParam === undefined) throw new Error('offset pagination needs startParam')
  const own = (file.input.properties ?? {}) as Record<string, unknown>
  const taken = PAGING_INPUTS.find(name => name in own)
  if (taken !== undefined) throw new Error(`input.properties.${taken}: the engine declares ${PAGING_INPUTS.join(', ')} of a paginated action; leave them out`)
  const query = file.request!.query
  if (query !== undefined && (p.limitParam in query || (p.startParam !== undefined && p.startParam in query))) {
    throw new Error('the engine sets the page size and position: leave them out of request.query')
  }
  return { ...file, output, input: { ...file.input, properties: { ...own, ...pagingInputs(p) } } }
}
