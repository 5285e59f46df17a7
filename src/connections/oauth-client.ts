// The OAuth client: Atlassian's token endpoint (three grants) and accessible-resources, on the shared undici
// agent, behind the TokenEndpoint interface the refresher and the consent use (tests wrap it to step in
// before a request). Atlassian documents JSON bodies for its token endpoint (https://developer.atlassian.com/cloud/confluence/oauth-2-3lo-apps/).
// Errors never carry a token or secret: only the status and the OAuth `error` / `error_description` strings.
import type { Agent } from 'undici'
import { send } from '../http/send'
import { retryAfterOf } from '../http/rate-limit-headers'
import { UpstreamUnavailableError } from '../errors/errors'
import { httpClientAttributes, type Tracing } from '../lib/tracing'
import type { SiteChoice } from './types'

export interface TokenResponse {
  accessToken: string
  refreshToken?: string
  expiresInSeconds: number
  scopes?: string[]
}

export type TokenErrorKind = 'invalid_grant' | 'client_rejected' | 'bad_response'

/** The token endpoint said no (as opposed to being unreachable, which is an UpstreamUnavailableError). */
export class TokenEndpointError extends Error {
  constructor (readonly kind: TokenErrorKind, readonly status: number, readonly oauthError: string | undefined, readonly description: string | undefined) {
    super(`token endpoint answered ${status}${oauthError ? ` ${oauthError}` : ''}${description ? `: ${description}` : ''}`)
    this.name = 'TokenEndpointError'
  }
}

/** The OAuth client of one alias (`alias` names it in logs and for tests; it is never sent). */
export interface OAuthClient { alias: string, tokenUrl: string, clientId: string, clientSecret: string }

/** Atlassian's OAuth endpoints as the connection layer uses them. */
export interface TokenEndpoint {
  /** `traceparent`: what caused the request; with tracing on, its client span goes under it. */
  clientCredentials: (client: OAuthClient, traceparent?: string) => Promise<TokenResponse>
  refresh: (client: OAuthClient, refreshToken: string, traceparent?: string) => Promise<TokenResponse>
  exchangeCode: (client: OAuthClient, code: string, redirectUri: string, traceparent?: string) => Promise<TokenResponse>
  /** The sites a token reaches, from `{apiUrl}/oauth/token/accessible-resources`. */
  accessibleResources: (apiUrl: string, accessToken: string, traceparent?: string) => Promise<SiteChoice[]>
}

/** The real endpoint: HTTP on `agent`, each request bounded by `timeoutMs`; a client span per token request when tracing is on. */
export function createTokenEndpoint (agent: Agent, timeoutMs: number, tracing?: Tracing): TokenEndpoint {
  const traced = tracing?.enabled === true ? tracing : undefined
  const request = (client: OAuthClient, body: Record<string, string>, traceparent: string | undefined): Promise<TokenResponse> => {
    const full = { grant_type: body.grant_type, client_id: client.clientId, client_secret: client.clientSecret, ...body }
    return traced === undefined
      ? tokenRequest(agent, timeoutMs, client.tokenUrl, full, undefined)
      : tracedTokenRequest(traced, traceparent, agent, timeoutMs, client.tokenUrl, full)
  }
  return {
    clientCredentials: (client, tp) => request(client, { grant_type: 'client_credentials', audience: 'api.atlassian.com' }, tp),
    refresh: (client, refreshToken, tp) => request(client, { grant_type: 'refresh_token', refresh_token: refreshToken }, tp),
    exchangeCode: (client, code, redirectUri, tp) => request(client, { grant_type: 'authorization_code', code, redirect_uri: redirectUri }, tp),
    accessibleResources: (apiUrl, accessToken, tp) => traced === undefined
      ? accessibleResources(agent, apiUrl, accessToken, timeoutMs)
      : tracedAccessibleResources(traced, tp, agent, apiUrl, accessToken, timeoutMs)
  }
}

/**
 * The token request in a client span, under `parent`; the span's traceparent is sent (harmless to Atlassian).
 * Attributes: the grant type, host, port and status, never the body (secret, refresh token, code) nor the answer.
 */
async function tracedTokenRequest (tracing: Tracing, parent: string | undefined, agent: Agent, timeoutMs: number, tokenUrl: string, body: Record<string, string>): Promise<TokenResponse> {
  const span = tracing.start('POST /oauth/token', 'client', parent, { ...httpClientAttributes('POST', tokenUrl, 'oauth.token', '/oauth/token'), 'oauth.grant_type': body.grant_type })
  try {
    const got = await tokenRequest(agent, timeoutMs, tokenUrl, body, span.traceparent, (status) => span.setAttributes({ 'http.response.status_code': status }))
    span.end()
    return got
  } catch (err) {
    span.end(err instanceof TokenEndpointError ? err.kind : err)
    throw err
  }
}

