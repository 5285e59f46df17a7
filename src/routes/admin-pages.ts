// The admin console (docs/api.md#operations, routes in routes/admin/): sign-in with an admin or viewer key, then
// everything the seed's setup guide does in forms — aliases, "Get OAuth Token", Test connection, Confluence Groups,
// jobs, crawl runs and schedules. Server-rendered and usable without JavaScript (one script, allowed by its hash:
// the copy buttons); viewers see it all read-only; every change carries the session's CSRF token and writes an
// audit line. Errors a person meets in the console are HTML pages (with the problem's code, admin/errors.ts),
// unknown /admin/* paths included; programs still get problem+json.
import type { FastifyError, FastifyPluginAsync } from 'fastify'
import formbody from '@fastify/formbody'
import type { Core } from '../core'
import type { ApiKeyRing } from '../lib/api-keys'
import type { SessionStore } from '../lib/sessions'
import { sendProblem } from '../plugins/error-handler'
import { NotFoundError } from '../errors/errors'
import aliasForms from './admin/alias-form'
import aliasPages from './admin/alias-page'
import { DraftStore } from './admin/drafts'
import { sendConsoleError, wantsHtml } from './admin/errors'
import groupPages from './admin/groups'
import spacePages from './admin/spaces'
import { FAVICON_SVG, h, page, sendPage } from './admin/html'
import jobPages from './admin/jobs'
import overview from './admin/overview'
import sessionPages from './admin/sessions'
import signIn from './admin/sign-in'
import triggerPages from './admin/triggers'

export { safeNext } from './admin/sign-in'

export interface AdminPagesOptions { core: Core, keys: ApiKeyRing, sessions: SessionStore }

const adminPages: FastifyPluginAsync<AdminPagesOptions> = async (app, { core, keys, sessions }) => {
  await app.register(formbody)
  const drafts = new DraftStore(core.redis.store, core.config.keyPrefix, core.config.masterKey as Buffer)
  app.setErrorHandler((err: FastifyError, req, reply) => sendConsoleError(err, req, reply, drafts))
  // Unknown console paths: a page, not JSON, to a person.
  await app.register(async (admin) => {
    admin.setNotFoundHandler((req, reply) => {
      const e = new NotFoundError(`No console page ${req.url.split('?')[0]}`)
      if (!wantsHtml(req)) return sendProblem(reply, e)
      return sendPage(reply, 404, page('404 · Confluence spoke', h`<h1>Not found</h1><p class="error" role="alert"><code>${e.code}</code> There is no console page at this address.</p><p><a href="/admin">Back to the console</a></p>`))
    })
  }, { prefix: '/admin' })
  app.get('/favicon.ico', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => {
    return reply.header('cache-control', 'public, max-age=86400').type('image/svg+xml').send(FAVICON_SVG)
  })
  const secureCookie = core.config.publicUrl.startsWith('https:')
  await app.register(signIn, { keys, sessions, secureCookie, keyPrefix: core.config.keyPrefix, redis: core.redis.store })
  await app.register(overview, { core })
  await app.register(aliasPages, { core })
  await app.register(aliasForms, { core, drafts })
  await app.register(groupPages, { core })
  await app.register(spacePages, { core })
  await app.register(jobPages, { core })
  await app.register(triggerPages, { core })
  await app.register(sessionPages, { keys, sessions })
}

export default adminPages
