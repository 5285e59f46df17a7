// The per-action test cases beside the catalogue (actions/<id>.cases.json, format: action-cases.schema.json):
// loading and checking them, the canned upstream of the unit runner, and the simulator's named values.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv2020 from 'ajv/dist/2020'
import { isActionFile } from '../../src/actions/load-actions'
import { upstreamError } from '../../src/confluence/client'
import type { ConfluenceClient, ConfluenceRequest } from '../../src/confluence/types'
import casesSchema from './action-cases.schema.json'

export const ACTIONS_DIR = join(__dirname, '../../actions')

export interface Exchange {
  request: { method: string, base?: 'confluence' | 'api', path: string, query?: Record<string, unknown>, body?: unknown }
  response: { status?: number, headers?: Record<string, string>, body?: unknown }
}

export interface ActionCase {
  name: string
  input: unknown
  connection?: { managedGroups?: Array<{ groupId: string, name?: string }>, managedSpaces?: Array<{ spaceId: string, key?: string }>, grantedScopes?: string[] }
  upstream?: Exchange[]
  output?: unknown
  error?: { code: string, paths?: string[] }
  simulator?: { input?: unknown, output?: Record<string, unknown> }
}

const validate = new Ajv2020({ strict: true, strictRequired: false, allErrors: true }).compile(casesSchema)

/** Every action id with its cases; throws naming the action when its cases file is missing or malformed. */
export function loadCases (dir = ACTIONS_DIR): Array<[string, ActionCase[]]> {
  const names = readdirSync(dir)
  return names.filter(isActionFile).sort().map(f => {
    const id = f.replace(/\.json$/, '')
    const file = `${id}.cases.json`
    if (!names.includes(file)) throw new Error(`${id} has no cases: add actions/${file} (docs/actions.md, "Adding an action")`)
    const json: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'))
    if (!validate(json)) throw new Error(`actions/${file}: ${JSON.stringify(validate.errors)}`)
    return [id, (json as { cases: ActionCase[] }).cases]
  })
}

/** A query as it goes on the wire: every value a string (lists: strings). */
export function wireQuery (query: Record<string, unknown> | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue
    out[k] = Array.isArray(v) ? v.map(String) : String(v)
  }
  return out
}

/**
 * A ConfluenceClient that expects exactly these exchanges, in order: each call is recorded, answered with the
 * next canned response (a non-2xx one becomes the AppError the real client would throw), and checked after.
 */
export function cannedUpstream (exchanges: Exchange[], site = { cloudId: 'cloud-1', url: 'https://acme.atlassian.net' }): { client: ConfluenceClient, calls: ConfluenceRequest[] } {
  const calls: ConfluenceRequest[] = []
  const client: ConfluenceClient = {
    site: async () => site,
    call: async (_as, req) => {
      calls.push(req)
      const canned = exchanges[calls.length - 1]
      if (canned === undefined) throw new Error(`unexpected call ${calls.length}: ${req.method} ${req.path} ${JSON.stringify(req.query ?? {})}`)
      const res = { status: canned.response.status ?? 200, headers: canned.response.headers ?? {}, body: canned.response.body, url: `https://gw.invalid${req.path}` }
      if (res.status < 200 || res.status > 299) throw upstreamError(res, req.method)
      return res
    }
  }
  return { client, calls }
}

/** A request (sent by the engine, or expected by a case) in one comparable form: the query as on the wire, `base` only when not the default. */
export function comparable (req: { method: string, base?: string, path: string, query?: object, body?: unknown }): Exchange['request'] {
  const out: Exchange['request'] = { method: req.method, path: req.path }
  if (req.base !== undefined && req.base !== 'confluence') out.base = req.base as 'api'
  const query = wireQuery(req.query as Record<string, unknown> | undefined)
  if (Object.keys(query).length > 0) out.query = query
  if (req.body !== undefined) out.body = req.body
  return out
}

/** Replaces every string "$name" in a value by values[name] (unknown names are an error in the case file). */
export function substitute (value: unknown, values: Record<string, string>): unknown {
  if (typeof value === 'string' && value.startsWith('$')) {
    const v = values[value.slice(1)]
    if (v === undefined) throw new Error(`no simulator value "${value}" (known: ${Object.keys(values).join(', ')})`)
    return v
  }
  if (Array.isArray(value)) return value.map(v => substitute(v, values))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values)]))
  return value
}
