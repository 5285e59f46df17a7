// Bull Board at /admin/queues (docs/api.md#jobs): admins and viewers see it; only admins may change anything
// (Bull Board's mutating API routes — POST/PUT/DELETE under /admin/queues/api — are admin-only). Errors on
// its routes (401/403 from auth) leave as problem+json like everywhere else, not in Bull Board's shape.
// Its page fetches nothing from outside hosts (the web-font link of its template is removed), links back to
// the console, and viewers get jobs without stack traces (server file paths are not theirs to read).
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import { ADMIN_ONLY, OBSERVERS } from '../config/roles'
import type { Core } from '../core'
import { sendProblem, toAppError } from '../plugins/error-handler'
import type { AppError } from '../errors/app-error'
import { ForbiddenError, InternalError, NotFoundError, RequestInvalidError } from '../errors/errors'
import { PROBLEM_CONTENT_TYPE, toProblem } from '../lib/problem'

export const DASHBOARD_PATH = '/admin/queues'
const QUEUE_LIST_PATH = `${DASHBOARD_PATH}/api/queues`
const API_PATH = `${DASHBOARD_PATH}/api/`
/** Bull Board's template loads its font from Google; the page falls back to the system font without it. */
const OUTSIDE_FONT = /<link[^>]+href="https:\/\/fonts\.googleapis\.com[^"]*"[^>]*>/g

interface QueueListPayload { queues?: Array<{ readOnlyMode?: boolean, allowRetries?: boolean, allowCompletedRetries?: boolean }> }

async function asReadOnlyForViewers (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (req.principal?.role === 'admin' || reply.statusCode !== 200 || typeof payload !== 'string') return payload
  const list = JSON.parse(payload) as QueueListPayload
  for (const q of list.queues ?? []) Object.assign(q, { readOnlyMode: true, allowRetries: false, allowCompletedRetries: false })
  return JSON.stringify(list)
}

/** Job JSON for viewers: every `stacktrace` emptied (the error message stays). */
async function withoutStackTraces (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (req.principal?.role === 'admin' || reply.statusCode !== 200 || typeof payload !== 'string' || !payload.includes('"stacktrace"')) return payload
  return JSON.stringify(JSON.parse(payload), (key, value) => key === 'stacktrace' ? [] : value)
}

/** Outside Bull Board's React root, so it stays: a visible way back (its own menu also has one). */
const BACK_LINK = '<a id="spoke-console-link" href="/admin" style="position:fixed;left:1rem;bottom:2.2rem;z-index:1000;color:#fff;font:14px system-ui,sans-serif">← Admin console</a>'

async function asOurPage (_req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload
  return payload.replace(OUTSIDE_FONT, '').replace('</body>', `${BACK_LINK}</body>`)
}

/** Bull Board's own error answers (`{"error":"Queue not found"}` with 400/403/404/405) as our problems. */
function boardError (status: number, payload: unknown): AppError {
  let detail = typeof payload === 'string' ? payload : ''
  try { const e = (JSON.parse(detail) as { error?: unknown }).error; if (typeof e === 'string') detail = e } catch {}
  detail = detail.slice(0, 500) || `The queue dashboard answered ${status}`
  if (status === 404) return new NotFoundError(detail)
  if (status === 403 || status === 405) return new ForbiddenError(detail) // 405: a change to a read-only queue
  if (status < 500) return new RequestInvalidError(detail)
  return new InternalError('Internal error')
}

async function asProblem (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (reply.statusCode < 400 || String(reply.getHeader('content-type') ?? '').startsWith('application/problem+json')) return payload
  const err = boardError(reply.statusCode, payload)
  if (err.statusCode >= 500) req.log.error({ statusCode: reply.statusCode, payload: String(payload).slice(0, 500) }, 'queue dashboard failed')
  reply.code(err.statusCode).type(PROBLEM_CONTENT_TYPE)
  return JSON.stringify(toProblem(err, String(req.id)))
}

const queuesDashboard: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(DASHBOARD_PATH)
  createBullBoard({
    queues: [new BullMQAdapter(core.jobs.queue), new BullMQAdapter(core.jobs.callbackQueue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Confluence spoke jobs', miscLinks: [{ text: '← Admin console', url: '/admin' }] } }
  })
  app.addHook('onSend', asProblem)
  app.addHook('onSend', asOurPage)
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const reads = methods.every(m => m === 'GET' || m === 'HEAD')
    route.config = { ...(route.config ?? {}), access: reads ? OBSERVERS : ADMIN_ONLY, browser: true }
    route.errorHandler = (err: FastifyError, _req, reply) => sendProblem(reply, toAppError(err))
    // The board's UI shows retry/clean/pause buttons unless a queue says it is read-only: say so to viewers,
    // who could not use them anyway (their POSTs are refused above).
    if (route.url === QUEUE_LIST_PATH && methods.includes('GET')) route.onSend = [asReadOnlyForViewers, withoutStackTraces]
    else if (route.url.startsWith(API_PATH) && reads) route.onSend = withoutStackTraces
  })
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH })
}

export default queuesDashboard
