// Errors a person meets in the console, as HTML pages (with the problem's code and the way on); programs asking
// for JSON still get problem+json. Used by the console's routes, the "Get OAuth Token" link
// (GET /v1/connections/{alias}/authorize) and unknown /admin/* paths. A form posted after the session ended is
// kept in a draft (drafts.ts), and the sign-in offered returns to that form, filled in, with a fresh CSRF token.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { sendProblem, toAppError } from '../../plugins/error-handler'
import type { AppError } from '../../errors/app-error'
import { consoleUser, formOf, frameOf } from './context'
import { DRAFT_COOKIE, DraftStore } from './drafts'
import { SESSION_COOKIE, readCookie } from '../../lib/sessions'
import { sameOrigin } from '../../plugins/auth'
import { h, page, sendPage, withoutApiPaths, type Html } from './html'

export const wantsHtml = (req: FastifyRequest): boolean => /text\/html/.test(req.headers.accept ?? '')

/** The GET page a form POST came from, where a kept draft is shown again (undefined: none worth keeping). */
export function formPageOf (url: string): string | undefined {
  const path = url.split('?')[0]
  if (path === '/admin/aliases') return '/admin/aliases/new'
  const edit = /^\/admin\/aliases\/([a-z][a-z0-9_-]{0,62})\/edit$/.exec(path)
  return edit ? path : undefined
}

const TITLES: Record<number, string> = { 401: 'Please sign in again', 403: 'Not allowed', 404: 'Not found', 409: 'Not possible yet' }

function signInForm (next: string, said: Html): Html {
  return h`${said}<form method="post" action="/admin/login"><label for="apiKey">API key</label><input type="password" id="apiKey" name="apiKey" autocomplete="current-password" required>
<input type="hidden" name="next" value="${next}"><p><button type="submit">Sign in</button></p></form>`
}

async function wayOn (e: AppError, req: FastifyRequest, reply: FastifyReply, drafts: DraftStore | undefined): Promise<Html> {
  if (e.statusCode === 401) {
    // Kept only for a browser that had a session (its cookie is still sent) posting from our own pages.
    const hadSession = readCookie(req.headers.cookie, SESSION_COOKIE) !== undefined && sameOrigin(req)
    const formPage = req.method === 'POST' && hadSession ? formPageOf(req.url) : undefined
    const owner = DraftStore.newOwner()
    const id = formPage && drafts ? await drafts.save(formOf(req), undefined, owner) : undefined
    if (formPage && id) {
      reply.header('set-cookie', `${DRAFT_COOKIE}=${owner}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=1800${req.protocol === 'https' ? '; Secure' : ''}`)
      return signInForm(`${formPage}?draft=${id}`, h`<p>Your session ended before the form was saved. Nothing was saved, and nothing you typed is lost: sign in and you are back on the form with every value (secrets are kept on the server for 30 minutes, never in this page).</p>`)
    }
    const back = req.method === 'GET' ? req.url : (req.headers.referer ? new URL(req.headers.referer, 'http://x').pathname : '/admin')
    return signInForm(back.startsWith('/') ? back : '/admin', h`<p>Your session ended (sessions last 8 hours). Sign in to continue where you were.</p>`)
  }
  const alias = /^\/(?:v1\/connections|admin\/aliases)\/([a-z][a-z0-9_-]{0,62})(?:\/|$|\?)/.exec(req.url)
  const toAlias = alias && e.statusCode !== 404 ? h`<a href="/admin/aliases/${alias[1]}">Back to alias ${alias[1]}</a> · ` : ''
  return h`<p>${toAlias}<a href="/admin">Back to the console</a></p>`
}

/** The console's error page for `err` (HTML to a browser, problem+json to a program). */
export async function sendConsoleError (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply, drafts?: DraftStore): Promise<FastifyReply> {
  const e = toAppError(err)
  if (e.statusCode >= 500) req.log.error({ err, code: e.code }, 'request failed')
  else req.log.info({ code: e.code, detail: e.message }, 'request rejected')
  if (!wantsHtml(req)) return sendProblem(reply, e)
  const user = req.principal ? consoleUser(req) : undefined
  if (e.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(e.retryAfter)))
  reply.header('x-request-id', String(req.id))
  return sendPage(reply, e.statusCode, page(`${e.statusCode} · Confluence spoke`, h`<h1>${TITLES[e.statusCode] ?? 'That did not work'}</h1>
<p class="error" role="alert"><code>${e.code}</code> ${withoutApiPaths(e.message)}</p>${await wayOn(e, req, reply, drafts)}<p class="muted">Request id ${String(req.id)}</p>`, user ? frameOf(user) : {}))
}

/** An error handler for a route a browser opens (the consent link): HTML to a person. */
export function browserErrorHandler (err: FastifyError, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return sendConsoleError(err, req, reply)
}
