// GET /admin: every alias with its state and the next thing to do, then the latest jobs, crawl runs and schedules.
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../../core'
import { OBSERVERS } from '../../config/roles'
import type { AliasView } from '../../connections'
import { aliasPath, effectiveGrant, grantLabel, nextStep, servingState } from './alias-status'
import { LastTested, type LastTest } from './last-tested'
import { consoleUser, frameOf, type ConsoleUser } from './context'
import { h, page, sendPage, when, type Html } from './html'
import { CRAWL_ACTION, jobTable, scheduleTable } from './job-views'
import type { PreflightReport } from '../../preflight/preflight'

/** The production checks (docs/going-live.md) that are not fine: what an operator should fix first. */
function preflightNotice (report: PreflightReport | undefined): Html {
  const open = (report?.findings ?? []).filter(f => f.level === 'warn' || f.level === 'refuse' || f.level === 'unknown')
  if (report === undefined || open.length === 0) return h``
  const items = open.map(f => h`<li><strong>${f.level === 'refuse' ? 'Unsafe' : f.level === 'unknown' ? 'Not checked' : 'Warning'}</strong> (${f.check}): ${f.message}</li>`)
  return h`<section class="notice" role="status"><h2>Production checks</h2><ul>${items}</ul><p class="muted">See the going-live guide (docs/going-live.md) for each setting.</p></section>`
}

function aliasRow (a: AliasView, all: AliasView[], user: ConsoleUser, last: LastTest | undefined): Html {
  const family = a.parent
    ? h`<br><span class="muted">child of <a href="${aliasPath(a.parent)}">${a.parent}</a>${a.active ? ' · active child' : ''}</span>`
    : a.children.length > 0 ? h`<br><span class="muted">parent of ${a.children.length} · requests run as <strong>${a.resolvesTo}</strong></span>` : ''
  const groups = (a.managedGroups ?? []).map(g => g.name || g.groupId).join(', ')
  return h`<tr><td><a href="${aliasPath(a.id)}"><code>${a.id}</code></a><br>${a.name ?? ''}${family}</td>
<td>${a.credential ? grantLabel(a.credential.type) : h`<span class="muted">${grantLabel(effectiveGrant(a, all))} (from parent)</span>`}</td>
<td>${servingState(a, all)}<br><span class="muted">last tested: ${last ? h`${when(last.at)} ${last.ok ? 'OK' : `failed${last.code ? ` (${last.code})` : ''}`}` : 'never'}</span></td><td>${a.boundSite ? h`${a.boundSite.url}` : h`<span class="muted">not bound yet</span>`}</td>
<td>${groups || h`<span class="muted">none</span>`}</td><td>${nextStep(a, user, all)}</td></tr>`
}

const overview: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  app.get('/admin', { config: { access: OBSERVERS, browser: true }, schema: { hide: true } }, async (req, reply) => {
    const user = consoleUser(req)
    const [aliases, jobs, crawls, schedules, preflight] = await Promise.all([
      core.connections.aliases.list(),
      core.jobs.list({ limit: 10 }),
      core.jobs.list({ limit: 5, action: CRAWL_ACTION }),
      core.schedules.list(),
      core.preflight.current().catch(() => undefined)
    ])
    const tested = await new LastTested(core.redis.store, core.config.keyPrefix).all()
    const rows = aliases.map(a => aliasRow(a, aliases, user, tested.get(a.id)))
    return sendPage(reply, 200, page('Confluence spoke admin', h`${preflightNotice(preflight)}<h1>Connections</h1>
<p class="muted">Each connection &amp; credential alias holds an Atlassian OAuth 2.0 app and the token it obtained. A request naming a parent alias runs as its active child.</p>
${user.isAdmin ? h`<div class="actions"><a class="button" href="/admin/aliases/new">New alias</a></div>` : ''}
<table><thead><tr><th>Alias</th><th>Grant type</th><th>State</th><th>Site</th><th>Managed groups</th><th>Next step</th></tr></thead>
<tbody>${rows.length > 0 ? rows : h`<tr><td colspan="6" class="muted">No aliases yet.${user.isAdmin ? h` <a href="/admin/aliases/new">Create one</a>.` : ''}</td></tr>`}</tbody></table>
<h2>Recent jobs</h2>${jobTable(jobs.jobs)}<p><a href="/admin/jobs">All jobs</a></p>
<h2>Recent crawl runs</h2>${jobTable(crawls.jobs)}<p><a href="/admin/crawls">All crawl runs</a></p>
<h2>Schedules</h2>${scheduleTable(schedules)}`, frameOf(user, req)))
  })
}

export default overview
