// The Organizations REST API as licence reports read it: the org's managed accounts, one cursor page at a
// time, with the alias's org admin API key as the Bearer (never its OAuth token). These calls go to the
// admin API, not to the Confluence site, so they do not draw on the site's rate budget; 429 and 5xx are
// waited out a few times here. `links.next` is followed only on the alias's own API origin: the key must
// never be sent anywhere else.
import { parseRetryAfter } from '../http/rate-limit-headers'
import type { Agent } from 'undici'
import { send, type RawResponse } from '../http/send'
import { abortableSleep } from '../http/retry'
import type { HandlerContext } from '../actions/handlers/types'
import {
  OrgAdminKeyRefusedError, OrgAdminNotConfiguredError, UpstreamInvalidError, UpstreamNotFoundError,
  UpstreamRateLimitedError, UpstreamUnavailableError
} from '../errors/errors'
import { AppError } from '../errors/app-error'
import { httpClientAttributes, type Tracing } from '../lib/tracing'

/** One item of GET /admin/v1/orgs/{orgId}/users (the Organizations REST API, https://developer.atlassian.com/cloud/admin/organization/rest/); only what licence reports read. */
export interface OrgUser {
  account_id?: string
  email?: string
  account_status?: string
  access_billable?: boolean
  last_active?: string | null
  product_access?: Array<{ key?: string, url?: string, last_active?: string | null }>
}

export interface OrgAccess {
  orgId: string
  apiKey: string
  base: string
  agent: Agent
  /** A client span per request when tracing is on, under the run's traceparent. */
  tracing?: Tracing
  traceparent?: string
}

const TIMEOUT_MS = 30_000
const ATTEMPTS = 5
const MAX_WAIT_MS = 30_000
/** A loop guard: 20,000 pages of 100 is two million accounts. */
const MAX_PAGES = 20_000

/** The alias's org admin key and org id (looked up when the alias names none); ORG_ADMIN_NOT_CONFIGURED without a key. */
export async function orgAccess (ctx: Pick<HandlerContext, 'services' | 'connection' | 'signal' | 'traceparent'>): Promise<OrgAccess> {
  const org = await ctx.services?.orgAdmin(ctx.connection.resolved)
  if (org === undefined) {
    throw new OrgAdminNotConfiguredError(`Connection "${ctx.connection.resolved}" has no orgAdmin.apiKey: set orgAdmin { orgId, apiKey } on the alias (an Atlassian organization admin API key)`)
  }
  const tracing = ctx.services?.tracing?.enabled === true ? ctx.services.tracing : undefined
  const access: OrgAccess = { orgId: org.orgId ?? '', apiKey: org.apiKey, base: org.connectionUrl, agent: org.agent, ...(tracing !== undefined ? { tracing, traceparent: ctx.traceparent } : {}) }
  if (access.orgId === '') {
    const body = await getJson(access, `${access.base}admin/v1/orgs`, ctx.signal) as { data?: Array<{ id?: unknown }> }
    const id = body.data?.[0]?.id
    if (typeof id !== 'string') throw new OrgAdminNotConfiguredError('The org admin key sees no organization: set orgAdmin.orgId on the alias')
    access.orgId = id
  }
  return access
}

/** Every page of the org's managed accounts, in the API's order. */
export async function * orgUserPages (access: OrgAccess, signal?: AbortSignal): AsyncGenerator<{ users: OrgUser[], total?: number }> {
  let url: string | undefined = `${access.base}admin/v1/orgs/${encodeURIComponent(access.orgId)}/users`
  for (let n = 0; url !== undefined; n++) {
    if (n >= MAX_PAGES) throw new UpstreamInvalidError(`The Organizations API listed more than ${MAX_PAGES} pages of users`)
    const body = await getJson(access, url, signal) as { data?: unknown, links?: { next?: unknown }, meta?: { total?: unknown } }
    if (!Array.isArray(body.data)) throw new UpstreamInvalidError('The Organizations API answered a users page without a data list', { retryable: false })
    yield { users: body.data as OrgUser[], total: typeof body.meta?.total === 'number' ? body.meta.total : undefined }
    url = typeof body.links?.next === 'string' ? sameOrigin(access.base, body.links.next) : undefined
  }
}

function sameOrigin (base: string, next: string): string {
  let target: URL
  try { target = new URL(next, base) } catch { throw new UpstreamInvalidError('The Organizations API gave a malformed next link', { retryable: false }) }
  if (target.origin !== new URL(base).origin) throw new UpstreamInvalidError(`Refusing to follow a next link to ${target.origin}: the org admin key is only sent to ${new URL(base).origin}`, { retryable: false })
  return target.toString()
}

async function getJson (access: OrgAccess, url: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const headers = { authorization: `Bearer ${access.apiKey}`, accept: 'application/json', 'user-agent': 'confluence-cloud-spoke' }
  let last: AppError | undefined
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let res: RawResponse
    try {
      res = access.tracing === undefined
        ? await send(access.agent, { method: 'GET', url, headers, signal, timeoutMs: TIMEOUT_MS })
        : await tracedSend(access, url, headers, signal)
    } catch (err) {
      if (signal?.aborted === true || !(err instanceof AppError) || !err.retryable) throw err
      last = err
      await abortableSleep(Math.min(MAX_WAIT_MS, 500 * 2 ** attempt), signal)
      continue
    }
    if (res.status === 200 && res.body !== null && typeof res.body === 'object') return res.body as Record<string, unknown>
    const path = new URL(url).pathname
    if (res.status === 401 || res.status === 403) throw new OrgAdminKeyRefusedError(`The Organizations API answered ${res.status} to GET ${path}: set a valid orgAdmin.apiKey on the alias`)
    if (res.status === 404) throw new UpstreamNotFoundError(`The Organizations API answered 404 to GET ${path}: check orgAdmin.orgId`)
    if (res.status === 429 || res.status >= 500) {
      const retryAfter = parseRetryAfter(res.headers['retry-after'], undefined)
      last = res.status === 429
        ? new UpstreamRateLimitedError(`The Organizations API answered 429 to GET ${path}`, { retryAfter: retryAfter ?? 1 })
        : new UpstreamUnavailableError(`The Organizations API answered ${res.status} to GET ${path}`)
      const waitMs = retryAfter !== undefined ? retryAfter * 1000 : 500 * 2 ** attempt
      if (waitMs > MAX_WAIT_MS) break
      await abortableSleep(waitMs, signal)
      continue
    }
    throw new UpstreamInvalidError(`The Organizations API answered ${res.status} to GET ${path}`, { retryable: false })
  }
  throw last ?? new UpstreamUnavailableError('The Organizations API did not answer')
}

/** One GET in a client span (tracing on). The org id is templated out and the key is only a header, so neither reaches the span. */
async function tracedSend (access: OrgAccess, url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<RawResponse> {
  const users = new URL(url).pathname.endsWith('/users')
  const template = users ? '/admin/v1/orgs/{orgId}/users' : '/admin/v1/orgs'
  const span = access.tracing!.start(`GET ${template}`, 'client', access.traceparent, httpClientAttributes('GET', url, users ? 'organizations.users' : 'organizations.orgs', template))
  let res: RawResponse
  try {
    res = await send(access.agent, { method: 'GET', url, headers, signal, timeoutMs: TIMEOUT_MS })
  } catch (err) {
    span.end(err)
    throw err
  }
  span.setAttributes({ 'http.response.status_code': res.status })
  span.end(res.status >= 400 ? String(res.status) : undefined)
  return res
}
