// The ConfluenceClient of ./types: resolved alias → session (token + site, from memory when fresh, through
// the connection layer's SessionProvider) → gateway URL, built here → the site's rate budget → undici
// (keep-alive pool per origin, timeouts) → AppError mapping. One re-send after a token renew on a 401, and
// on a 403/404 that arrives after the stored expiry (a credential repair; waits and retries: http/retry.ts).
// Hot path with a resolved connection: no Redis (but the budget's pause check, see budget/site-budget.ts).
import type { Agent } from 'undici'
import {
  ConnectionNotAuthorizedError, UpstreamForbiddenError, UpstreamInvalidError, UpstreamNotFoundError,
  UpstreamRateLimitedError, UpstreamScopeMissingError, UpstreamUnavailableError
} from '../errors/errors'
import type { AppError } from '../errors/app-error'
import type { RateBudget, SiteKey } from '../budget/rate-budget'
import type { ConnectionResolver, Session, SessionProvider } from '../connections/types'
import { parseRetryAfter, retryAfterMs } from '../http/rate-limit-headers'
import { send, type RawResponse } from '../http/send'
import type { Readable } from 'node:stream'
import { MultipartUpload } from './multipart'
import { encodeInputComponent } from '../lib/uri'
import { ChildCache, statusClass, type StatusClass, type UpstreamMetrics } from '../lib/metrics-spoke'
import { httpClientAttributes, type TraceSpan, type Tracing } from '../lib/tracing'
import type { CallAs, CallOptions, ConfluenceClient, ConfluenceRequest, ConfluenceResponse, ConfluenceSite, QueryValue } from './types'

export interface ClientOptions {
  sessions: SessionProvider
  /** Resolves an alias id given as a string (admin routes, tools); the engine passes connections already resolved. */
  resolver: ConnectionResolver
  agent: Agent
  timeoutMs: number
  /** The per-site rate budget every request goes through (budget/site-budget.ts; NO_BUDGET in tools). */
  budget: RateBudget
  userAgent?: string
  /** Upstream request metrics (lib/metrics-spoke.ts); none in tools. */
  metrics?: UpstreamMetrics
  /** A client span per request when tracing is on (lib/tracing.ts); its traceparent is the one sent. */
  tracing?: Tracing
}

const MAX_DETAIL = 500

export class SpokeConfluenceClient implements ConfluenceClient {
  private readonly sessions: SessionProvider
  private readonly resolver: ConnectionResolver
  private readonly agent: Agent
  private readonly timeoutMs: number
  private readonly budget: RateBudget
  private readonly userAgent: string
  private readonly metrics?: UpstreamMetrics
  private readonly counted?: ChildCache<{ inc: () => void }>
  private readonly timed?: ChildCache<{ observe: (v: number) => void }>
  private readonly tracing?: Tracing

  constructor (opts: ClientOptions) {
    const m = opts.metrics
    if (m !== undefined) {
      this.metrics = m
      this.counted = new ChildCache((op, cls) => m.requests.labels(op, cls))
      this.timed = new ChildCache((op) => m.duration.labels(op))
    }
    this.sessions = opts.sessions
    this.resolver = opts.resolver
    this.agent = opts.agent
    this.timeoutMs = opts.timeoutMs
    this.budget = opts.budget
    this.userAgent = opts.userAgent ?? 'confluence-cloud-spoke'
    if (opts.tracing?.enabled === true) this.tracing = opts.tracing
  }

  /** The connection's site; a first use obtains the token and binds the site (their spans under `traceparent`). */
  async site (as: CallAs, traceparent?: string): Promise<ConfluenceSite> {
    const alias = typeof as === 'string' ? (await this.resolver.resolve(as)).resolved : as.resolved
    const s = this.sessions.current(alias) ?? await this.sessions.get(alias, traceparent)
    return { cloudId: s.site.cloudId, url: s.site.url }
  }

