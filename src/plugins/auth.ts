// Bearer API-key authentication with roles (docs/api.md). Each route declares `config.access`:
// 'public' or the list of roles allowed. A route that declares nothing is admin-only (fail closed).
// Routes a person opens in a browser (`config.browser`) also accept a session cookie (lib/sessions), re-checked
// on every request against the keys configured now: a session whose key was removed is ended, one whose key's
// role was lowered gets the lower role. Wrong bearer keys are counted per address (lib/sign-in-throttle).
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { ADMIN_ONLY, type ApiKeyRole } from '../config/roles'
import { ApiKeyThrottledError, ForbiddenError, UnauthenticatedError } from '../errors/errors'
import type { ApiKeyRing } from '../lib/api-keys'
import { SESSION_COOKIE, readCookie, type SessionPrincipal, type SessionStore } from '../lib/sessions'
import type { ApiKeyFailureThrottle } from '../lib/sign-in-throttle'

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

const RANK: Record<ApiKeyRole, number> = { invoker: 0, viewer: 1, admin: 2 }

/**
 * The session's principal as the configured keys allow it now: none when its key is gone (the session is
 * ended) or may no longer use the console (invoker); the key's current role when it was lowered. One Map
 * lookup per request (lib/api-keys byBindingOf): no hashing beyond the session id's, no Redis beyond its GET.
 */
export async function sessionPrincipal (req: FastifyRequest, sessions: SessionStore | undefined, keys: ApiKeyRing): Promise<SessionPrincipal | undefined> {
  if (!sessions || !req.routeOptions.config.browser) return undefined
  const id = readCookie(req.headers.cookie, SESSION_COOKIE)
  if (id === undefined) return undefined
  if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) return undefined
  const stored = await sessions.principalOf(id)
  if (stored === undefined) return undefined
  const key = keys.byBindingOf(stored.binding)
  if (key === undefined || key.role === 'invoker') {
    await sessions.destroy(id)
    req.log.info({ audit: 'session ended', by: { role: stored.role, keyId: stored.keyId }, reason: key === undefined ? 'key no longer configured' : 'key role is now invoker' }, 'console: session ended')
    return undefined
  }
  if (RANK[key.role] < RANK[stored.role]) {
    // lowered for good: written once, on the first request after the change
    await sessions.lower(id, { ...stored, role: key.role })
    req.log.info({ audit: 'session role lowered', by: { role: stored.role, keyId: stored.keyId }, to: key.role }, 'console: session role lowered')
    return { role: key.role, keyId: stored.keyId }
  }
  return { role: stored.role, keyId: stored.keyId }
}

export default fp<{ keys: ApiKeyRing, sessions?: SessionStore, keyThrottle?: ApiKeyFailureThrottle }>(async (app, opts) => {
  app.decorateRequest('principal', undefined)
  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return // unknown routes answer 404 whoever asks
    const access = req.routeOptions.config.access ?? ADMIN_ONLY
    if (access === 'public') return
    const key = presentedKey(req)
    let principal: SessionPrincipal | undefined
    if (key !== undefined) {
      // An address over the limit of wrong keys is refused whatever key it sends (a right guess learns nothing).
      const wait = opts.keyThrottle?.retryAfter(req.ip) ?? 0
      if (wait > 0) throw new ApiKeyThrottledError(`Too many requests with a wrong API key from this address: try again in ${wait} seconds`, { retryAfter: wait })
      const found = opts.keys.identify(key)
      if (found === undefined) {
        const over = await (opts.keyThrottle?.recordFailure(req.ip).catch(() => 0) ?? 0)
        if (over > 0) {
          req.log.warn({ ip: req.ip, retryAfter: over }, 'API key failures throttled')
          throw new ApiKeyThrottledError(`Too many requests with a wrong API key from this address: try again in ${over} seconds`, { retryAfter: over })
        }
        throw new UnauthenticatedError('The API key is not valid', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })
      }
      principal = { role: found.role, keyId: found.keyId }
    } else {
      principal = await sessionPrincipal(req, opts.sessions, opts.keys)
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
