// Error bodies as Confluence Cloud sends them (the vendored specs describe none): the v1 envelope, the v2 `errors[]` shape,
// and the API gateway's `{code, message}`.
import type { ApiVersion } from './contract'

export interface OpResult {
  status: number
  body?: unknown
  headers?: Record<string, string>
  /** objects read, for the points cost: core (content, spaces) and identity (users, groups, permissions) */
  objects?: { core?: number, identity?: number }
}

const V2_CODES: Record<number, [string, string]> = {
  400: ['INVALID_REQUEST_PARAMETER', 'Bad Request'],
  401: ['UNAUTHORIZED', 'Unauthorized'],
  403: ['FORBIDDEN', 'Forbidden'],
  404: ['NOT_FOUND', 'Not Found'],
  410: ['GONE', 'Gone'],
  500: ['INTERNAL_SERVER_ERROR', 'Internal Server Error'],
  501: ['NOT_IMPLEMENTED', 'Not Implemented']
}

export function v1Error (status: number, message: string, valid = status !== 400): OpResult {
  return {
    status,
    body: {
      statusCode: status,
      data: { authorized: status !== 401 && status !== 403, valid, errors: [], successful: false },
      message,
      reason: REASONS[status]
    }
  }
}

export function v2Error (status: number, detail: string | null = null): OpResult {
  const [code, title] = V2_CODES[status] ?? ['ERROR', 'Error']
  return { status, body: { errors: [{ status, code, title, detail }] } }
}

export function apiError (version: ApiVersion, status: number, message: string): OpResult {
  return version === 'v1' ? v1Error(status, message) : v2Error(status, message)
}

export function notFound (version: ApiVersion, what = 'No content found'): OpResult {
  return version === 'v1' ? v1Error(404, what) : v2Error(404, null)
}

export function gatewayError (status: number, message: string, headers?: Record<string, string>): OpResult {
  return { status, body: { code: status, message }, headers }
}

export const SCOPE_MISMATCH = gatewayError(401, 'Unauthorized; scope does not match', { 'X-Failure-Category': 'FAILURE_CLIENT_SCOPE_CHECK' })

export const GONE: OpResult = {
  status: 410,
  body: {
    statusCode: 410,
    data: { authorized: true, valid: true, errors: [], successful: false },
    message: 'com.atlassian.confluence.api.service.exceptions.GoneException: This deprecated endpoint has been removed.'
  },
  headers: {
    deprecation: 'Wed, 1 Mar 2023 00:00:00 GMT',
    link: '<https://developer.atlassian.com/cloud/confluence/changelog/#CHANGE-864>; rel="deprecation"'
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 501: 'Not Implemented'
}