  async call (as: CallAs, req: ConfluenceRequest, opts?: CallOptions, operation?: string): Promise<ConfluenceResponse> {
    const alias = typeof as === 'string' ? (await this.resolver.resolve(as)).resolved : as.resolved
    let s = this.sessions.current(alias) ?? await this.sessions.get(alias, req.headers?.traceparent)
    let res = await this.once(s, req, operation)
    if (this.worthARefresh(res, s)) {
      s = await this.sessions.renew(alias, s.accessToken, req.headers?.traceparent)
      this.metrics?.retries.labels('token_renewed').inc()
      res = await this.once(s, req, operation, true)
    }
    if ((res.status >= 200 && res.status < 300) || opts?.okStatuses?.includes(res.status) === true) return res
    throw upstreamError(res, req.method, s.accessToken)
  }

  /** A 401 (not a scope problem), or a 403/404 after the token's stored expiry. */
  private worthARefresh (res: ConfluenceResponse, s: Session): boolean {
    if (res.status === 401) return !scopeMismatch(res)
    return (res.status === 403 || res.status === 404) && Date.now() >= s.expiresAt
  }

  private async once (s: Session, req: ConfluenceRequest, operation: string | undefined, resent = false): Promise<ConfluenceResponse> {
    const url = buildUrl(s, req)
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent }
    if (req.headers) for (const k in req.headers) headers[k.toLowerCase()] = req.headers[k]
    let body: string | Readable | undefined
    if (req.body instanceof MultipartUpload) {
      // opened per send: a retry or a re-send after a token renew reads the file again
      body = req.body.open()
      headers['content-type'] = req.body.contentType
      headers['content-length'] = String(req.body.length)
    } else if (req.body !== undefined && req.body !== null) {
      if (typeof req.body === 'string' && headers['content-type'] !== undefined) body = req.body
      else { body = JSON.stringify(req.body); headers['content-type'] = 'application/json' }
    }
    // Under the traceparent the caller sent (the engine's span), and sent upstream in its place.
    const span = this.tracing !== undefined ? this.clientSpan(s, req, operation, headers, resent) : undefined
    headers.authorization = `Bearer ${s.accessToken}`
    const budget = this.budget
    const key = budget.beforeRequest || budget.afterResponse ? siteKey(s) : undefined
    if (budget.beforeRequest) await budget.beforeRequest(key as SiteKey, req)
    const op = this.counted !== undefined ? req.operation ?? operation ?? routeTemplate(req) : ''
    const started = performance.now()
    let raw: RawResponse
    try {
      raw = await send(this.agent, { method: req.method, url, origin: s.origin, headers, body, timeoutMs: req.timeoutMs ?? this.timeoutMs, signal: req.signal, stream: req.download })
    } catch (err) {
      if (typeof body === 'object') body.destroy()
      span?.end(err)
      if (this.counted !== undefined && req.signal?.aborted !== true) {
        this.counted.get(op, (err as AppError).code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'network').inc()
      }
      throw err
    }
    if (this.counted !== undefined) this.observe(op, s, raw, performance.now() - started)
    if (span !== undefined) endClientSpan(span, raw)
    if (budget.afterResponse) budget.afterResponse(key as SiteKey, raw.status, raw.headers)
    if (req.download === true && raw.status >= 300 && raw.status < 400) return await this.followToMedia(s, req, url, raw)
    return { status: raw.status, headers: raw.headers, body: raw.body, url }
  }

  /**
   * The redirect of a download to the file's media host (api.media.atlassian.com in production): followed
   * once, without the bearer token (the URL carries its own short-lived one), only to the site's own gateway
   * origin or an https Atlassian host. The answer's URL names no query (the media token stays out of errors).
   */
  private async followToMedia (s: Session, req: ConfluenceRequest, from: string, raw: RawResponse): Promise<ConfluenceResponse> {
    let target: URL
    try { target = new URL(raw.headers.location ?? '', from) } catch { throw new UpstreamInvalidError('Confluence answered a download with an unusable redirect', { retryable: false }) }
    if (raw.headers.location === undefined || !mediaHostAllowed(target, s.origin)) {
      throw new UpstreamInvalidError(`Refusing to follow a download redirect to ${target.origin}: only the site's gateway or an https Atlassian host`, { retryable: false })
    }
    const media = await send(this.agent, { method: 'GET', url: target, headers: { 'user-agent': this.userAgent }, timeoutMs: req.timeoutMs ?? this.timeoutMs, signal: req.signal, stream: true })
    return { status: media.status, headers: media.headers, body: media.body, url: `${target.origin}${target.pathname}` }
  }

  private clientSpan (s: Session, req: ConfluenceRequest, operation: string | undefined, headers: Record<string, string>, resent: boolean): TraceSpan {
    // Templated (ids, keys, cloudIds replaced): never a raw path, a token, an account or a page id.
    const template = routeTemplate(req)
    const span = this.tracing!.start(template, 'client', headers.traceparent,
      httpClientAttributes(req.method, s.origin, req.operation ?? operation ?? template, template.slice(req.method.length + 1)))
    if (resent) span.setAttributes({ 'http.request.resend_count': 1, 'spoke.resend_reason': 'token_renewed' })
    headers.traceparent = span.traceparent
    return span
  }

  private observe (op: string, s: Session, raw: RawResponse, ms: number): void {
    const cls: StatusClass = statusClass(raw.status)
    this.counted!.get(op, cls).inc()
    this.timed!.get(op, '').observe(ms / 1000)
    if (raw.status === 429) {
      const m = this.metrics!
      m.rateLimited.labels(op, s.site.cloudId).inc()
      const after = parseRetryAfter(raw.headers['retry-after'], raw.headers['x-ratelimit-reset'])
      if (after !== undefined) m.retryAfter.labels(s.site.cloudId).observe(after)
    }
  }
}

