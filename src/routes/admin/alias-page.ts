// One alias: what it is (never its secrets: only whether they are set), its token, its family (parent, children,
// which child a request naming the parent runs as), what to do next, and "Test connection" with the result inline.
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../../core'
import { traceparentOf } from '../../plugins/tracing'
import type { AliasView } from '../../connections'
import { ADMIN_ONLY, OBSERVERS } from '../../config/roles'
import { AppError } from '../../errors/app-error'
import { testConnection, type ConnectionTest } from '../connection-checks'
import { aliasPath, consentLink, effectiveGrant, grantLabel, nextStep, servingState } from './alias-status'
import { checklist } from './checklist'
import { LastTested, type LastTest } from './last-tested'
import { audit, consoleUser, field, frameOf, requireCsrf, type ConsoleUser } from './context'
import { valuesFromView, docFromValues } from './alias-form-doc'
import { h, page, postButton, sendPage, when, withoutApiPaths, type Html } from './html'

const read = { config: { access: OBSERVERS, browser: true }, schema: { hide: true } }
const change = { config: { access: ADMIN_ONLY, browser: true }, schema: { hide: true } }

function family (a: AliasView): Html {
  if (a.parent) return h`Child of <a href="${aliasPath(a.parent)}">${a.parent}</a> — ${a.active ? 'the active child: requests naming the parent run as this alias' : 'not the active child'}`
  if (a.children.length === 0) return h`<span class="muted">No child aliases.</span>`
  return h`Children: ${a.children.map((c, i) => h`${i > 0 ? ', ' : ''}<a href="${aliasPath(c)}">${c}</a>`)} — requests naming <code>${a.id}</code> run as <strong>${a.resolvesTo}</strong>${a.resolvesTo === a.id ? ' (no active child)' : ''}`
}

/** After a green test of an inactive child, the next step: make it the one requests naming its parent run as. */
function makeActive (a: AliasView, user: ConsoleUser): Html {
  if (!user.isAdmin || !a.parent || a.active === true) return h``
  return h`<p class="notice">Connected and tested: make <code>${a.id}</code> the active child, so requests naming <code>${a.parent}</code> run as it. ${postButton(`${aliasPath(a.id)}/activate`, 'Make active', user.csrf)}</p>`
}

function lastTestedLine (t: LastTest | undefined): Html {
  if (!t) return h`<span class="muted">never (from the console)</span>`
  return h`${when(t.at)} — <span class="${t.ok ? 'ok' : 'bad'}">${t.ok ? 'OK' : `failed${t.code ? ` (${t.code})` : ''}`}</span>`
}

function testResult (t: ConnectionTest, a: AliasView, user: ConsoleUser): Html {
  const missing = Object.entries(t.missingScopes)
  return h`<section id="test-result"><h2>Test connection: <span class="${t.ok ? 'ok' : 'bad'}">${t.ok ? 'OK' : 'failed'}</span></h2>${t.ok ? makeActive(a, user) : ''}<table>
<tr><th>Ran as</th><td>${t.connection.resolved}${t.connection.resolved !== t.connection.requested ? ` (requested ${t.connection.requested})` : ''}</td></tr>
<tr><th>Site</th><td>${t.site ? h`${t.site.url} <span class="muted">cloudId ${t.site.cloudId}</span>` : '—'}</td></tr>
<tr><th>Account</th><td>${t.account ? h`${t.account.displayName ?? ''} <span class="muted">${t.account.accountType ?? ''} · ${t.account.accountId}</span>` : '—'}</td></tr>
<tr><th>Granted scopes</th><td>${t.grantedScopes.length > 0 ? t.grantedScopes.map(s => h`<code>${s}</code> `) : '—'}</td></tr>
<tr><th>Missing scopes per action</th><td>${missing.length === 0 ? h`<span class="ok">none: every action can run</span>` : h`<ul>${missing.map(([id, scopes]) => h`<li>${id}: ${scopes.map(s => h`<code>${s}</code> `)}</li>`)}</ul>`}</td></tr>
${t.error ? h`<tr><th>Error</th><td class="bad"><code>${t.error.code}</code> ${withoutApiPaths(t.error.message)}</td></tr>` : ''}</table></section>`
}

