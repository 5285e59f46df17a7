// "Confluence Groups" (the seed's Add Groups dialog): the site's groups, live, in an Available list and the managed
// ones in a Selected list; "Add →" and "← Remove" move the chosen ones across and save at once. Two multi-selects in
// one form: no script needed. Membership writes are refused for any group not Selected (GROUP_NOT_MANAGED).
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../../core'
import { traceparentOf } from '../../plugins/tracing'
import { ADMIN_ONLY, OBSERVERS } from '../../config/roles'
import { AppError } from '../../errors/app-error'
import { availableGroups, type SiteGroup } from '../connection-checks'
import { aliasPath } from './alias-status'
import { audit, consoleUser, field, fieldList, frameOf, requireCsrf, type ConsoleUser } from './context'
import { csrfField, h, page, sendPage, withoutApiPaths, type Html } from './html'

/**
 * Groups that carry administration rights: once managed, any invoker key may add anyone to them, so the console
 * asks first. Atlassian's default admin groups and anything named like one.
 */
export const PRIVILEGED_GROUP = /admin|trusted-users/i

const read = { config: { access: OBSERVERS, browser: true }, schema: { hide: true } }
const change = { config: { access: ADMIN_ONLY, browser: true }, schema: { hide: true } }

function picker (id: string, groups: Array<SiteGroup & { managed: boolean }>, user: ConsoleUser): Html {
  const available = groups.filter(g => !g.managed).sort((a, b) => a.name.localeCompare(b.name))
  const selected = groups.filter(g => g.managed).sort((a, b) => a.name.localeCompare(b.name))
  const options = (list: SiteGroup[]): Html[] => list.map(g => h`<option value="${g.groupId}">${g.name || g.groupId}</option>`)
  if (!user.isAdmin) {
    return h`<div class="picker"><div><h2>Available</h2><ul>${available.map(g => h`<li>${g.name}</li>`)}</ul></div>
<div><h2>Selected (managed)</h2><ul>${selected.map(g => h`<li>${g.name}</li>`)}</ul>${selected.length === 0 ? h`<p class="muted">none</p>` : ''}</div></div>`
  }
  return h`<form method="post" action="${aliasPath(id)}/groups">${csrfField(user.csrf)}<div class="picker">
<div><label for="add">Available (${available.length})</label><select id="add" name="add" multiple>${options(available)}</select></div>
<div><p><button type="submit" name="op" value="add">Add →</button></p><p><button type="submit" name="op" value="remove">← Remove</button></p></div>
<div><label for="remove">Selected (${selected.length})</label><select id="remove" name="remove" multiple>${options(selected)}</select></div>
</div></form><p class="muted">Choose one or more (Ctrl/Cmd-click), then Add or Remove: the Selected list is saved at once.</p>`
}

const groupPages: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  app.get<{ Params: { id: string } }>('/admin/aliases/:id/groups', read, async (req, reply) => {
    const user = consoleUser(req)
    const id = req.params.id
    const view = await core.connections.aliases.get(id)
    let body: Html
    try {
      body = picker(id, await availableGroups(core, id, String(req.id), traceparentOf(req)), user)
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      // Not connected yet (or Confluence unreachable): say so, with the managed groups as they are.
      body = h`<p class="error" role="alert">The site's groups cannot be read now: <code>${err.code}</code> ${withoutApiPaths(err.message)}</p>
<p>Managed groups: ${(view.managedGroups ?? []).map(g => g.name || g.groupId).join(', ') || 'none'}. <a href="${aliasPath(id)}">Back to the alias</a> to connect it first.</p>`
    }
    return sendPage(reply, 200, page(`Confluence Groups · ${id}`, h`<h1>Confluence Groups of <a href="${aliasPath(id)}"><code>${id}</code></a></h1>
<p class="muted">Pick the groups this alias may change members of: the groups with access to Confluence (Atlassian Administration → Product access).</p>${body}`, frameOf(user, req)))
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/groups', change, async (req, reply) => {
    const form = requireCsrf(req)
    const id = req.params.id
    const site = await availableGroups(core, id, String(req.id), traceparentOf(req))
    const op = field(form, 'op')
    const picked = new Set(fieldList(form, op === 'remove' ? 'remove' : 'add'))
    if (picked.size === 0) return reply.redirect(`${aliasPath(id)}/groups?done=nothing-selected`, 303)
    const privileged = op === 'remove' ? [] : site.filter(g => picked.has(g.groupId) && !g.managed && PRIVILEGED_GROUP.test(g.name))
    if (privileged.length > 0 && field(form, 'confirm') !== 'privileged') {
      const user = consoleUser(req)
      return sendPage(reply, 200, page(`Confluence Groups · ${id}`, h`<h1>Manage an administrators' group?</h1>
<div class="notice" role="alert"><p>${privileged.map(g => h`<strong>${g.name}</strong> `)}grants administration rights. Once it is managed, <strong>any invoker key</strong> can add anyone to it through the membership actions — that is, make anyone an administrator.</p>
<p>Manage it only if that is what this alias is for.</p></div>
<form method="post" action="${aliasPath(id)}/groups">${csrfField(user.csrf)}<input type="hidden" name="op" value="add"><input type="hidden" name="confirm" value="privileged">
${[...picked].map(g => h`<input type="hidden" name="add" value="${g}">`)}<div class="actions"><button type="submit">Manage it anyway</button> <a href="${aliasPath(id)}/groups">Cancel</a></div></form>`, frameOf(user)))
    }
    const managed = new Set(site.filter(g => g.managed).map(g => g.groupId))
    for (const g of picked) { if (op === 'remove') managed.delete(g); else if (site.some(s => s.groupId === g)) managed.add(g) }
    const groups = site.filter(g => managed.has(g.groupId)).map(g => ({ groupId: g.groupId, name: g.name }))
    await core.connections.aliases.setManagedGroups(id, groups)
    audit(req, 'managed groups saved', { alias: id, op, groups: groups.map(g => g.groupId) })
    return reply.redirect(`${aliasPath(id)}/groups?done=groups`, 303)
  })
}

export default groupPages