/** The answer's status; a 429 as an event with its Retry-After; 4xx/5xx mark the span failed (error.type: the status). */
function endClientSpan (span: TraceSpan, raw: RawResponse): void {
  span.setAttributes({ 'http.response.status_code': raw.status })
  if (raw.status === 429) {
    const after = parseRetryAfter(raw.headers['retry-after'], raw.headers['x-ratelimit-reset'])
    span.addEvent('rate_limited', after === undefined ? {} : { 'spoke.retry_after_seconds': after })
  }
  span.end(raw.status >= 400 ? String(raw.status) : undefined)
}

/**
 * `GET /wiki/api/v2/pages/{id}`: the path without origin or query, any segment that is not a lower-case
 * word or an API version (ids, space keys, account ids, cloudIds) replaced, so the label set stays bounded.
 */
export function routeTemplate (req: Pick<ConfluenceRequest, 'method' | 'path'>): string {
  let path = req.path
  if (/^https?:\/\//i.test(path)) {
    const i = path.indexOf('/', path.indexOf('//') + 2)
    path = i < 0 ? '/' : path.slice(i)
  }
  const q = path.indexOf('?')
  if (q >= 0) path = path.slice(0, q)
  path = path.replace(/\/ex\/confluence\/[^/]+/, '')
  const parts = path.split('/')
  for (let i = 0; i < parts.length; i++) if (parts[i] !== '' && !/^(?:[a-z][a-z_.-]{0,40}|v\d)$/.test(parts[i])) parts[i] = '{id}'
  return `${req.method} ${parts.join('/')}`
}

/** Where a download may be redirected: the gateway's own origin, or https on an Atlassian domain. */
export function mediaHostAllowed (target: URL, gatewayOrigin: string): boolean {
  if (target.origin === gatewayOrigin) return true
  return target.protocol === 'https:' && /(^|\.)(atlassian\.com|atlassian\.net)$/i.test(target.hostname)
}

function siteKey (s: Session): SiteKey {
  return { alias: s.alias, cloudId: s.site.cloudId, origin: s.origin }
}

