// RFC 9457 problem details with the spoke's stable code (docs/api.md).
import { AppError } from '../errors/app-error'
import { repositoryFileUrl } from './repository'

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  retryable: boolean
  requestId: string
  errors?: unknown[]
  /** How many more `errors` there were beyond the MAX_PROBLEM_ERRORS listed. */
  errorsOmitted?: number
}

/** A 10,000-item body with a bad item each answers 20 of them (and the count of the rest), not megabytes. */
export const MAX_PROBLEM_ERRORS = 20
const MAX_DETAIL_CHARS = 2_000

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

export function problemType (code: string): string {
  return repositoryFileUrl(`docs/errors.md#${code.toLowerCase().replace(/_/g, '-')}`)
}

export function toProblem (err: AppError, requestId: string): Problem {
  const ctor = err.constructor as { title?: string }
  const body: Problem = {
    type: problemType(err.code),
    title: ctor.title ?? err.code,
    status: err.statusCode,
    detail: err.message.length > MAX_DETAIL_CHARS ? `${err.message.slice(0, MAX_DETAIL_CHARS)}…` : err.message,
    code: err.code,
    retryable: err.retryable,
    requestId
  }
  if (err.errors && err.errors.length > 0) {
    body.errors = err.errors.slice(0, MAX_PROBLEM_ERRORS)
    if (err.errors.length > MAX_PROBLEM_ERRORS) body.errorsOmitted = err.errors.length - MAX_PROBLEM_ERRORS
  }
  return body
}

/** JSON Schema of a problem body, for route response schemas and /openapi.json. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code', 'retryable', 'requestId'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    retryable: { type: 'boolean' },
    requestId: { type: 'string' },
    errors: { type: 'array', items: {} },
    errorsOmitted: { type: 'integer' }
  }
} as const

/** Route response schemas for the error statuses a route can answer, each a problem body. */
export function problemResponses (...statuses: number[]): Record<number, { $ref: 'Problem#' }> {
  return Object.fromEntries(statuses.map(s => [s, { $ref: 'Problem#' as const }]))
}
