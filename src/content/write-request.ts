// The requests a content write sends, checked against Atlassian's official spec before they are sent (and
// shown as they are by dryRun). The schemas are copied from the vendored specs into write-requests.json
// (generated; a unit test keeps it equal to the specs).
import Ajv, { type ValidateFunction } from 'ajv'
import { InternalError } from '../errors/errors'
import type { ConfluenceRequest } from '../confluence/types'
import spec from './write-requests.json'
import { SCHEMA_FILES } from '../lib/ajv-options'

export type WriteOperation = keyof typeof spec.operations

/** A write as it goes to Confluence: the spec operation it is, and the request. */
export interface WriteRequest {
  operation: WriteOperation
  method: 'POST' | 'PUT' | 'DELETE'
  path: string
  query?: Record<string, string | number | boolean>
  body?: unknown
}

interface OperationSpec { method: string, path: string, query: Record<string, unknown>, body?: unknown }

// Atlassian's own schemas, not ours: not strict, and their formats are not checked (as the simulator reads them).
const ajv = new Ajv({ ...SCHEMA_FILES, strict: false, validateFormats: false })
const compiled = new Map<WriteOperation, { spec: OperationSpec, pathPattern: RegExp, body?: ValidateFunction, query: ValidateFunction }>()

function entry (operation: WriteOperation): NonNullable<ReturnType<typeof compiled.get>> {
  let e = compiled.get(operation)
  if (e === undefined) {
    const s = spec.operations[operation] as OperationSpec
    const pathPattern = new RegExp(`^${s.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`)
    e = {
      spec: s,
      pathPattern,
      query: ajv.compile({ type: 'object', additionalProperties: false, properties: s.query }),
      ...(s.body !== undefined ? { body: ajv.compile(s.body as object) } : {})
    }
    compiled.set(operation, e)
  }
  return e
}

/** Why the request is not what the official spec allows for its operation, or undefined. */
export function specProblem (req: WriteRequest): string | undefined {
  const e = entry(req.operation)
  if (e.spec.method !== req.method) return `${req.operation} is ${e.spec.method}, not ${req.method}`
  if (!e.pathPattern.test(req.path)) return `${req.path} is not the path of ${req.operation} (${e.spec.path})`
  if (!e.query(req.query ?? {})) return `query ${ajv.errorsText(e.query.errors)}`
  if (e.body !== undefined && !e.body(req.body)) return `body ${ajv.errorsText(e.body.errors, { dataVar: 'body' })}`
  if (e.body === undefined && req.body !== undefined) return `${req.operation} takes no body`
  return undefined
}

/** The request ready for the client, after the spec check: a request the spec refuses is the spoke's bug (500), never sent. */
export function checked (req: WriteRequest): ConfluenceRequest {
  const problem = specProblem(req)
  if (problem !== undefined) throw new InternalError(`The ${req.operation} request the spoke built does not match Confluence's spec: ${problem}`)
  return { method: req.method, path: req.path, ...(req.query !== undefined ? { query: req.query } : {}), ...(req.body !== undefined ? { body: req.body } : {}), operation: req.operation }
}

/** What dryRun shows: the operation and the exact request, checked against the spec. */
export function preview (req: WriteRequest): Record<string, unknown> {
  checked(req)
  return { operation: req.operation, method: req.method, path: req.path, ...(req.query !== undefined ? { query: req.query } : {}), ...(req.body !== undefined ? { body: req.body } : {}) }
}