/** `{connectionUrl}ex/confluence/{cloudId}{path}` or `{connectionUrl}{path}`; absolute URLs only on the same origin. */
export function buildUrl (s: Pick<Session, 'connectionUrl'> & { site: { cloudId: string }, origin?: string }, req: Pick<ConfluenceRequest, 'path' | 'query' | 'base'>): string {
  let url: string
  const path = req.path
  if (/^https?:\/\//i.test(path)) {
    let target: URL
    try { target = new URL(path) } catch { throw new UpstreamInvalidError(`Refusing to call a malformed URL: ${path.slice(0, 200)}`) }
    if (target.origin !== (s.origin ?? new URL(s.connectionUrl).origin)) {
      throw new UpstreamInvalidError(`Refusing to call ${target.origin}: only ${new URL(s.connectionUrl).origin} is allowed for this alias`)
    }
    url = target.toString()
  } else {
    const rel = path.startsWith('/') ? path : `/${path}`
    url = req.base === 'api' ? s.connectionUrl + rel.slice(1) : `${s.connectionUrl}ex/confluence/${s.site.cloudId}${rel}`
  }
  const q = req.query ? queryString(req.query) : ''
  if (q !== '') url += (url.includes('?') ? '&' : '?') + q
  return url
}

/** Arrays become repeated parameters (`?id=1&id=2`); undefined values are left out. */
export function queryString (query: Record<string, QueryValue | undefined>): string {
  const parts: string[] = []
  for (const k in query) {
    const v = query[k]
    if (v === undefined) continue
    const name = encodeInputComponent(k)
    if (Array.isArray(v)) for (const item of v) parts.push(`${name}=${encodeInputComponent(String(item))}`)
    else parts.push(`${name}=${encodeInputComponent(String(v))}`)
  }
  return parts.join('&')
}

function scopeMismatch (res: Pick<ConfluenceResponse, 'headers' | 'body'>): boolean {
  if ((res.headers['x-failure-category'] ?? '').includes('SCOPE')) return true
  return /scope does not match/i.test(upstreamMessage(res.body))
}

/** The message Confluence gave: v1 `message`, v2 `errors[].title/detail`, gateway `message`, or text. */
export function upstreamMessage (body: unknown): string {
  if (typeof body === 'string') return body
  if (body === null || typeof body !== 'object') return ''
  const b = body as Record<string, unknown>
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    return b.errors.map((e: Record<string, unknown>) => [e?.title, e?.detail].filter(x => typeof x === 'string' && x !== '').join(': ')).filter(Boolean).join('; ')
  }
  if (typeof b.message === 'string') return b.message
  if (typeof b.error_description === 'string') return b.error_description
  if (typeof b.error === 'string') return b.error
  return ''
}

/** No token in error text, ever (an upstream may echo headers), and a bounded length. */
export function sanitize (text: string, token?: string): string {
  let t = text
  if (token && token.length >= 8) t = t.split(token).join('[redacted]')
  t = t.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]')
  return t.length > MAX_DETAIL ? `${t.slice(0, MAX_DETAIL)}…` : t
}

export function upstreamError (res: ConfluenceResponse, method: string, token?: string): AppError {
  const u = new URL(res.url)
  const msg = sanitize(upstreamMessage(res.body), token)
  const detail = `Confluence answered ${res.status} to ${method} ${u.pathname}${msg ? `: ${msg}` : ''}`
  const s = res.status
  if (s === 401) {
    if (scopeMismatch(res)) return new UpstreamScopeMissingError(`${detail}. The alias's token lacks a scope this operation needs: add it to credential.scopes and run the consent again.`)
    return new ConnectionNotAuthorizedError(`${detail}. The token was refused even after a refresh: an admin must run the consent again (GET /v1/connections/{alias}/authorize).`)
  }
  if (s === 403) return new UpstreamForbiddenError(detail)
  if (s === 404 || s === 410) return new UpstreamNotFoundError(detail)
  if (s === 429) {
    const ms = retryAfterMs(res.headers['retry-after'], res.headers['x-ratelimit-reset'])
    return new UpstreamRateLimitedError(detail, { retryAfter: ms === undefined ? 1 : ms / 1000 })
  }
  if (s >= 500) {
    const retryAfter = parseRetryAfter(res.headers['retry-after'], undefined)
    return new UpstreamUnavailableError(detail, retryAfter !== undefined ? { retryAfter } : {})
  }
  return new UpstreamInvalidError(detail)
}
