// Jobs, crawl runs and schedules in the console: lists with filters, one job with its result or error, and the
// admin's retry and cancel (the same JobService calls as POST /v1/jobs/{id}/retry|cancel).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Core } from '../../core'
import { ADMIN_ONLY, OBSERVERS } from '../../config/roles'
import { PUBLIC_JOB_STATES, type JobView, type PublicJobState } from '../../jobs/job-view'
import type { EarlierRun } from '../../jobs/job-service'
import { audit, consoleUser, frameOf, requireCsrf, type ConsoleUser } from './context'
import { h, page, postButton, sendPage, when, type Html } from './html'
import { CRAWL_ACTION, jobPath, jobTable, progressText, scheduleTable } from './job-views'

const browser = { hide: true }
const MAX_RESULT_CHARS = 20_000
const JOB_ID = /^[A-Za-z0-9:_-]{1,64}$/

function listQuery (req: FastifyRequest): { state?: PublicJobState, action?: string, connection?: string, cursor?: string } {
  const q = req.query as Record<string, unknown>
  const str = (v: unknown, max: number): string | undefined => typeof v === 'string' && v !== '' && v.length <= max ? v : undefined
  const state = PUBLIC_JOB_STATES.find(s => s === q.state)
  const cursor = str(q.cursor, 64)
  return { ...(state ? { state } : {}), ...(str(q.action, 128) ? { action: str(q.action, 128) } : {}), ...(str(q.connection, 64) ? { connection: str(q.connection, 64) } : {}), ...(cursor && /^j[0-9a-z]{9}[0-9a-f]{16}$/.test(cursor) ? { cursor } : {}) }
}

function filterForm (path: string, f: ReturnType<typeof listQuery>, withAction: boolean): Html {
  return h`<form method="get" action="${path}" class="actions"><select name="state" aria-label="State"><option value="">any state</option>${PUBLIC_JOB_STATES.map(s => h`<option${s === f.state ? ' selected' : ''}>${s}</option>`)}</select>
${withAction ? h`<input type="text" name="action" placeholder="action id" value="${f.action ?? ''}" aria-label="Action" style="width:16rem">` : ''}
<input type="text" name="connection" placeholder="alias" value="${f.connection ?? ''}" aria-label="Alias" style="width:10rem"><button type="submit">Filter</button></form>`
}

function jobActions (j: JobView, user: ConsoleUser): Html {
  if (!user.isAdmin) return h``
  const path = jobPath(j.id)
  return h`<div class="actions">${j.state === 'failed' || j.state === 'cancelled' ? postButton(`${path}/retry`, 'Retry', user.csrf) : ''}
${j.state === 'waiting' || j.state === 'delayed' || j.state === 'active' ? postButton(`${path}/cancel`, 'Cancel', user.csrf) : ''}</div>`
}

/** Input fields whose value is never shown (credentials a caller may pass to an action). */
const SECRET_FIELD = /secret|password|token|api.?key|credential|authorization/i

/** The job's input for the page: values of secret-looking fields replaced, at any depth. */
export function hiddenSecrets (v: unknown, depth = 0): unknown {
  if (depth > 20 || v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(x => hiddenSecrets(x, depth + 1))
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, SECRET_FIELD.test(k) ? '(hidden)' : hiddenSecrets(x, depth + 1)]))
}

/** A failed attempt's error from BullMQ's record of it: its first line only (never the stack's file paths). */
function attemptError (stack: string): string {
  return (stack.split('\n')[0] ?? '').replace(/\s+at\s.*$/, '').slice(0, 500)
}

const RUNNING = new Set(['waiting', 'active', 'delayed'])

function attemptsSection (j: JobView, runs: EarlierRun[], stacks: string[]): Html {
  const total = runs.reduce((n, r) => n + r.attempts, 0) + j.attemptsMade
  const rows = [
    ...runs.map((r, i) => h`<tr><td>Run ${i + 1}</td><td>${r.attempts}</td><td>${r.state}</td><td>${r.error ? h`<code>${r.error.code}</code> ${r.error.message}` : '—'}</td></tr>`),
    h`<tr><td>Run ${runs.length + 1}${runs.length > 0 ? ' (after Retry)' : ''}</td><td>${j.attemptsMade}</td><td>${j.state}</td><td>${j.error ? h`<code>${j.error.code}</code> ${j.error.message}` : '—'}</td></tr>`
  ]
  const failed = stacks.length > 0 ? h`<h3>Every failed attempt, oldest first</h3><ol>${stacks.map(st => h`<li>${attemptError(st)}</li>`)}</ol>` : ''
  return h`<h2>Attempts: ${total}${runs.length > 0 ? ` over ${runs.length + 1} runs` : ''}</h2><table><thead><tr><th>Run</th><th>Attempts</th><th>Ended</th><th>Error</th></tr></thead><tbody>${rows}</tbody></table>${failed}`
}