interface PageExtras { tested?: ConnectionTest, last?: LastTest, publicUrl: string, actions: Parameters<typeof checklist>[3], refused?: string }

function aliasPage (a: AliasView, all: AliasView[], user: ConsoleUser, x: PageExtras): Html {
  const tested = x.tested
  const c = a.credential
  const grant = effectiveGrant(a, all)
  const choices = a.siteChoices && a.siteChoices.length > 0
    ? h`<ul>${a.siteChoices.map(s => h`<li>${s.url} <span class="muted">cloudId ${s.cloudId}</span> ${user.isAdmin ? h`${postButton(`${aliasPath(a.id)}/site`, 'Use this site', user.csrf, { cloudId: s.cloudId })} <a href="${consentLink(a.id, s.url)}">Get OAuth Token for this site</a>` : ''}</li>`)}</ul>` : ''
  const actions = user.isAdmin
    ? h`<div class="actions"><a class="button" href="${aliasPath(a.id)}/edit">Edit</a>
${grant === 'oauth2_authorization_code' ? h`<a class="button" href="${consentLink(a.id)}">Get OAuth Token</a>` : postButton(`${aliasPath(a.id)}/token`, 'Get OAuth Token', user.csrf)}
${postButton(`${aliasPath(a.id)}/test`, 'Test connection', user.csrf)} <a class="button" href="${aliasPath(a.id)}/groups">Confluence Groups</a> <a class="button" href="${aliasPath(a.id)}/spaces">Confluence Spaces</a>
${a.parent ? '' : h`<a class="button" href="/admin/aliases/new?parent=${encodeURIComponent(a.id)}">Add child alias</a>`} <a class="button" href="${aliasPath(a.id)}/delete">Delete</a></div>`
    : h`<div class="actions"><a class="button" href="${aliasPath(a.id)}/groups">Confluence Groups</a> <a class="button" href="${aliasPath(a.id)}/spaces">Confluence Spaces</a></div>`
  const r = a.retryPolicy
  return h`<h1>${a.name ?? a.id} <code>${a.id}</code></h1>${actions}
${x.refused ? h`<p class="error" role="alert">Atlassian gave no token: <code>${x.refused}</code></p>` : ''}
<h2>State</h2><table><tr><th>Token</th><td>${servingState(a, all)}</td></tr>
<tr><th>Next step</th><td>${nextStep(a, user, all)}</td></tr>
<tr><th>Granted scopes</th><td>${a.token.grantedScopes.length > 0 ? a.token.grantedScopes.map(s => h`<code>${s}</code> `) : '—'}</td></tr>
<tr><th>Last token</th><td>${when(a.token.lastRefreshAt)}</td></tr>
<tr id="site"><th>Site</th><td>${a.boundSite ? h`${a.boundSite.url} <span class="muted">cloudId ${a.boundSite.cloudId}</span>` : h`<span class="muted">not bound yet</span>`}${choices}</td></tr>
<tr><th>Family</th><td>${family(a)}</td></tr>
<tr><th>Last tested</th><td>${lastTestedLine(x.last)}</td></tr></table>
${tested ? testResult(tested, a, user) : x.last?.ok === true ? makeActive(a, user) : ''}
<h2>Configuration</h2><table>
<tr><th>Description</th><td>${a.description ?? ''}</td></tr>
<tr><th>Grant type</th><td>${c ? grantLabel(c.type) : h`${grantLabel(grant)} <span class="muted">(the parent's credential)</span>`}</td></tr>
${c ? h`<tr><th>Client ID</th><td><code>${c.clientId ?? ''}</code></td></tr><tr><th>Client secret</th><td>${a.secrets.clientSecret ? 'set' : h`<span class="bad">not set</span>`} <span class="muted">(write-only)</span></td></tr>
<tr><th>Scopes</th><td>${(c.scopes ?? []).map(s => h`<code>${s}</code> `)}</td></tr>
<tr><th>Authorize / token URL</th><td>${c.authorizeUrl ?? 'default'} · ${c.tokenUrl ?? 'default'}</td></tr>` : ''}
<tr><th>Connection URL</th><td>${a.connectionUrl ?? 'default'}</td></tr>
<tr><th>Site (configured)</th><td>${a.site?.url ?? ''} ${a.site?.cloudId ? h`<span class="muted">cloudId ${a.site.cloudId}</span>` : ''}</td></tr>
<tr><th>Retry policy</th><td>${r ? `${r.strategy ?? 'default'}, at most ${r.maxAttempts ?? '?'} attempts within ${r.maxElapsedSeconds ?? '?'} s${r.delaySeconds !== undefined ? `, delay ${r.delaySeconds} s` : ''}` : 'default'}</td></tr>
<tr><th>Managed groups</th><td>${(a.managedGroups ?? []).map(g => g.name || g.groupId).join(', ') || h`<span class="muted">none</span>`}</td></tr>
<tr><th>Managed spaces</th><td>${(a.managedSpaces ?? []).map(s => s.key ?? s.spaceId).join(', ') || h`<span class="muted">none</span>`}</td></tr>
<tr><th>Org admin</th><td>${a.orgAdmin?.orgId ?? h`<span class="muted">no organization</span>`} · API key ${a.secrets.orgAdminApiKey ? 'set' : 'not set'} <span class="muted">(write-only)</span></td></tr>
<tr><th>Source</th><td>${a.source === 'file' ? `file ${a.file ?? ''}` : 'saved in the console or the API'} · updated ${when(a.updatedAt)}</td></tr></table>
${checklist(a, all, x.publicUrl, x.actions)}`
}

const aliasPages: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const aliases = core.connections.aliases
  const lastTested = new LastTested(core.redis.store, core.config.keyPrefix)
  const render = async (id: string, user: ConsoleUser, tested?: ConnectionTest, refused?: string): Promise<Html> => {
    const all = await aliases.list()
    const a = all.find(x => x.id === id) ?? await aliases.get(id) // the latter throws CONNECTION_NOT_FOUND
    const last = (await lastTested.all()).get(id)
    return aliasPage(a, all, user, { tested, last, refused, publicUrl: core.config.publicUrl, actions: core.actions.list() })
  }

  app.get<{ Params: { id: string } }>('/admin/aliases/:id', read, async (req, reply) => {
    const user = consoleUser(req)
    const q = req.query as Record<string, unknown>
    const refused = q.done === 'token-refused' && typeof q.code === 'string' && /^[A-Z_]{1,64}$/.test(q.code) ? q.code : undefined
    return sendPage(reply, 200, page(`${req.params.id} · Confluence spoke`, await render(req.params.id, user, undefined, refused), frameOf(user, req)))
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/test', change, async (req, reply) => {
    requireCsrf(req)
    const user = consoleUser(req)
    const tested = await testConnection(core, req.params.id, String(req.id), traceparentOf(req))
    audit(req, 'connection tested', { alias: req.params.id, ok: tested.ok })
    await lastTested.record(req.params.id, { at: new Date().toISOString(), ok: tested.ok, ...(tested.error ? { code: tested.error.code } : {}) })
    return sendPage(reply, 200, page(`${req.params.id} · Confluence spoke`, await render(req.params.id, user, tested), frameOf(user)))
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/token', change, async (req, reply) => {
    requireCsrf(req)
    const user = consoleUser(req)
    try {
      await core.connections.sessions.obtainNow(req.params.id, traceparentOf(req))
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      audit(req, 'token refused', { alias: req.params.id, code: err.code })
      const body = h`<p class="error" role="alert"><code>${err.code}</code> ${withoutApiPaths(err.message)}</p>${await render(req.params.id, user)}`
      return sendPage(reply, err.statusCode, page(`${req.params.id} · Confluence spoke`, body, frameOf(user)))
    }
    audit(req, 'token obtained', { alias: req.params.id })
    return reply.redirect(`${aliasPath(req.params.id)}?done=token`, 303)
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/site', change, async (req, reply) => {
    const form = requireCsrf(req)
    const view = await aliases.get(req.params.id)
    const v = valuesFromView(view)
    await aliases.put(view.id, docFromValues({ ...v, cloudId: field(form, 'cloudId'), siteUrl: '' }))
    audit(req, 'site chosen', { alias: view.id, cloudId: field(form, 'cloudId') })
    return reply.redirect(`${aliasPath(view.id)}?done=site`, 303)
  })
}

export default aliasPages
