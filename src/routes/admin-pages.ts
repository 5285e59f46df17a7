// The admin web page (docs/api.md#operations) and its sign-in: a person pastes an API key once, gets an HttpOnly
// session cookie, and sees the aliases (token status, site, managed groups, what still needs doing, a
// "Get OAuth Token" link) and the recent jobs, with links to the queue dashboard and the API docs.
// Server-rendered, no scripts: every value is escaped, nothing secret is ever on the page.
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import formbody from '@fastify/formbody'
import type { Core } from '../core'
import { OBSERVERS } from '../config/roles'
import type { ApiKeyRing } from '../lib/api-keys'
import { SESSION_COOKIE, SessionStore, readCookie, sessionCookie } from '../lib/sessions'
import { SignInThrottle } from '../lib/sign-in-throttle'
import { SignInThrottledError } from '../errors/errors'

export interface AdminPagesOptions { core: Core, keys: ApiKeyRing, sessions: SessionStore }

const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

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

function page (title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#172b4d}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #dfe1e6;vertical-align:top}
.ok{color:#006644}.bad{color:#bf2600}.muted{color:#6b778c}code{background:#f4f5f7;padding:0 .2rem}
nav a{margin-right:1rem}form.inline{display:inline}input[type=password]{width:28rem;max-width:100%}
</style></head><body>${body}</body></html>`
}

function html (reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'").type('text/html; charset=utf-8').send(body)
}

const adminPages: FastifyPluginAsync<AdminPagesOptions> = async (app, { core, keys, sessions }) => {
  await app.register(formbody)
  const secure = core.config.publicUrl.startsWith('https:')
  const hidden = { hide: true }
  const throttle = new SignInThrottle(core.redis.store, core.config.keyPrefix)

  app.get('/admin/login', { config: { access: 'public' }, schema: hidden }, async (req, reply) => {
    const next = safeNext((req.query as Record<string, unknown>).next)
    const failed = (req.query as Record<string, unknown>).failed !== undefined
    return html(reply, 200, page('Sign in · Confluence spoke', `<h1>Confluence spoke</h1>
<form method="post" action="/admin/login"><p><label>API key<br><input type="password" name="apiKey" autocomplete="current-password" required autofocus></label></p>
<input type="hidden" name="next" value="${esc(next)}"><button type="submit">Sign in</button></form>
${failed ? '<p class="bad">That key is not valid.</p>' : ''}<p class="muted">Admin and viewer keys may sign in. The session lasts 8 hours.</p>`))
  })

  app.post('/admin/login', { config: { access: 'public' }, schema: hidden }, async (req, reply) => {
    const form = (req.body ?? {}) as Record<string, unknown>
    const next = safeNext(form.next)
    const wait = await throttle.retryAfter(req.ip)
    if (wait > 0) {
      req.log.warn({ ip: req.ip, retryAfter: wait }, 'sign-in throttled')
      throw new SignInThrottledError(`Too many failed sign-ins from this address: try again in ${wait} seconds`, { retryAfter: wait })
    }
    const role = typeof form.apiKey === 'string' ? keys.roleOf(form.apiKey.trim()) : undefined
    if (role === undefined || role === 'invoker') {
      const failures = await throttle.recordFailure(req.ip)
      req.log.info({ role, ip: req.ip, failures }, 'admin sign-in refused')
      return reply.redirect(`/admin/login?failed=1&next=${encodeURIComponent(next)}`, 303)
    }
    const session = await sessions.create(role)
    return reply.header('set-cookie', sessionCookie(session.id, session.maxAge, secure)).redirect(next, 303)
  })

  app.post('/admin/logout', { config: { access: 'public' }, schema: hidden }, async (req, reply) => {
    const id = readCookie(req.headers.cookie, SESSION_COOKIE)
    if (id !== undefined) await sessions.destroy(id)
    return reply.header('set-cookie', sessionCookie('', 0, secure)).redirect('/admin/login', 303)
  })

  app.get('/admin', { config: { access: OBSERVERS, browser: true }, schema: hidden }, async (req, reply) => {
    const [aliases, jobs] = await Promise.all([core.connections.aliases.list(), core.jobs.list({ limit: 20 })])
    const isAdmin = req.principal?.role === 'admin'
    const aliasRows = aliases.map(a => {
      const status = a.token.status
      const consent = a.credential?.type === 'oauth2_authorization_code' && isAdmin
        ? `<a href="/v1/connections/${esc(a.id)}/authorize">Get OAuth Token</a>` : ''
      const groups = (a.managedGroups ?? []).map(g => esc(g.name ?? g.groupId)).join(', ') || '<span class="muted">none</span>'
      const problems = a.problems.length > 0 ? `<br><span class="bad">${a.problems.map(esc).join('<br>')}</span>` : ''
      return `<tr><td><code>${esc(a.id)}</code><br><span class="muted">${esc(a.name)}${a.parent ? ` · child of ${esc(a.parent)}` : ''}</span></td>
<td>${esc(a.credential?.type?.replace('oauth2_', ''))}</td>
<td class="${status === 'active' ? 'ok' : 'bad'}">${esc(status)}${a.token.expiresAt ? `<br><span class="muted">until ${esc(a.token.expiresAt)}</span>` : ''}${problems}</td>
<td>${a.boundSite ? `${esc(a.boundSite.url)}<br><span class="muted">${esc(a.boundSite.cloudId)}</span>` : '<span class="muted">not bound</span>'}</td>
<td>${groups}</td><td>${consent}</td></tr>`
    }).join('')
    const jobRows = jobs.jobs.map(j => `<tr><td><code>${esc(j.id)}</code></td><td>${esc(j.action)}</td><td>${esc(j.connection?.requested)}</td>
<td class="${j.state === 'failed' ? 'bad' : j.state === 'completed' ? 'ok' : ''}">${esc(j.state)}${j.error ? `<br><span class="muted">${esc(j.error.code)}</span>` : ''}</td>
<td>${esc(j.createdAt)}</td></tr>`).join('')
    return html(reply, 200, page('Confluence spoke admin', `<h1>Confluence spoke</h1>
<nav><a href="/admin/queues">Queue dashboard</a><a href="/docs">API docs</a><a href="/openapi.json">OpenAPI</a>
<form class="inline" method="post" action="/admin/logout"><button type="submit">Sign out (${esc(req.principal?.role)})</button></form></nav>
<h2>Connections</h2><table><thead><tr><th>alias</th><th>grant</th><th>token</th><th>site</th><th>managed groups</th><th></th></tr></thead>
<tbody>${aliasRows || '<tr><td colspan="6" class="muted">No aliases yet: PUT /v1/connections/{alias} or add a file in connections/.</td></tr>'}</tbody></table>
<p class="muted">Test a connection: <code>POST /v1/connections/{alias}/test</code>. Change managed groups: <code>PUT /v1/connections/{alias}/groups</code>.</p>
<h2>Recent jobs</h2><table><thead><tr><th>job</th><th>action</th><th>connection</th><th>state</th><th>created</th></tr></thead>
<tbody>${jobRows || '<tr><td colspan="5" class="muted">No jobs yet.</td></tr>'}</tbody></table>`))
  })
}

export default adminPages
