// Create, edit and delete an alias in a form (the same AliasService calls as PUT and DELETE /v1/connections/{alias}).
// Before it saves, the form names every problem at once and asks to confirm what the admin may not mean: a save
// that clears a stored secret, token or consent, a child made active without a token (every request naming its
// parent would fail), and scopes no action uses before the consent. Typed values survive all of it: secrets in a
// sealed server-side draft (drafts.ts), never echoed into the page.
// "Save and Get OAuth Token" ends on /admin/continue (authorization code), which moves on to the consent without a
// form (see sign-in.ts), or gets the token at once (client credentials).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Core } from '../../core'
import { ADMIN_ONLY } from '../../config/roles'
import { ALIAS_ID } from '../../connections/alias-id'
import { validateAlias } from '../../connections/validate'
import type { AliasView } from '../../connections'
import { AppError } from '../../errors/app-error'
import { traceparentOf } from '../../plugins/tracing'
import { aliasPath, consentLink, effectiveGrant } from './alias-status'
import { audit, consoleUser, field, frameOf, requireCsrf, type FormFields } from './context'
import { docFromValues, newAliasValues, resolveScopes, scopesOf, valuesFromForm, valuesFromView, type AliasFormValues } from './alias-form-doc'
import { aliasForm, type FormConfirm, type FormIssue } from './alias-form-view'
import { formIssues, localIssues, predictClears } from './alias-checks'
import { catalogueScopes, flagScopes } from './console-scopes'
import { DRAFT_COOKIE, type DraftStore } from './drafts'
import { readCookie } from '../../lib/sessions'
import { h, page, postButton, sendPage } from './html'

const change = { config: { access: ADMIN_ONLY, browser: true }, schema: { hide: true } }

interface ShowExtra { issues?: FormIssue[], confirm?: FormConfirm, draft?: string, kept?: { clientSecret: boolean, orgApiKey: boolean }, then?: string }

const text = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : undefined