function jobPage (j: JobView, user: ConsoleUser, more: { input: unknown, runs: EarlierRun[], stacks: string[] }): Html {
  const result = j.result === undefined ? '' : JSON.stringify(j.result, null, 2)
  const input = JSON.stringify(hiddenSecrets(more.input ?? {}), null, 2)
  return h`<h1>Job <code>${j.id}</code></h1>${RUNNING.has(j.state) ? h`<p class="muted" role="status">Running: this page refreshes itself every 2 seconds.</p>` : ''}${jobActions(j, user)}<table>
<tr><th>Action</th><td>${j.action}</td></tr><tr><th>Connection</th><td>${j.connection.requested}${j.connection.resolved && j.connection.resolved !== j.connection.requested ? ` → ${j.connection.resolved}` : ''}</td></tr>
<tr><th>State</th><td>${j.state}</td></tr><tr><th>Progress</th><td>${progressText(j.progress) || '—'}</td></tr><tr><th>Attempts (this run)</th><td>${j.attemptsMade}</td></tr>
<tr><th>Created</th><td>${when(j.createdAt)}</td></tr><tr><th>Started</th><td>${when(j.startedAt)}</td></tr><tr><th>Finished</th><td>${when(j.finishedAt)}</td></tr>
${j.worker ? h`<tr><th>Worker</th><td><code>${j.worker}</code></td></tr>` : ''}
${j.nextAttemptAt ? h`<tr><th>Next attempt</th><td>${when(j.nextAttemptAt)}</td></tr>` : ''}
${j.error ? h`<tr><th>Error</th><td class="bad"><code>${j.error.code}</code> ${j.error.message}${j.error.retryable ? ' (retryable)' : ''}</td></tr>` : ''}
${j.callback ? h`<tr><th>Callback</th><td>${j.callback.state} after ${j.callback.attempts} attempt(s)${j.callback.lastError ? ` — ${j.callback.lastError}` : ''}</td></tr>` : ''}
</table><h2>Input</h2><pre>${input.length > MAX_RESULT_CHARS ? `${input.slice(0, MAX_RESULT_CHARS)}\n… (truncated)` : input}</pre>
${attemptsSection(j, more.runs, more.stacks)}${result ? h`<h2>Result</h2><pre>${result.length > MAX_RESULT_CHARS ? `${result.slice(0, MAX_RESULT_CHARS)}\n… (truncated)` : result}</pre>` : ''}
<p><a href="/admin/jobs">All jobs</a> · <a href="/admin/queues">Queue dashboard</a></p>`
}

const jobPages: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const read = { config: { access: OBSERVERS, browser: true }, schema: browser }
  const change = { config: { access: ADMIN_ONLY, browser: true }, schema: browser }

  const list = (path: string, title: string, action?: string) => app.get(path, read, async (req, reply) => {
    const user = consoleUser(req)
    const f = { ...listQuery(req), ...(action ? { action } : {}) }
    const res = await core.jobs.list({ ...f, limit: 50 })
    const more = res.nextCursor ? h`<p><a href="${path}?${new URLSearchParams({ ...(f.state ? { state: f.state } : {}), ...(!action && f.action ? { action: f.action } : {}), ...(f.connection ? { connection: f.connection } : {}), cursor: res.nextCursor }).toString()}">Older</a></p>` : ''
    return sendPage(reply, 200, page(`${title} · Confluence spoke`, h`<h1>${title}</h1>${filterForm(path, f, !action)}${jobTable(res.jobs)}${more}`, frameOf(user, req)))
  })
  list('/admin/jobs', 'Jobs')
  list('/admin/crawls', 'Crawl runs', CRAWL_ACTION)

  app.get<{ Params: { id: string } }>('/admin/jobs/:id', read, async (req, reply) => {
    const user = consoleUser(req)
    const id = JOB_ID.test(req.params.id) ? req.params.id : '-'
    const job = await core.jobs.get(id)
    const [loaded, runs] = await Promise.all([core.jobs.load(id), core.jobs.runs(id)])
    const more = { input: (loaded?.job.data as { input?: unknown } | undefined)?.input, runs, stacks: loaded?.job.stacktrace ?? [] }
    // While it runs the page refreshes itself (a meta refresh: no script needed).
    const head = RUNNING.has(job.state) ? h`<meta http-equiv="refresh" content="2">` : undefined
    return sendPage(reply, 200, page(`Job ${job.id} · Confluence spoke`, jobPage(job, user, more), { ...frameOf(user, req), ...(head ? { head } : {}) }))
  })

  for (const op of ['retry', 'cancel'] as const) {
    app.post<{ Params: { id: string } }>(`/admin/jobs/:id/${op}`, change, async (req, reply) => {
      requireCsrf(req)
      const job = op === 'retry' ? await core.jobs.retry(req.params.id) : await core.jobs.cancel(req.params.id)
      audit(req, `job ${op}`, { jobId: job.id, action: job.action })
      return reply.redirect(`${jobPath(job.id)}?done=${op === 'retry' ? 'retried' : 'cancelled'}`, 303)
    })
  }

  app.get('/admin/schedules', read, async (req, reply) => {
    const user = consoleUser(req)
    return sendPage(reply, 200, page('Schedules · Confluence spoke', h`<h1>Schedules</h1>
<p class="muted">Each tick queues a normal job (listed under Jobs); a tick whose previous job is unfinished is skipped.</p>${scheduleTable(await core.schedules.list())}`, frameOf(user, req)))
  })
}

export default jobPages
