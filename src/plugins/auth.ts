// Bearer API-key authentication with roles (DESIGN §3). Each route declares `config.access`:
// 'public' or the list of roles allowed. A route that declares nothing is admin-only (fail closed).
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { ApiKeyRole } from '../config/env'
import { ForbiddenError, UnauthenticatedError } from '../errors/errors'
import type { ApiKeyRing } from '../lib/api-keys'

export type RouteAccess = 'public' | readonly ApiKeyRole[]

declare module 'fastify' {
  interface FastifyContextConfig { access?: RouteAccess }
  interface FastifyRequest { principal?: { role: ApiKeyRole } }
}

export const ALL_ROLES: readonly ApiKeyRole[] = ['admin', 'invoker', 'viewer']
export const ADMIN_ONLY: readonly ApiKeyRole[] = ['admin']

export function presentedKey (req: FastifyRequest): string | undefined {
  const header = req.headers.authorization
  if (typeof header !== 'string') return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return m ? m[1] : undefined
}

export default fp<{ keys: ApiKeyRing }>(async (app, opts) => {
  app.decorateRequest('principal', undefined)
  app.addHook('onRequest', async (req) => {
    if (req.is404) return // unknown routes answer 404 whoever asks
    const access = req.routeOptions.config.access ?? ADMIN_ONLY
    if (access === 'public') return
    const key = presentedKey(req)
    if (key === undefined) throw new UnauthenticatedError('Send an API key as "Authorization: Bearer <key>"', { headers: { 'www-authenticate': 'Bearer' } })
    const role = opts.keys.roleOf(key)
    if (role === undefined) throw new UnauthenticatedError('The API key is not valid', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })
    req.principal = { role }
    if (!access.includes(role)) throw new ForbiddenError(`This route needs one of the roles: ${access.join(', ')} (your key is ${role})`)
  })
}, { name: 'auth' })
