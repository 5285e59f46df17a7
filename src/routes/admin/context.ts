// Who is using the console and what they may do: the signed-in role, the session's CSRF token for forms, the
// check every change makes (admin role, token from a page we rendered for this session; plugins/auth.ts has
// already refused a cookie-authenticated change from another origin), and the audit line every change writes:
// the role and the key's fingerprint, never the key or the session id.
import type { FastifyRequest } from 'fastify'
import { ForbiddenError } from '../../errors/errors'
import { presentedKey } from '../../plugins/auth'
import { SESSION_COOKIE, csrfToken, csrfTokenMatches, readCookie } from '../../lib/sessions'
import type { PageFrame } from './html'

export interface ConsoleUser {
  role: string
  isAdmin: boolean
  /** CSRF token of the session (undefined when the request carries no session cookie). */
  csrf?: string
}

export function consoleUser (req: FastifyRequest): ConsoleUser {
  const id = readCookie(req.headers.cookie, SESSION_COOKIE)
  const role = req.principal?.role ?? 'unknown'
  return { role, isAdmin: role === 'admin', ...(id !== undefined ? { csrf: csrfToken(id) } : {}) }
}

/** What a change redirects back with (`?done=<code>`): fixed wording, so a link cannot put words on our page. */
const DONE: Record<string, string> = {
  saved: 'Saved.',
  deleted: 'Alias deleted.',
  groups: 'Managed groups saved.',
  token: 'Token obtained.',
  retried: 'Job queued again.',
  cancelled: 'Cancel requested.',
  site: 'Site chosen.',
  signedout: 'Every session of that key is signed out.',
  activated: 'Made active: requests naming the parent now run as this alias.',
  incomplete: 'Saved, but the alias is not complete yet: the Next step below says what is missing before "Get OAuth Token".',
  'token-refused': 'Saved, but Atlassian gave no token: see the State below for which credential was refused.',
  'nothing-selected': 'Nothing selected: choose one or more groups in the list first (Ctrl/Cmd-click for several). Nothing was changed.',
  'trigger-saved': 'Trigger saved.',
  'trigger-paused': 'Trigger paused: changes made while it is paused are not sent.',
  'trigger-resumed': 'Trigger resumed: it sends what changes from now on.',
  'trigger-deleted': 'Trigger deleted, with its pending events and dead letters.',
  'test-delivered': 'Test event delivered: the receiver answered 2xx (see Last deliveries).',
  'test-failed': 'The test event was not accepted: Last deliveries below says why.',
  replayed: 'Dead letters queued again, before any newer event.'
}
const BAD = new Set(['token-refused', 'nothing-selected', 'incomplete', 'test-failed'])

export function frameOf (user: ConsoleUser, req?: FastifyRequest): PageFrame {
  const done = (req?.query as Record<string, unknown> | undefined)?.done
  const flash = typeof done === 'string' ? DONE[done] : undefined
  return { role: user.role, csrf: user.csrf, ...(flash ? { flash, flashBad: BAD.has(String(done)) } : {}) }
}

/** The form fields of a console POST (formbody), as strings or string lists. */
export type FormFields = Record<string, string | string[] | undefined>

export function formOf (req: FastifyRequest): FormFields {
  const body = req.body
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? body as FormFields : {}
}

/**
 * Refuses a cookie-authenticated console change without the session's CSRF token (a form not rendered for this
 * session). A request with an API key in its Authorization header needs none: no browser adds that header on its own.
 */
export function requireCsrf (req: FastifyRequest): FormFields {
  const form = formOf(req)
  if (presentedKey(req) === undefined && !csrfTokenMatches(readCookie(req.headers.cookie, SESSION_COOKIE), form._csrf)) {
    req.log.warn({ by: who(req), url: req.url.split('?')[0] }, 'console change refused: CSRF token missing or wrong')
    throw new ForbiddenError('This form was not sent from a console page of this session (CSRF token missing or wrong): reload the page and try again')
  }
  return form
}

function who (req: FastifyRequest): { role?: string, keyId?: string } {
  return { role: req.principal?.role, keyId: req.principal?.keyId }
}

/** One info line per console change: what, on what, and who (role + key fingerprint). */
export function audit (req: FastifyRequest, change: string, fields: Record<string, unknown> = {}): void {
  req.log.info({ audit: change, by: who(req), ...fields }, `console: ${change}`)
}

/** A single text field of a form ('' when absent; the first of a repeated one). */
export function field (form: FormFields, name: string): string {
  const v: unknown = form[name]
  const first: unknown = Array.isArray(v) ? v[0] : v
  return typeof first === 'string' ? first.trim() : '' // a JSON body may carry anything: only strings are fields
}

/** A multi-valued field (checkboxes, multi-selects). */
export function fieldList (form: FormFields, name: string): string[] {
  const v: unknown = form[name]
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string')
}
