// The admin console (docs/api.md#operations, routes in routes/admin/): sign-in with an admin or viewer key, then
// everything the seed's setup guide does in forms — aliases, "Get OAuth Token", Test connection, Confluence Groups,
// jobs, crawl runs and schedules. Server-rendered and script-free; viewers see it all read-only; every change
// carries the session's CSRF token and writes an audit line. Errors a person meets in the console are HTML pages
// (with the problem's code); programs still get problem+json.
import type { FastifyError, FastifyPluginAsync } from 'fastify'
import formbody from '@fastify/formbody'
import type { Core } from '../core'
import type { ApiKeyRing } from '../lib/api-keys'
import type { SessionStore } from '../lib/sessions'
import { sendProblem, toAppError } from '../plugins/error-handler'
import aliasForms from './admin/alias-form'
import aliasPages from './admin/alias-page'
import { consoleUser, frameOf } from './admin/context'
import groupPages from './admin/groups'
import spacePages from './admin/spaces'
import { h, page, sendPage, withoutApiPaths } from './admin/html'
import jobPages from './admin/jobs'
import overview from './admin/overview'
import sessionPages from './admin/sessions'
import signIn from './admin/sign-in'

export { safeNext } from './admin/sign-in'

export interface AdminPagesOptions { core: Core, keys: ApiKeyRing, sessions: SessionStore }

const adminPages: FastifyPluginAsync<AdminPagesOptions> = async (app, { core, keys, sessions }) => {
  await app.register(formbody)
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toAppError(err)
    if (e.statusCode >= 500) req.log.error({ err, code: e.code }, 'request failed')
    else req.log.info({ code: e.code, detail: e.message }, 'request rejected')
    if (!/text\/html/.test(req.headers.accept ?? '')) return sendProblem(reply, e)
    const user = req.principal ? consoleUser(req) : undefined
    const wayOn = e.statusCode === 401 ? h`<p><a href="/admin/login">Sign in</a></p>` : h`<p><a href="/admin">Back to the console</a></p>`
    if (e.retryAfter !== undefined) reply.header('retry-after', String(Math.ceil(e.retryAfter)))
    return sendPage(reply, e.statusCode, page(`${e.statusCode} · Confluence spoke`, h`<h1>${e.statusCode === 403 ? 'Not allowed' : e.statusCode === 404 ? 'Not found' : 'That did not work'}</h1>
<p class="error" role="alert"><code>${e.code}</code> ${withoutApiPaths(e.message)}</p>${wayOn}<p class="muted">Request id ${String(req.id)}</p>`, user ? frameOf(user) : {}))
  })
  const secureCookie = core.config.publicUrl.startsWith('https:')
  await app.register(signIn, { keys, sessions, secureCookie, keyPrefix: core.config.keyPrefix, redis: core.redis.store })
  await app.register(overview, { core })
  await app.register(aliasPages, { core })
  await app.register(aliasForms, { core })
  await app.register(groupPages, { core })
  await app.register(spacePages, { core })
  await app.register(jobPages, { core })
  await app.register(sessionPages, { keys, sessions })
}

export default adminPages
