// "Confluence Spaces": the site's spaces, live, in an Available list and the managed ones in a Selected list, like
// the Confluence Groups picker (groups.ts). Content writes (pages, blog posts, comments, labels, files) are refused
// in any space not Selected (SPACE_NOT_MANAGED).
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../../core'
import { traceparentOf } from '../../plugins/tracing'
import { ADMIN_ONLY, OBSERVERS } from '../../config/roles'
import { AppError } from '../../errors/app-error'
import { siteSpaces, type SiteSpace } from '../../content/site-spaces'
import { aliasPath } from './alias-status'
import { audit, consoleUser, field, fieldList, frameOf, requireCsrf, type ConsoleUser } from './context'
import { csrfField, h, page, sendPage, withoutApiPaths, type Html } from './html'

const read = { config: { access: OBSERVERS, browser: true }, schema: { hide: true } }
const change = { config: { access: ADMIN_ONLY, browser: true }, schema: { hide: true } }

const label = (s: SiteSpace): string => s.name ? `${s.key} · ${s.name}` : s.key || s.spaceId

function picker (id: string, spaces: SiteSpace[], managed: Set<string>, user: ConsoleUser): Html {
  const byKey = (a: SiteSpace, b: SiteSpace): number => a.key.localeCompare(b.key)
  const available = spaces.filter(s => !managed.has(s.spaceId)).sort(byKey)
  const selected = spaces.filter(s => managed.has(s.spaceId)).sort(byKey)
  const options = (list: SiteSpace[]): Html[] => list.map(s => h`<option value="${s.spaceId}">${label(s)}</option>`)
  if (!user.isAdmin) {
    return h`<div class="picker"><div><h2>Available</h2><ul>${available.map(s => h`<li>${label(s)}</li>`)}</ul></div>
<div><h2>Selected (managed)</h2><ul>${selected.map(s => h`<li>${label(s)}</li>`)}</ul>${selected.length === 0 ? h`<p class="muted">none</p>` : ''}</div></div>`
  }
  return h`<form method="post" action="${aliasPath(id)}/spaces">${csrfField(user.csrf)}<div class="picker">
<div><label for="add">Available (${available.length})</label><select id="add" name="add" multiple>${options(available)}</select></div>
<div><p><button type="submit" name="op" value="add">Add →</button></p><p><button type="submit" name="op" value="remove">← Remove</button></p></div>
<div><label for="remove">Selected (${selected.length})</label><select id="remove" name="remove" multiple>${options(selected)}</select></div>
</div></form><p class="muted">Choose one or more (Ctrl/Cmd-click), then Add or Remove: the Selected list is saved at once.</p>`
}

const spacePages: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  app.get<{ Params: { id: string } }>('/admin/aliases/:id/spaces', read, async (req, reply) => {
    const user = consoleUser(req)
    const id = req.params.id
    const view = await core.connections.aliases.get(id)
    const managed = new Set((view.managedSpaces ?? []).map(s => s.spaceId))
    let body: Html
    try {
      body = picker(id, await siteSpaces(core, id, String(req.id), traceparentOf(req)), managed, user)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      body = h`<p class="error" role="alert">The site's spaces cannot be read now: <code>${err.code}</code> ${withoutApiPaths(err.message)}</p>
<p>Managed spaces: ${(view.managedSpaces ?? []).map(s => s.key ?? s.spaceId).join(', ') || 'none'}. <a href="${aliasPath(id)}">Back to the alias</a> to connect it first.</p>`
    }
    return sendPage(reply, 200, page(`Confluence Spaces · ${id}`, h`<h1>Confluence Spaces of <a href="${aliasPath(id)}"><code>${id}</code></a></h1>
<p class="muted">Pick the spaces this alias may write content into (pages, blog posts, comments, labels, files).</p>${body}`, frameOf(user, req)))
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/spaces', change, async (req, reply) => {
    const form = requireCsrf(req)
    const id = req.params.id
    const view = await core.connections.aliases.get(id)
    const site = await siteSpaces(core, id, String(req.id), traceparentOf(req))
    const op = field(form, 'op')
    const picked = new Set(fieldList(form, op === 'remove' ? 'remove' : 'add'))
    const managed = new Set((view.managedSpaces ?? []).map(s => s.spaceId))
    for (const s of picked) { if (op === 'remove') managed.delete(s); else if (site.some(x => x.spaceId === s)) managed.add(s) }
    const spaces = site.filter(s => managed.has(s.spaceId)).map(s => ({ spaceId: s.spaceId, key: s.key }))
    await core.connections.aliases.setManagedSpaces(id, spaces)
    audit(req, 'managed spaces saved', { alias: id, op, spaces: spaces.map(s => s.spaceId) })
    return reply.redirect(`${aliasPath(id)}/spaces?done=spaces`, 303)
  })
}

export default spacePages