const aliasForms: FastifyPluginAsync<{ core: Core, drafts: DraftStore }> = async (app, { core, drafts }) => {
  const aliases = core.connections.aliases
  const presets = (): { actions: string[], granular: string[] } => ({ actions: catalogueScopes(core.actions.list(), 'classic'), granular: catalogueScopes(core.actions.list(), 'granular') })
  /** Aliases that may be a parent: those that are not children themselves (one level of children). */
  const parents = async (except?: string): Promise<string[]> => (await aliases.list()).filter(a => !a.parent && a.id !== except).map(a => a.id)

  async function show (req: FastifyRequest, reply: FastifyReply, v: AliasFormValues, isNew: boolean, extra: ShowExtra = {}): Promise<FastifyReply> {
    const user = consoleUser(req)
    const title = isNew ? (v.parent ? `New child alias of ${v.parent}` : 'New alias') : `Edit ${v.id}`
    const form = aliasForm(v, { action: isNew ? '/admin/aliases' : `${aliasPath(v.id)}/edit`, isNew, parents: await parents(isNew ? undefined : v.id), csrf: user.csrf, presets: presets(), ...extra })
    const status = extra.issues && extra.issues.length > 0 ? 400 : 200
    return sendPage(reply, status, page(`${title} · Confluence spoke`, h`<h1>${title}</h1>${form}`, frameOf(user)))
  }

  /** A form kept in a draft (sign-in after the session ended, see admin-pages.ts): its values, secrets held back. */
  async function fromDraft (req: FastifyRequest, base: AliasFormValues | undefined): Promise<{ v: AliasFormValues, extra: ShowExtra } | undefined> {
    const id = (req.query as Record<string, unknown>).draft
    const form = await drafts.load(id, readCookie(req.headers.cookie, DRAFT_COOKIE))
    if (form === undefined) return undefined
    return {
      v: valuesFromForm(form, base),
      extra: { draft: String(id), kept: { clientSecret: text(form.clientSecret) !== undefined, orgApiKey: text(form.orgApiKey) !== undefined } }
    }
  }

  async function save (req: FastifyRequest, reply: FastifyReply, form: FormFields, isNew: boolean, before?: AliasView): Promise<FastifyReply> {
    const existing = before ? valuesFromView(before) : undefined
    const draft = await drafts.load(field(form, 'draft'), readCookie(req.headers.cookie, DRAFT_COOKIE))
    const secrets = {
      clientSecret: field(form, 'clientSecret') || text(draft?.clientSecret),
      orgApiKey: field(form, 'orgApiKey') || text(draft?.orgApiKey)
    }
    const v: AliasFormValues = resolveScopes(valuesFromForm(form, existing), presets())
    const then = field(form, 'then') || field(form, 'pendingThen') || 'view'
    const confirmed = new Set(field(form, 'confirm').split(/\s+/).filter(Boolean))
    /** Re-show the form: typed secrets stay in the (same) draft, never in the page. */
    const again = async (extra: ShowExtra): Promise<FastifyReply> => {
      const kept = { clientSecret: secrets.clientSecret !== undefined, orgApiKey: secrets.orgApiKey !== undefined }
      const draftId = kept.clientSecret || kept.orgApiKey ? await drafts.save({ clientSecret: secrets.clientSecret ?? '', orgApiKey: secrets.orgApiKey ?? '' }, field(form, 'draft') || undefined) : undefined
      return show(req, reply, v, isNew, { ...extra, kept, then, ...(draftId ? { draft: draftId } : {}) })
    }

    const all = await aliases.list()
    const doc = docFromValues(v, secrets)
    const issues = [
      ...localIssues(v, isNew, ALIAS_ID, isNew && all.some(a => a.id === v.id)),
      ...formIssues(validateAlias(v.id || 'x', doc, core.config.allowedHosts).filter(i => i.path !== '/id'))
    ]
    if (v.parent !== '' && !all.some(a => a.id === v.parent)) issues.push({ path: '/parent', field: 'parent', label: 'Parent alias', message: `"${v.parent}" does not exist` })
    if (issues.length > 0) return again({ issues })

    const asks: Array<{ kind: string, items: ReturnType<typeof h>[] }> = []
    if (before && !confirmed.has('clears')) {
      const clears = predictClears(before, v, secrets)
      if (clears.length > 0) asks.push({ kind: 'clears', items: clears.map(c => h`Clears ${c}`) })
    }
    const wasActive = before?.parent !== undefined && before.active === true
    if (v.parent !== '' && v.active && !wasActive && !confirmed.has('activate') && (before === undefined || before.token.status !== 'active')) {
      asks.push({ kind: 'activate', items: [h`Makes <code>${v.id}</code> the active child of <code>${v.parent}</code> while it has no working token: every request naming <code>${v.parent}</code> would fail (CONNECTION_NOT_AUTHORIZED) until it gets one. Better: save it inactive, get its token, run Test connection, then "Make active".`] })
    }
    if (then === 'token' && v.grant !== '' && !confirmed.has('scopes')) {
      const flags = flagScopes(scopesOf(v), core.actions.list(), v.grant)
      if (flags.length > 0) asks.push({ kind: 'scopes', items: flags.map(f => h`Scope <code>${f.scope}</code>: ${f.why}. Remove it from the list, or tick it on the app in the developer console first.`) })
    }
    if (asks.length > 0) {
      const kinds = [...confirmed, ...asks.map(a => a.kind)].join(' ')
      return again({ confirm: { title: 'Please confirm before saving:', items: asks.flatMap(a => a.items), kinds, button: then === 'token' ? 'Save anyway and Get OAuth Token' : 'Save anyway' } })
    }

    try {
      const { created } = await aliases.put(v.id, doc)
      audit(req, created ? 'alias created' : 'alias saved', { alias: v.id, clientSecretChanged: secrets.clientSecret !== undefined, orgApiKeyChanged: secrets.orgApiKey !== undefined })
    } catch (err) {
      if (err instanceof AppError && err.statusCode === 400) {
        const listed = (err.errors ?? []) as Array<{ path?: string, message?: string }>
        return again({ issues: listed.length > 0 ? formIssues(listed.map(e => ({ path: e.path ?? '', message: e.message ?? '' }))) : [{ path: '', message: err.message }] })
      }
      throw err
    }
    await drafts.drop(field(form, 'draft'))
    if (then !== 'token') return reply.redirect(`${aliasPath(v.id)}?done=saved`, 303)
    const view = await aliases.get(v.id)
    // Incomplete (no client id or secret yet): Atlassian would refuse; the alias page says what is missing.
    if (view.token.status === 'needs_configuration') return reply.redirect(`${aliasPath(v.id)}?done=incomplete`, 303)
    if (effectiveGrant(view, await aliases.list()) === 'oauth2_client_credentials') {
      // Client credentials: no consent; the token is asked for now, and a refusal shows on the alias page.
      try {
        await core.connections.sessions.obtainNow(v.id, traceparentOf(req))
        audit(req, 'token obtained', { alias: v.id })
        return reply.redirect(`${aliasPath(v.id)}?done=token`, 303)
      } catch (err) {
        if (!(err instanceof AppError)) throw err
        audit(req, 'token refused', { alias: v.id, code: err.code })
        return reply.redirect(`${aliasPath(v.id)}?done=token-refused&code=${encodeURIComponent(err.code)}`, 303)
      }
    }
    return reply.redirect(`/admin/continue?next=${encodeURIComponent(consentLink(v.id))}`, 303)
  }

  app.get('/admin/aliases/new', change, async (req, reply) => {
    const parent = String((req.query as Record<string, unknown>).parent ?? '')
    const kept = await fromDraft(req, undefined)
    if (kept) return show(req, reply, kept.v, true, kept.extra)
    return show(req, reply, newAliasValues(ALIAS_ID.test(parent) ? parent : '', presets().actions), true)
  })

  app.post('/admin/aliases', change, async (req, reply) => {
    const form = requireCsrf(req)
    return save(req, reply, form, true)
  })

  app.get<{ Params: { id: string } }>('/admin/aliases/:id/edit', change, async (req, reply) => {
    const existing = valuesFromView(await aliases.get(req.params.id))
    const kept = await fromDraft(req, existing)
    return kept ? show(req, reply, kept.v, false, kept.extra) : show(req, reply, existing, false)
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/edit', change, async (req, reply) => {
    const form = requireCsrf(req)
    return save(req, reply, form, false, await aliases.get(req.params.id))
  })

  app.get<{ Params: { id: string } }>('/admin/aliases/:id/delete', change, async (req, reply) => {
    const user = consoleUser(req)
    const a = await aliases.get(req.params.id)
    const body = a.children.length > 0
      ? h`<p class="bad">Alias <code>${a.id}</code> is the parent of ${a.children.join(', ')}: delete or re-parent its children first.</p>`
      : h`<p>Delete alias <code>${a.id}</code> (${a.name ?? ''}) and its tokens? Jobs naming it will fail until it exists again.</p>
<div class="actions">${postButton(`${aliasPath(a.id)}/delete`, 'Delete alias', user.csrf)} <a href="${aliasPath(a.id)}">Cancel</a></div>`
    return sendPage(reply, 200, page(`Delete ${a.id} · Confluence spoke`, h`<h1>Delete ${a.id}</h1>${body}`, frameOf(user)))
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/delete', change, async (req, reply) => {
    requireCsrf(req)
    await aliases.delete(req.params.id)
    audit(req, 'alias deleted', { alias: req.params.id })
    return reply.redirect('/admin?done=deleted', 303)
  })

  // "Make active" (offered after a green Test connection): a child without a working token is confirmed first.
  app.post<{ Params: { id: string } }>('/admin/aliases/:id/activate', change, async (req, reply) => {
    const form = requireCsrf(req)
    const user = consoleUser(req)
    const view = await aliases.get(req.params.id)
    if (!view.parent) return reply.redirect(`${aliasPath(view.id)}`, 303)
    if (view.token.status !== 'active' && field(form, 'confirm') !== 'activate') {
      return sendPage(reply, 200, page(`Make ${view.id} active · Confluence spoke`, h`<h1>Make <code>${view.id}</code> active?</h1>
<p class="bad" role="alert"><code>${view.id}</code> has no working token (${view.token.status.replace(/_/g, ' ')}): every request naming <code>${view.parent}</code> would fail until it gets one.</p>
<div class="actions">${postButton(`${aliasPath(view.id)}/activate`, 'Make active anyway', user.csrf, { confirm: 'activate' })} <a href="${aliasPath(view.id)}">Cancel</a></div>`, frameOf(user)))
    }
    await aliases.put(view.id, docFromValues({ ...valuesFromView(view), active: true }))
    audit(req, 'alias activated', { alias: view.id, parent: view.parent })
    return reply.redirect(`${aliasPath(view.id)}?done=activated`, 303)
  })
}

export default aliasForms
