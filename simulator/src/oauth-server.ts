// Atlassian's OAuth 2.0 server (https://developer.atlassian.com/cloud/confluence/oauth-2-3lo-apps/): /authorize with a consent page (or auto-consent),
// /oauth/token for authorization_code, rotating refresh_token and client_credentials, and on the API host
// /oauth/token/accessible-resources and /me.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidJson } from './contract'
import { gatewayError, SCOPE_MISMATCH, type OpResult } from './errors'
import { authenticate, UNAUTHORIZED } from './gateway'
import { bearer, injectFaults, send } from './http'
import { SERVICE_ACCOUNT_ID } from './seed'
import type { SimState } from './state'
import type { Grant, GrantType } from './tokens'

const AUDIENCE = 'api.atlassian.com'

interface ConsentRequest { clientId: string, redirectUri: string, scopes: string[], state?: string }

export function registerOAuthServer (app: FastifyInstance, state: SimState): void {
  const pending = new Map<string, ConsentRequest>()

  app.get('/authorize', async (request, reply) => {
    request.simOperation = 'oauth.authorize'
    if (await injectFaults(state, 'oauth', 'oauth.authorize', request, reply, serverError)) return
    const q = request.query as Record<string, string | undefined>
    if (q.client_id !== state.options.clientId) return html(reply, 400, 'Invalid client', `Unknown client_id "${q.client_id ?? ''}".`)
    if (!q.redirect_uri || !q.redirect_uri.startsWith(state.options.redirectUriPrefix)) {
      return html(reply, 400, 'Invalid redirect_uri', `The redirect_uri must start with ${state.options.redirectUriPrefix}.`)
    }
    const fail = (error: string, description: string): FastifyReply => redirect(reply, q.redirect_uri as string, { error, error_description: description, state: q.state })
    if (q.response_type !== 'code') return fail('unsupported_response_type', 'response_type must be code')
    if (q.audience !== AUDIENCE) return fail('invalid_request', `audience must be ${AUDIENCE}`)
    if (q.prompt !== undefined && q.prompt !== 'consent') return fail('invalid_request', 'prompt must be consent')
    const scopes = (q.scope ?? '').split(/[ +]+/).filter(Boolean)
    const unknown = scopes.filter((s) => !state.knownScopes.has(s))
    if (scopes.length === 0 || unknown.length > 0) return fail('invalid_scope', `unknown or missing scopes: ${unknown.join(' ') || '(none)'}`)
    const consent: ConsentRequest = { clientId: q.client_id, redirectUri: q.redirect_uri, scopes, state: q.state }
    if (state.options.autoConsent) return approve(state, reply, consent, state.options.consentAccountId)
    const id = randomBytes(12).toString('base64url')
    pending.set(id, consent)
    return html(reply, 200, 'Allow access?', consentForm(state, id, consent))
  })

  app.post('/authorize/consent', async (request, reply) => {
    request.simOperation = 'oauth.consent'
    const body = (request.body ?? {}) as Record<string, string | undefined>
    const consent = body.request ? pending.get(body.request) : undefined
    if (!consent) return html(reply, 400, 'Consent expired', 'This consent request is unknown or was already answered.')
    pending.delete(body.request as string)
    if (body.decision !== 'approve') return redirect(reply, consent.redirectUri, { error: 'access_denied', error_description: 'The user denied access', state: consent.state })
    const account = body.account && state.userByAccountId(body.account) ? body.account : state.options.consentAccountId
    return approve(state, reply, consent, account)
  })

  app.post('/oauth/token', async (request, reply) => {
    request.simOperation = 'oauth.token'
    state.counters.tokenRequest()
    if (await injectFaults(state, 'oauth', 'oauth.token', request, reply, serverError)) return
    send(reply, tokenEndpoint(state, request))
  })

  app.get('/oauth/token/accessible-resources', async (request, reply) => {
    request.simOperation = 'oauth.accessibleResources'
    if (await injectFaults(state, 'oauth', 'oauth.accessibleResources', request, reply, serverError)) return
    const auth = authenticate(state, bearer(request))
    if (!auth.ok) return send(reply, UNAUTHORIZED)
    const scopes = auth.token.scopes.filter((s) => s !== 'offline_access' && s !== 'read:me' && s !== 'read:account')
    const body = auth.token.cloudIds.flatMap((cloudId) => {
      const site = state.sites.get(cloudId)
      return site !== undefined && !state.lostSites.has(cloudId) ? [{ id: site.cloudId, name: site.name, url: site.url, scopes, avatarUrl: 'https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png' }] : []
    })
    return send(reply, { status: 200, body })
  })

  app.get('/me', async (request, reply) => {
    request.simOperation = 'me'
    const auth = authenticate(state, bearer(request))
    if (!auth.ok) return send(reply, UNAUTHORIZED)
    if (!auth.token.scopeSet.has('read:me')) return send(reply, SCOPE_MISMATCH)
    const u = auth.user
    return send(reply, {
      status: 200,
      body: {
        account_type: u.accountType,
        account_id: u.accountId,
        ...(u.email ? { email: u.email, email_verified: true } : {}),
        name: u.displayName,
        nickname: u.displayName.split(' ')[0],
        picture: `https://avatar-management--avatars.example/${u.accountId}/128`,
        account_status: 'active',
        zoneinfo: u.timeZone,
        locale: 'en-US',
        extended_profile: { job_title: '', organization: state.options.orgName, department: '', location: '' }
      }
    })
  })
}

