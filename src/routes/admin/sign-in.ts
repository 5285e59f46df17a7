// Sign-in and sign-out of the console: an admin or viewer key, pasted once, opens an 8-hour session (lib/sessions).
// A destination outside the console (e.g. "Get OAuth Token", which leaves for Atlassian) is reached through
// /admin/continue: the page's CSP (form-action 'self') forbids a form POST whose redirects end off-site, so the
// sign-in POST answers 303 to that same-origin page, which moves on by a meta refresh or a link — a plain
// navigation, not a form submission.
import type { FastifyPluginAsync } from 'fastify'
import type { Redis } from 'ioredis'
import type { ApiKeyRing } from '../../lib/api-keys'
import { OBSERVERS } from '../../config/roles'
import { SESSION_COOKIE, SessionStore, csrfTokenMatches, readCookie, sessionCookie } from '../../lib/sessions'
import { SignInThrottle } from '../../lib/sign-in-throttle'
import { ForbiddenError, SignInThrottledError } from '../../errors/errors'
import { sameOrigin } from '../../plugins/auth'
import { consoleUser, formOf, frameOf } from './context'
import { h, page, sendPage } from './html'

export interface SignInOptions { keys: ApiKeyRing, sessions: SessionStore, secureCookie: boolean, keyPrefix: string, redis: Redis }

const NEXT_BASE = 'http://spoke.invalid'

/**
 * Only a same-origin path may be a post-sign-in destination (no open redirect). Judged the way a browser will
 * read it: control characters and backslashes are refused outright (browsers drop tabs and newlines and read
 * `\\` as `/`, so "/\t/evil.example" is "//evil.example"), then the URL is parsed against our origin and
 * must stay on it; what is returned is the parsed, normalized path.
 */
export function safeNext (next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || /[\x00-\x20\x7f\\]/.test(next)) return '/admin'
  let u: URL
  try { u = new URL(next, NEXT_BASE) } catch { return '/admin' }
  if (u.origin !== NEXT_BASE || u.pathname.startsWith('//')) return '/admin'
  return u.pathname + u.search + u.hash
}

/** Console pages are reached directly; anything else through the continue page (see the top of this file). */
export function afterSignIn (next: string): string {
  return next === '/admin' || next.startsWith('/admin/') || next.startsWith('/admin?') ? next : `/admin/continue?next=${encodeURIComponent(next)}`
}

const CONSENT_PATH = /^\/v1\/connections\/([a-z][a-z0-9_-]{0,62})\/authorize(\?|$)/

const REFUSALS: Record<string, string> = {
  invalid: 'That key is not valid.',
  invoker: 'This key\'s role (invoker) cannot use the console: it may only run actions and read jobs. Sign in with an admin or viewer key.'
}

const signIn: FastifyPluginAsync<SignInOptions> = async (app, { keys, sessions, secureCookie, keyPrefix, redis }) => {
  const hidden = { hide: true }
  const throttle = new SignInThrottle(redis, keyPrefix)

  app.get('/admin/login', { config: { access: 'public' }, schema: hidden }, async (req, reply) => {
    const q = req.query as Record<string, unknown>
    const next = safeNext(q.next)
    const refusal = typeof q.failed === 'string' ? REFUSALS[q.failed] ?? REFUSALS.invalid : undefined
    const consent = CONSENT_PATH.exec(next)
    return sendPage(reply, 200, page('Sign in · Confluence spoke', h`<h1>Confluence spoke</h1>
${consent ? h`<p>Sign in to continue to "Get OAuth Token" for <code>${consent[1]}</code>.</p>` : ''}
<form method="post" action="/admin/login"><label for="apiKey">API key</label><input type="password" id="apiKey" name="apiKey" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${next}"><p><button type="submit">Sign in</button></p></form>
${refusal ? h`<p class="bad" role="alert">${refusal}</p>` : ''}<p class="muted">Admin and viewer keys may sign in (viewers see everything read-only). The session lasts 8 hours.</p>`))
  })

  app.post('/admin/login', { config: { access: 'public' }, schema: hidden }, async (req, reply) => {
    if (!sameOrigin(req)) throw new ForbiddenError('Sign in from this site\'s own sign-in page')
    const form = formOf(req)
    const next = safeNext(form.next)
    // Counted before the key is looked at (lib/sign-in-throttle): a parallel burst gets at most the limit checked.
    const { retryAfter: wait, failures } = await throttle.attempt(req.ip)
    if (wait > 0) {
      req.log.warn({ ip: req.ip, retryAfter: wait }, 'sign-in throttled')
      throw new SignInThrottledError(`Too many failed sign-ins from this address: try again in ${wait} seconds`, { retryAfter: wait })
    }
    const key = typeof form.apiKey === 'string' ? form.apiKey.trim() : ''
    const found = key !== '' ? keys.identify(key) : undefined
    const role = found?.role
    if (found === undefined || role === undefined || role === 'invoker') {
      req.log.info({ role, ip: req.ip, failures }, 'admin sign-in refused')
      return reply.redirect(`/admin/login?failed=${role ?? 'invalid'}&next=${encodeURIComponent(next)}`, 303)
    }
    await throttle.succeeded(req.ip)
    const keyId = found.keyId
    const session = await sessions.create(role, keyId, found.binding)
    req.log.info({ audit: 'signed in', by: { role, keyId } }, 'console: signed in')
    return reply.header('set-cookie', sessionCookie(session.id, session.maxAge, secureCookie)).redirect(afterSignIn(next), 303)
  })

  app.post('/admin/logout', { config: { access: 'public' }, schema: hidden }, async (req, reply) => {
    const id = readCookie(req.headers.cookie, SESSION_COOKIE)
    if (id !== undefined) {
      if (!sameOrigin(req) || !csrfTokenMatches(id, formOf(req)._csrf)) throw new ForbiddenError('Sign out from a console page of this session')
      const who = await sessions.principalOf(id)
      await sessions.destroy(id)
      if (who) req.log.info({ audit: 'signed out', by: who }, 'console: signed out')
    }
    return reply.header('set-cookie', sessionCookie('', 0, secureCookie)).redirect('/admin/login', 303)
  })

  // After sign-in or "Save and Get OAuth Token": a same-origin page that moves on without a form.
  app.get('/admin/continue', { config: { access: OBSERVERS, browser: true }, schema: hidden }, async (req, reply) => {
    const next = safeNext((req.query as Record<string, unknown>).next)
    const consent = CONSENT_PATH.exec(next)
    const what = consent ? `Atlassian's consent page for ${consent[1]} ("Get OAuth Token")` : next
    const refresh = h`<meta http-equiv="refresh" content="0;url=${next}">`
    return sendPage(reply, 200, page('Continue · Confluence spoke', h`<h1>Continue</h1>
<p>Continuing to ${what}… If nothing happens, <a id="continue" href="${next}">continue here</a>.</p>`, { ...frameOf(consoleUser(req)), head: refresh }))
  })
}

export default signIn
