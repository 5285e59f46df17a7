// Bearer API-key authentication with roles (docs/api.md). Each route declares `config.access`:
// 'public' or the list of roles allowed. A route that declares nothing is admin-only (fail closed).
// Routes a person opens in a browser (`config.browser`) also accept a session cookie (lib/sessions).
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { ADMIN_ONLY, type ApiKeyRole } from '../config/roles'
import { ForbiddenError, UnauthenticatedError } from '../errors/errors'
import { keyFingerprint, type ApiKeyRing } from '../lib/api-keys'
import { SESSION_COOKIE, readCookie, type SessionPrincipal, type SessionStore } from '../lib/sessions'

export type RouteAccess = 'public' | readonly ApiKeyRole[]

declare module 'fastify' {
  interface FastifyContextConfig { access?: RouteAccess, browser?: boolean }
  /** Who is asking: the key's role and its fingerprint (lib/api-keys keyFingerprint), for audit lines. */
  interface FastifyRequest {
    principal?: { role: ApiKeyRole, keyId?: string }
    /** A browser's form post without a live session: refused once its body is read (the console keeps the form). */
    signInAgain?: boolean
  }
}

export { ADMIN_ONLY }

export function presentedKey (req: FastifyRequest): string | undefined {
  const header = req.headers.authorization
  if (typeof header !== 'string') return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return m ? m[1] : undefined
}

/** A cookie-authenticated change must come from our own pages (SameSite=Strict already blocks most). */
export function sameOrigin (req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false
  const origin = req.headers.origin
  if (origin === undefined) return true
  try { return new URL(origin).host === req.headers.host } catch { return false }
}

async function sessionPrincipal (req: FastifyRequest, sessions: SessionStore | undefined): Promise<SessionPrincipal | undefined> {
  if (!sessions || !req.routeOptions.config.browser) return undefined
  const id = readCookie(req.headers.cookie, SESSION_COOKIE)
  if (id === undefined) return undefined
  if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) return undefined
  return sessions.principalOf(id)
}

export default fp<{ keys: ApiKeyRing, sessions?: SessionStore }>(async (app, opts) => {
  app.decorateRequest('principal', undefined)
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return // unknown routes answer 404 whoever asks
    const access = req.routeOptions.config.access ?? ADMIN_ONLY
    if (access === 'public') return
    const key = presentedKey(req)
    let principal: SessionPrincipal | undefined
    if (key !== undefined) {
      const role = opts.keys.roleOf(key)
      if (role === undefined) throw new UnauthenticatedError('The API key is not valid', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })
      principal = { role, keyId: keyFingerprint(key) }
    } else {
      principal = await sessionPrincipal(req, opts.sessions)
      if (principal === undefined) {
        // A person opening a page is sent to the sign-in form; programs get the 401 problem.
        if (req.routeOptions.config.browser && req.method === 'GET' && /text\/html/.test(req.headers.accept ?? '')) {
          return reply.redirect(`/admin/login?next=${encodeURIComponent(req.url)}`, 303)
        }
        // A form posted after the session ended: refused in preValidation below, once the body is parsed, so the
        // console's error page can keep what was typed (routes/admin/errors.ts). The handler never runs.
        if (req.routeOptions.config.browser && req.method === 'POST' && /text\/html/.test(req.headers.accept ?? '')) {
          req.signInAgain = true
          return
        }
        throw new UnauthenticatedError('Send an API key as "Authorization: Bearer <key>"', { headers: { 'www-authenticate': 'Bearer' } })
      }
    }
    req.principal = principal
    const role = principal.role
    if (!access.includes(role)) throw new ForbiddenError(`This route needs one of the roles: ${access.join(', ')} (your key is ${role})`)
  })
  app.addHook('preValidation', async (req) => {
    if (req.signInAgain === true) throw new UnauthenticatedError('Your session has ended: sign in again', { headers: { 'www-authenticate': 'Bearer' } })
  })
}, { name: 'auth' })