function tokenEndpoint (state: SimState, request: FastifyRequest): OpResult {
  if (request.body instanceof InvalidJson) return tokenError(400, 'invalid_request', `malformed JSON body: ${request.body.message}`)
  const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>
  const [basicId, basicSecret] = basicCredentials(request)
  const clientId = String(body.client_id ?? basicId ?? '')
  const clientSecret = String(body.client_secret ?? basicSecret ?? '')
  const grantType = body.grant_type
  if (clientId !== state.options.clientId || clientSecret !== state.options.clientSecret) {
    return tokenError(401, 'access_denied', 'Unauthorized')
  }
  const allSites = [...state.sites.keys()]
  switch (grantType) {
    case 'authorization_code': {
      const code = typeof body.code === 'string' ? state.tokens.consumeCode(body.code) : undefined
      if (!code || code.clientId !== clientId) return tokenError(403, 'invalid_grant', 'Invalid authorization code')
      if (body.redirect_uri !== code.redirectUri) return tokenError(403, 'invalid_grant', 'redirect_uri does not match the authorization request')
      return grantTokens(state, code, 'authorization_code', code.scopes.includes('offline_access') ? state.tokens.issueRefreshToken(code) : undefined)
    }
    case 'refresh_token': {
      if (typeof body.refresh_token !== 'string') return tokenError(400, 'invalid_request', 'refresh_token is required')
      const rotated = state.tokens.rotate(body.refresh_token, clientId)
      if (!rotated.ok) return tokenError(403, rotated.error, rotated.description)
      return grantTokens(state, rotated.grant, 'refresh_token', rotated.refreshToken)
    }
    case 'client_credentials': {
      if (body.audience !== undefined && body.audience !== AUDIENCE) return tokenError(400, 'invalid_request', `audience must be ${AUDIENCE}`)
      const allowed = state.options.clientCredentialsScopes
      const requested = typeof body.scope === 'string' ? body.scope.split(/\s+/).filter(Boolean) : allowed
      const refused = requested.filter((s) => !allowed.includes(s))
      if (refused.length > 0) return tokenError(400, 'invalid_scope', `scopes not granted to this client: ${refused.join(' ')}`)
      return grantTokens(state, { accountId: SERVICE_ACCOUNT_ID, clientId, scopes: requested, cloudIds: allSites }, 'client_credentials')
    }
    default:
      return tokenError(400, 'unsupported_grant_type', `grant_type ${String(grantType)} is not supported`)
  }
}

function grantTokens (state: SimState, grant: Grant, grantType: GrantType, refreshToken?: string): OpResult {
  const access = state.tokens.issueAccessToken(grant, grantType)
  state.counters.tokenGranted(grantType)
  return {
    status: 200,
    body: {
      access_token: access.token,
      expires_in: state.options.accessTokenTtlSeconds,
      token_type: 'Bearer',
      scope: grant.scopes.join(' '),
      ...(refreshToken ? { refresh_token: refreshToken } : {})
    },
    headers: { 'Cache-Control': 'no-store' }
  }
}

function approve (state: SimState, reply: FastifyReply, consent: ConsentRequest, accountId: string): FastifyReply {
  const grant: Grant = { accountId, clientId: consent.clientId, scopes: consent.scopes, cloudIds: [...state.sites.keys()] }
  return redirect(reply, consent.redirectUri, { code: state.tokens.createCode(grant, consent.redirectUri), state: consent.state })
}

function redirect (reply: FastifyReply, uri: string, params: Record<string, string | undefined>): FastifyReply {
  const url = new URL(uri)
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v)
  return reply.redirect(url.toString(), 302)
}

function tokenError (status: number, error: string, description: string): OpResult {
  return { status, body: { error, error_description: description } }
}

function serverError (status: number): OpResult {
  return gatewayError(status, 'Injected fault')
}

function basicCredentials (request: FastifyRequest): [string?, string?] {
  const header = request.headers.authorization
  if (!header?.startsWith('Basic ')) return []
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':', 2)
  return [id, secret]
}

function html (reply: FastifyReply, status: number, title: string, content: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8')
    .send(`<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${content.startsWith('<') ? content : `<p>${escape(content)}</p>`}</body></html>`)
}

function consentForm (state: SimState, id: string, consent: ConsentRequest): string {
  const accounts = state.users.filter((u) => u.accountType === 'atlassian').slice(0, 6)
  const options = accounts.map((u) => `<option value="${escape(u.accountId)}"${u.accountId === state.options.consentAccountId ? ' selected' : ''}>${escape(u.displayName)}</option>`).join('')
  const sites = [...state.sites.values()].map((s) => `<li>${escape(s.url)}</li>`).join('')
  return `<p>${escape(consent.clientId)} is requesting access to your Atlassian account.</p>
<ul>${consent.scopes.map((s) => `<li>${escape(s)}</li>`).join('')}</ul><p>Sites:</p><ul>${sites}</ul>
<form method="post" action="/authorize/consent"><input type="hidden" name="request" value="${id}">
<label>Account <select name="account">${options}</select></label>
<button type="submit" name="decision" value="approve">Approve</button> <button type="submit" name="decision" value="deny">Deny</button></form>`
}

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
