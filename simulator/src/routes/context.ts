// What a Confluence operation handler receives, and small helpers they share.
import type { Operation } from '../contract'
import type { OpResult } from '../errors'
import { Reader } from '../permissions'
import type { SiteData, User } from '../seed'
import type { SimState } from '../state'
import type { AccessToken } from '../tokens'

export interface OpContext {
  state: SimState
  site: SiteData
  caller: User
  token: AccessToken
  op: Operation
  /** validated, typed path parameters */
  path: Record<string, any>
  /** validated, typed query parameters (only those sent) */
  query: Record<string, any>
  body: any
  /** the site path, e.g. /wiki/api/v2/pages/123 */
  sitePath: string
  rawQuery: URLSearchParams
  reader: () => Reader
}

export type OpHandler = (ctx: OpContext) => OpResult

export function limitOf (query: Record<string, any>, fallback: number, max: number): number {
  return Math.min(max, typeof query.limit === 'number' ? query.limit : fallback)
}

export function contextFor (state: SimState, site: SiteData, caller: User, token: AccessToken, op: Operation, sitePath: string,
  rawQuery: URLSearchParams, value: { pathParams: Record<string, unknown>, query: Record<string, unknown>, body: unknown }): OpContext {
  let reader: Reader | undefined
  return {
    state, site, caller, token, op, sitePath, rawQuery,
    path: value.pathParams,
    query: value.query,
    body: value.body,
    reader: () => reader ?? (reader = new Reader(site, caller.index))
  }
}
