// The API gateway: `/ex/confluence/{cloudId}/wiki/...`. Order of checks: the contract (every request, so
// violations are always recorded), injected faults, the bearer token, the site, the operation's scopes,
// the rate limits, then the Confluence handler.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ApiVersion, Operation } from './contract'
import { apiError, gatewayError, GONE, SCOPE_MISMATCH, v1Error, v2Error, type OpResult } from './errors'
import { bearer, injectFaults, send } from './http'
import { pointsOf } from './rate-limit'
import { isRemovedEndpoint } from './removed-endpoints'
import { sparseBody } from './sparse'
import { oddBody } from './oddities'
import { contextFor, type OpHandler } from './routes/context'
import { handlers } from './routes'
import type { User } from './seed'
import type { SimState } from './state'
import type { AccessToken } from './tokens'

export type Authentication = { ok: true, token: AccessToken, user: User } | { ok: false, expired: boolean }

/** A bearer token issued by this simulator and still valid. */
export function authenticate (state: SimState, token: string | undefined): Authentication {
  const found = token ? state.tokens.accessToken(token) : undefined
  if (!found) return { ok: false, expired: false }
  if (found.expiresAt <= Date.now()) return { ok: false, expired: true }
  const user = state.userByAccountId(found.accountId)
  return user ? { ok: true, token: found, user } : { ok: false, expired: false }
}

export const UNAUTHORIZED = gatewayError(401, 'Unauthorized')

export function scopesAllow (op: Operation, token: AccessToken): boolean {
  return op.scopeSets.length === 0 || op.scopeSets.some((set) => set.every((s) => token.scopeSet.has(s)))
}

const PREFIX = '/ex/confluence/'

export function registerGateway (app: FastifyInstance, state: SimState): void {
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: `${PREFIX}:cloudId/*`,
    handler: async (request, reply) => { await handle(state, request, reply) }
  })
}

async function handle (state: SimState, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { cloudId } = request.params as { cloudId: string }
  const [rawPath, rawQuery = ''] = request.url.split('?', 2) as [string, string?]
  const sitePath = rawPath.slice(PREFIX.length + cloudId.length)
  const method = request.method
  const query = new URLSearchParams(rawQuery)
  const version: ApiVersion = sitePath.startsWith('/wiki/api/v2') ? 'v2' : 'v1'
  const reject = (status: number, reason: string, operationId?: string): void => {
    state.recordInvalid({ method, url: sitePath + (rawQuery ? `?${rawQuery}` : ''), cloudId, operationId, status, reason })
    send(reply, status === 410 ? GONE : version === 'v2' ? v2Error(400, reason) : v1Error(400, reason, false))
  }

  const hit = state.contract.match(method, sitePath)
  if (!hit) {
    request.simOperation = 'unmatched'
    if (isRemovedEndpoint(method, sitePath)) {
      request.simOperation = 'removed'
      return reject(410, `${method} ${sitePath} was removed from Confluence Cloud`)
    }
    const others = state.contract.methodsAt(sitePath)
    return reject(400, others.length > 0
      ? `${method} is not an operation of ${sitePath} (the specs define ${others.join(', ')})`
      : `no operation ${method} ${sitePath} in the Confluence v1/v2 specs`)
  }
  const op = hit.op
  request.simOperation = op.operationId
  const checked = state.contract.validate(op, hit.rawPathParams, query, request.headers['content-type'], request.body)
  if (!checked.ok) return reject(400, checked.reason, op.operationId)

  if (await injectFaults(state, 'api', op.operationId, request, reply, (status) => apiError(op.version, status, 'Injected fault'))) return

  const auth = authenticate(state, bearer(request))
  if (!auth.ok) {
    if (auth.expired && state.gatewayExpiryMode === 'atlassian') {
      send(reply, op.version === 'v1' ? v1Error(403, 'Current user not permitted to use Confluence') : v2Error(404))
    } else {
      send(reply, UNAUTHORIZED)
    }
    return
  }
  const site = state.sites.get(cloudId)
  if (!site) { send(reply, gatewayError(404, 'Site not found')); return }
  if (!auth.token.cloudIds.includes(cloudId) || state.lostSites.has(cloudId)) { send(reply, UNAUTHORIZED); return }
  if (!scopesAllow(op, auth.token)) { send(reply, SCOPE_MISMATCH); return }

  const admission = state.rateLimiter.admit(auth.token.clientId, cloudId)
  if (!admission.ok) { send(reply, { status: 429, body: { code: 429, message: 'Rate limit exceeded' }, headers: admission.headers }); return }

  const handler = handlers[op.operationId] as OpHandler | undefined
  const result: OpResult = handler
    ? handler(contextFor(state, site, auth.user, auth.token, op, sitePath, query, checked.value))
    : apiError(op.version, 501, `${op.operationId} is valid but not simulated`)
  if (state.options.sparse && result.status < 300) result.body = sparseBody(state.contract, op, result.status, result.body)
  const odd = result.status < 300 ? state.faults.oddity(op.operationId, sitePath) : undefined
  if (odd !== undefined) result.body = oddBody(op.operationId, result.body, odd)
  const rateHeaders = state.rateLimiter.charge(auth.token.clientId, cloudId, pointsOf(method, result.objects))
  if (state.options.validateResponses && handler) {
    const violation = state.contract.validateResponse(op, result.status, result.body)
    if (violation) state.responseViolations.push({ operationId: op.operationId, status: result.status, reason: violation })
  }
  send(reply, { ...result, headers: { ...result.headers, ...rateHeaders } })
}
