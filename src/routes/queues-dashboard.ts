// Bull Board at /admin/queues (docs/api.md#jobs): admins and viewers see it; only admins may change anything
// (Bull Board's mutating API routes — POST/PUT/DELETE under /admin/queues/api — are admin-only). Errors on
// its routes (401/403 from auth) leave as problem+json like everywhere else, not in Bull Board's shape.
// Its page fetches nothing from outside hosts (the web-font link of its template is removed), links back to
// the console, and viewers get jobs without stack traces (server file paths are not theirs to read), without
// job inputs, callback URLs or job logs: no more than GET /v1/jobs shows them (asViewerJobs).
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

type BoardJob = Record<string, unknown> & { data?: unknown, opts?: unknown }

/**
 * What a viewer may see of a job's input: what GET /v1/jobs shows them — the action (the job's name) and the
 * alias of a run-action job, the job id a callback delivery is for. Never the input (account ids, page
 * bodies), never a callbackUrl / delivery url (receivers put tokens in them).
 */
function viewerData (data: unknown): Record<string, unknown> {
  if (data === null || typeof data !== 'object') return {}
  const d = data as Record<string, unknown>
  if (typeof d.actionId === 'string') return { actionId: d.actionId, connection: d.connection }
  if (typeof d.jobId === 'string') return { jobId: d.jobId }
  return {}
}

/** A job of Bull Board's JSON as a viewer gets it: its data reduced, its options to the retry counts, no stack trace. */
function forViewer (job: BoardJob): BoardJob {
  const opts = (job.opts ?? {}) as Record<string, unknown>
  return { ...job, data: viewerData(job.data), opts: { attempts: opts.attempts, delay: opts.delay }, stacktrace: [] }
}

/**
 * Bull Board's job JSON for viewers (the queue list, one job, its logs): job data no wider than GET /v1/jobs
 * shows (above), stack traces emptied (server file paths; the error message stays), job logs withheld.
 * Admins get it whole.
 */
async function asViewerJobs (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (req.principal?.role === 'admin' || reply.statusCode !== 200 || typeof payload !== 'string') return payload
  if (!String(reply.getHeader('content-type') ?? '').includes('json')) return payload
  const body = JSON.parse(payload) as unknown
  if (Array.isArray(body)) return '[]' // GET .../:jobId/logs: lines a job wrote, not part of its public view
  if (body === null || typeof body !== 'object') return payload
  const b = body as { queues?: Array<{ jobs?: BoardJob[] }>, job?: BoardJob }
  for (const q of b.queues ?? []) if (Array.isArray(q.jobs)) q.jobs = q.jobs.map(forViewer)
  if (b.job !== undefined && b.job !== null && typeof b.job === 'object') b.job = forViewer(b.job)
  return JSON.stringify(b)
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
    if (route.url === QUEUE_LIST_PATH && methods.includes('GET')) route.onSend = [asReadOnlyForViewers, asViewerJobs]
    else if (route.url.startsWith(API_PATH) && reads) route.onSend = asViewerJobs
  })
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH })
}

export default queuesDashboard
