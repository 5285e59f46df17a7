// Create, edit and delete an alias in a form (the same AliasService calls as PUT and DELETE /v1/connections/{alias}).
// "Save and Get OAuth Token" ends on /admin/continue, which moves on to the consent without a form (see sign-in.ts).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Core } from '../../core'
import { ADMIN_ONLY } from '../../config/roles'
import { ALIAS_ID } from '../../connections/alias-id'
import { AppError } from '../../errors/app-error'
import { RequestInvalidError } from '../../errors/errors'
import { aliasPath, consentLink } from './alias-status'
import { audit, consoleUser, field, frameOf, requireCsrf, type FormFields } from './context'
import { docFromValues, newAliasValues, valuesFromForm, valuesFromView, type AliasFormValues } from './alias-form-doc'
import { aliasForm, type FormIssue } from './alias-form-view'
import { h, page, postButton, sendPage } from './html'

const change = { config: { access: ADMIN_ONLY, browser: true }, schema: { hide: true } }

function issuesOf (err: AppError): FormIssue[] {
  const listed = (err.errors ?? []) as Array<{ path?: string, message?: string }>
  return listed.length > 0 ? listed.map(e => ({ path: e.path ?? '', message: e.message ?? '' })) : [{ path: '', message: err.message }]
}

const aliasForms: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const aliases = core.connections.aliases
  /** Aliases that may be a parent: those that are not children themselves (one level of children). */
  const parents = async (except?: string): Promise<string[]> => (await aliases.list()).filter(a => !a.parent && a.id !== except).map(a => a.id)

  async function show (req: FastifyRequest, reply: FastifyReply, v: AliasFormValues, isNew: boolean, issues?: FormIssue[]): Promise<FastifyReply> {
    const user = consoleUser(req)
    const title = isNew ? (v.parent ? `New child alias of ${v.parent}` : 'New alias') : `Edit ${v.id}`
    const form = aliasForm(v, { action: isNew ? '/admin/aliases' : `${aliasPath(v.id)}/edit`, isNew, parents: await parents(isNew ? undefined : v.id), csrf: user.csrf, issues })
    return sendPage(reply, issues ? 400 : 200, page(`${title} · Confluence spoke`, h`<h1>${title}</h1>${form}`, frameOf(user)))
  }

  async function save (req: FastifyRequest, reply: FastifyReply, form: FormFields, v: AliasFormValues, isNew: boolean): Promise<FastifyReply> {
    if (isNew && !ALIAS_ID.test(v.id)) return show(req, reply, v, true, [{ path: 'id', message: 'must start with a lower-case letter; then lower-case letters, digits, _ or - (at most 63)' }])
    const secrets = { clientSecret: field(form, 'clientSecret') || undefined, orgApiKey: field(form, 'orgApiKey') || undefined }
    try {
      if (isNew && await aliases.get(v.id).then(() => true, () => false)) throw new RequestInvalidError(`An alias "${v.id}" exists already`)
      const { created } = await aliases.put(v.id, docFromValues(v, secrets))
      audit(req, created ? 'alias created' : 'alias saved', { alias: v.id, clientSecretChanged: secrets.clientSecret !== undefined, orgApiKeyChanged: secrets.orgApiKey !== undefined })
    } catch (err) {
      if (err instanceof AppError && err.statusCode === 400) return show(req, reply, v, isNew, issuesOf(err))
      throw err
    }
    const view = await aliases.get(v.id)
    if (field(form, 'then') === 'token' && view.credential?.type !== 'oauth2_client_credentials') {
      return reply.redirect(`/admin/continue?next=${encodeURIComponent(consentLink(v.id))}`, 303)
    }
    return reply.redirect(`${aliasPath(v.id)}?done=saved`, 303)
  }

  app.get('/admin/aliases/new', change, async (req, reply) => {
    const parent = String((req.query as Record<string, unknown>).parent ?? '')
    return show(req, reply, newAliasValues(ALIAS_ID.test(parent) ? parent : ''), true)
  })

  app.post('/admin/aliases', change, async (req, reply) => {
    const form = requireCsrf(req)
    return save(req, reply, form, valuesFromForm(form), true)
  })

  app.get<{ Params: { id: string } }>('/admin/aliases/:id/edit', change, async (req, reply) => {
    return show(req, reply, valuesFromView(await aliases.get(req.params.id)), false)
  })

  app.post<{ Params: { id: string } }>('/admin/aliases/:id/edit', change, async (req, reply) => {
    const form = requireCsrf(req)
    const existing = valuesFromView(await aliases.get(req.params.id))
    return save(req, reply, form, valuesFromForm(form, existing), false)
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
}

export default aliasForms