async function tokenRequest (agent: Agent, timeoutMs: number, tokenUrl: string, body: Record<string, string>, traceparent: string | undefined, onStatus?: (status: number) => void): Promise<TokenResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
  if (traceparent !== undefined) headers.traceparent = traceparent
  const res = await send(agent, {
    method: 'POST',
    url: tokenUrl,
    headers,
    body: JSON.stringify(body),
    timeoutMs
  })
  onStatus?.(res.status)
  if (res.status >= 500 || res.status === 429) {
    throw new UpstreamUnavailableError(`The token endpoint answered ${res.status}`, { retryAfter: retryAfterOf(res) })
  }
  const b = (res.body !== null && typeof res.body === 'object' ? res.body : {}) as Record<string, unknown>
  if (res.status !== 200) {
    const error = typeof b.error === 'string' ? b.error : undefined
    const description = typeof b.error_description === 'string' ? b.error_description.slice(0, 300) : undefined
    // Atlassian answers a rotated-out or expired refresh token with invalid_grant, or (observed)
    // unauthorized_client "refresh_token is invalid"; a wrong client secret with 401 access_denied.
    const refreshGone = error === 'invalid_grant' || (error === 'unauthorized_client' && /refresh/i.test(description ?? ''))
    throw new TokenEndpointError(refreshGone ? 'invalid_grant' : 'client_rejected', res.status, error, description)
  }
  if (typeof b.access_token !== 'string' || b.access_token === '') {
    throw new TokenEndpointError('bad_response', res.status, undefined, 'the answer carries no access_token')
  }
  const expiresIn = Number(b.expires_in)
  return {
    accessToken: b.access_token,
    refreshToken: typeof b.refresh_token === 'string' && b.refresh_token !== '' ? b.refresh_token : undefined,
    expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600,
    scopes: typeof b.scope === 'string' ? b.scope.split(/\s+/).filter(Boolean) : undefined
  }
}

/** accessibleResources in a client span under `parent` (tracing on); the token is only a header, never an attribute. */
async function tracedAccessibleResources (tracing: Tracing, parent: string | undefined, agent: Agent, apiUrl: string, accessToken: string, timeoutMs: number): Promise<SiteChoice[]> {
  const template = '/oauth/token/accessible-resources'
  const span = tracing.start(`GET ${template}`, 'client', parent, httpClientAttributes('GET', apiUrl, 'oauth.accessible_resources', template))
  try {
    const sites = await accessibleResources(agent, apiUrl, accessToken, timeoutMs, span.traceparent, (status) => span.setAttributes({ 'http.response.status_code': status }))
    span.end()
    return sites
  } catch (err) {
    span.end(err)
    throw err
  }
}

/** The Confluence sites a token reaches (`id` is the cloudId), one entry per site. */
async function accessibleResources (agent: Agent, apiUrl: string, accessToken: string, timeoutMs: number, traceparent?: string, onStatus?: (status: number) => void): Promise<SiteChoice[]> {
  const url = `${apiUrl.replace(/\/+$/, '')}/oauth/token/accessible-resources`
  const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json' }
  if (traceparent !== undefined) headers.traceparent = traceparent
  const res = await send(agent, { method: 'GET', url, headers, timeoutMs })
  onStatus?.(res.status)
  if (res.status !== 200 || !Array.isArray(res.body)) {
    throw new UpstreamUnavailableError(`accessible-resources answered ${res.status}`, { retryable: res.status >= 500 })
  }
  const seen = new Map<string, SiteChoice>()
  for (const r of res.body as Array<Record<string, unknown>>) {
    if (typeof r?.id !== 'string' || typeof r.url !== 'string') continue
    const scopes = Array.isArray(r.scopes) ? r.scopes.map(String) : []
    // The same cloudId may appear once per product; keep entries that are (or may be) Confluence.
    const confluence = scopes.length === 0 || scopes.some(s => /confluence/i.test(s))
    if (!confluence || seen.has(r.id)) continue
    seen.set(r.id, { cloudId: r.id, url: r.url.replace(/\/+$/, ''), ...(typeof r.name === 'string' ? { name: r.name } : {}) })
  }
  return [...seen.values()]
}

export function sameSite (given: string, choice: SiteChoice): boolean {
  const g = given.trim().toLowerCase().replace(/\/+$/, '')
  if (g === choice.cloudId.toLowerCase()) return true
  try {
    const u = new URL(/^https?:\/\//.test(g) ? g : `https://${g}`)
    return u.host === new URL(choice.url).host.toLowerCase()
  } catch { return false }
}
