// Triggers in the console (docs/triggers.md): the list with state, lag and the last delivery's outcome, a "New
// trigger" form, and one trigger with its last deliveries, dead letters ("Replay"), "Pause", "Resume", "Send a test
// event", "Delete" and an edit form. Every change calls the same TriggerService method as the JSON routes
// (routes/triggers.ts); the form's problems are named in words, all at once, before the service is asked.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Core } from '../../core'
import { ADMIN_ONLY, OBSERVERS } from '../../config/roles'
import { AppError } from '../../errors/app-error'
import { NotFoundError } from '../../errors/errors'
import type { TriggerView } from '../../triggers/service'
import { CONTENT_KINDS, MIN_EVERY_SECONDS, TRIGGER_EVENTS, type ContentKind, type DeliveryRecord, type TriggerBody, type TriggerEventType } from '../../triggers/types'
import type { FormIssue } from './alias-form-view'
import { audit, consoleUser, field, fieldList, frameOf, requireCsrf, type FormFields } from './context'
import { csrfField, h, page, postButton, sendPage, when, withoutApiPaths, type Html } from './html'

const read = { config: { access: OBSERVERS, browser: true }, schema: { hide: true } }
const change = { config: { access: ADMIN_ONLY, browser: true }, schema: { hide: true } }

/** The JSON route's id pattern (routes/triggers.ts). */
const TRIGGER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/
const MAX_EVERY = 86_400
const MAX_DEAD_SHOWN = 50

export const triggerPath = (id: string): string => `/admin/triggers/${encodeURIComponent(id)}`

/** What the form holds, as typed (re-rendered as is after a refusal). */
interface TriggerFormValues { id: string, connection: string, events: string[], spaces: string, types: string[], url: string, batch: string, every: string, start: string }

const LABELS: Record<string, string> = {
  id: 'Trigger id', connection: 'Connection', events: 'Events', spaces: 'Spaces', types: 'Content types', url: 'Delivery URL', batch: 'Events per request', every: 'Poll every (seconds)', start: 'Start'
}
/** The service's problem paths (JSON body) → the form's fields. */
const FIELD_OF_PATH: Record<string, string> = { '/connection': 'connection', '/events': 'events', '/filter/spaces': 'spaces', '/filter/types': 'types', '/delivery/url': 'url', '/delivery/batch': 'batch', '/every': 'every', '/start': 'start' }

const issue = (f: string, message: string): FormIssue => ({ path: f, field: f, label: LABELS[f], message })

function valuesOf (form: FormFields, id?: string): TriggerFormValues {
  return {
    id: id ?? field(form, 'id'),
    connection: field(form, 'connection'),
    events: fieldList(form, 'events'),
    spaces: field(form, 'spaces'),
    types: fieldList(form, 'types'),
    url: field(form, 'url'),
    batch: field(form, 'batch'),
    every: field(form, 'every'),
    start: field(form, 'start')
  }
}

function valuesOfView (t: TriggerView): TriggerFormValues {
  return { id: t.id, connection: t.connection, events: [...t.events], spaces: (t.filter?.spaces ?? []).join(', '), types: [...(t.filter?.types ?? [])], url: t.delivery.url, batch: t.delivery.batch === undefined ? '' : String(t.delivery.batch), every: String(t.every), start: '' }
}

const intIn = (s: string, min: number, max: number): number | undefined => /^\d{1,9}$/.test(s) && Number(s) >= min && Number(s) <= max ? Number(s) : undefined

/** The form as the JSON route's body, or every problem with it in words. `isNew`: the id is typed too. */
export function triggerBodyOf (v: TriggerFormValues, isNew: boolean): { body?: TriggerBody, issues: FormIssue[] } {
  const issues: FormIssue[] = []
  if (isNew && v.id === '') issues.push(issue('id', 'required'))
  else if (isNew && !TRIGGER_ID.test(v.id)) issues.push(issue('id', 'letters, digits, _ . and - only, starting with a letter or digit, at most 64'))
  if (v.connection === '') issues.push(issue('connection', 'required: choose the alias whose site is watched'))
  const events = v.events.filter((e): e is TriggerEventType => (TRIGGER_EVENTS as readonly string[]).includes(e))
  if (events.length === 0) issues.push(issue('events', 'tick at least one event'))
  const types = v.types.filter((t): t is ContentKind => (CONTENT_KINDS as readonly string[]).includes(t))
  const spaces = [...new Set(v.spaces.split(/[\s,]+/).filter(s => s !== ''))]
  if (spaces.length > 500) issues.push(issue('spaces', 'at most 500 spaces'))
  if (spaces.some(s => s.length > 255)) issues.push(issue('spaces', 'a space key or id is at most 255 characters'))
  if (v.url === '') issues.push(issue('url', 'required: where the events are POSTed'))
  else if (v.url.length > 2048) issues.push(issue('url', 'at most 2048 characters'))
  const batch = v.batch === '' ? undefined : intIn(v.batch, 1, 500)
  if (v.batch !== '' && batch === undefined) issues.push(issue('batch', 'a whole number from 1 to 500 (empty: one event per request)'))
  const every = intIn(v.every, MIN_EVERY_SECONDS, MAX_EVERY)
  if (v.every === '') issues.push(issue('every', 'required'))
  else if (every === undefined) issues.push(issue('every', `a whole number of seconds from ${MIN_EVERY_SECONDS} to ${MAX_EVERY}`))
  if (v.start !== '' && v.start !== 'now' && (v.start.length > 64 || Number.isNaN(Date.parse(v.start)))) issues.push(issue('start', 'empty, "now", or a time such as 2026-12-01T00:00:00Z'))
  if (issues.length > 0 || every === undefined) return { issues }
  const filter = { ...(spaces.length > 0 ? { spaces } : {}), ...(types.length > 0 ? { types: [...new Set(types)] } : {}) }
  return {
    issues,
    body: {
      connection: v.connection,
      events: [...new Set(events)],
      ...(Object.keys(filter).length > 0 ? { filter } : {}),
      delivery: { url: v.url, ...(batch !== undefined ? { batch } : {}) },
      every,
      ...(v.start !== '' ? { start: v.start } : {})
    }
  }
}

const REQUIRED = h` <span class="req" aria-hidden="true">(required)</span>`

function issuesBox (issues: FormIssue[]): Html {
  if (issues.length === 0) return h``
  return h`<div class="error" role="alert" id="form-issues"><strong>Not saved: ${issues.length === 1 ? 'one problem' : `${issues.length} problems`} to fix.</strong><ul>${issues.map(i => h`<li>${i.field ? h`<a href="#${i.field}">${i.label ?? i.field}</a>: ` : ''}${i.message}</li>`)}</ul></div>`
}

function triggerForm (v: TriggerFormValues, opts: { action: string, isNew: boolean, aliases: string[], csrf?: string, issues: FormIssue[] }): Html {
  const bad = new Set(opts.issues.map(i => i.field))
  const inv = (f: string): Html => bad.has(f) ? h` aria-invalid="true"` : h``
  const text = (name: string, type: string, value: string, hint: string, required: boolean): Html => h`<label for="${name}">${LABELS[name]}${required ? REQUIRED : ''}${hint ? h` <span class="hint">${hint}</span>` : ''}</label>
<input type="${type}" id="${name}" name="${name}" value="${value}"${required ? h` required aria-required="true"` : ''}${inv(name)}>`
  const box = (name: string, value: string, checked: boolean, i: number): Html => h`<div><input type="checkbox" id="${name}-${i}" name="${name}" value="${value}"${checked ? ' checked' : ''}> <label for="${name}-${i}" style="display:inline;font-weight:normal"><code>${value}</code></label></div>`
  const aliases = opts.aliases.includes(v.connection) || v.connection === '' ? opts.aliases : [v.connection, ...opts.aliases]
  return h`${issuesBox(opts.issues)}<p class="muted">Fields marked (required) must be filled in.</p><form method="post" action="${opts.action}" id="trigger-form">${csrfField(opts.csrf)}
${opts.isNew ? text('id', 'text', v.id, 'letters, digits, _ . -; e.g. new-pages', true) : ''}
<label for="connection">${LABELS.connection}${REQUIRED} <span class="hint">the alias whose site is watched</span></label><select id="connection" name="connection" required aria-required="true"${inv('connection')}>
<option value=""${v.connection === '' ? ' selected' : ''}>(choose an alias)</option>${aliases.map(a => h`<option value="${a}"${a === v.connection ? ' selected' : ''}>${a}</option>`)}</select>
<fieldset id="events"${inv('events')}><legend>${LABELS.events}${REQUIRED} <span class="hint">at least one</span></legend>${TRIGGER_EVENTS.map((e, i) => box('events', e, v.events.includes(e), i))}</fieldset>
<fieldset id="types"><legend>${LABELS.types} <span class="hint">none ticked: every type</span></legend>${CONTENT_KINDS.map((k, i) => box('types', k, v.types.includes(k), i))}</fieldset>
${text('spaces', 'text', v.spaces, 'space keys or ids, separated by commas or spaces; empty: every space', false)}
${text('url', 'url', v.url, 'the receiver; the callback address policy must allow it', true)}
${text('batch', 'number', v.batch, 'empty or 1: one event per request; more: { subscription, events } batches', false)}
${text('every', 'number', v.every, `at least ${MIN_EVERY_SECONDS}`, true)}
${text('start', 'text', v.start, opts.isNew ? 'empty or "now": from now on; or a time to backfill from, e.g. 2026-12-01T00:00:00Z' : 'empty: keep where it is; "now" or a time: start again from there', false)}
<div class="actions"><button type="submit">${opts.isNew ? 'Create trigger' : 'Save changes'}</button></div></form>`
}

function outcome (d: DeliveryRecord | undefined): Html {
  if (d === undefined) return h`<span class="muted">none yet</span>`
  const what = d.ok ? h`<span class="ok">delivered${d.status !== undefined ? ` (${d.status})` : ''}</span>` : h`<span class="bad">failed${d.error ? `: ${d.error}` : ''}</span>`
  return h`${what}${d.test ? ' · test event' : ''}`
}

const lag = (t: TriggerView): string => t.pending === 0 ? 'none pending' : `${t.lagSeconds} s (${t.pending} pending)`

function listTable (triggers: TriggerView[]): Html {
  if (triggers.length === 0) return h`<p class="muted">No trigger yet.</p>`
  const rows = [...triggers].sort((a, b) => a.id.localeCompare(b.id)).map(t => h`<tr><td><a href="${triggerPath(t.id)}"><code>${t.id}</code></a></td><td>${t.connection}</td>
<td>${t.events.join(', ')}</td><td>every ${t.every} s</td><td class="${t.state === 'paused' ? 'warn' : 'ok'}">${t.state}</td><td>${lag(t)}</td><td>${outcome(t.lastDeliveries[0])}</td></tr>`)
  return h`<table><thead><tr><th>Id</th><th>Connection</th><th>Events</th><th>Every</th><th>State</th><th>Lag</th><th>Last delivery</th></tr></thead><tbody>${rows}</tbody></table>`
}

async function aliasIds (core: Core): Promise<string[]> {
  return (await core.connections.aliases.list()).map(a => a.id).sort()
}

const EMPTY: TriggerFormValues = { id: '', connection: '', events: [], spaces: '', types: [], url: '', batch: '', every: '60', start: '' }

function detailsTable (t: TriggerView): Html {
  const filter = [t.filter?.spaces ? `spaces ${t.filter.spaces.join(', ')}` : '', t.filter?.types ? `types ${t.filter.types.join(', ')}` : ''].filter(s => s !== '').join('; ')
  return h`<table>
<tr><th>State</th><td class="${t.state === 'paused' ? 'warn' : 'ok'}">${t.state}</td></tr><tr><th>Connection</th><td><a href="/admin/aliases/${t.connection}">${t.connection}</a></td></tr>
<tr><th>Events</th><td>${t.events.join(', ')}</td></tr><tr><th>Filter</th><td>${filter || 'none (every space, every type)'}</td></tr>
<tr><th>Delivery</th><td><code>${t.delivery.url}</code> · ${(t.delivery.batch ?? 1) > 1 ? `up to ${t.delivery.batch ?? 1} events per request` : 'one event per request'}</td></tr>
<tr><th>Poll every</th><td>${t.every} s</td></tr><tr><th>Events since</th><td>${when(t.startAt)}</td></tr><tr><th>Last poll of the site</th><td>${when(t.lastPollAt)}</td></tr>
<tr><th>Lag</th><td>${lag(t)}</td></tr><tr><th>Counts</th><td>${t.detected} detected · ${t.delivered} delivered · ${t.failures} failed attempts · ${t.deadLetters} dead letters</td></tr>
<tr><th>Last event delivered</th><td>${t.lastDeliveredEventId ? h`<code>${t.lastDeliveredEventId}</code>` : '—'}</td></tr>
<tr><th>Created</th><td>${when(t.createdAt)}</td></tr><tr><th>Changed</th><td>${when(t.updatedAt)}</td></tr></table>`
}

function deliveriesTable (list: DeliveryRecord[]): Html {
  if (list.length === 0) return h`<p class="muted">No delivery yet.</p>`
  return h`<table><thead><tr><th>When</th><th>Outcome</th><th>Events</th><th>First event</th></tr></thead><tbody>${list.map(d => h`<tr><td>${when(d.at)}</td><td>${outcome(d)}</td><td>${d.events === 1 ? '1 event' : `${d.events} events`}</td><td>${d.firstEventId ? h`<code>${d.firstEventId}</code>` : '—'}</td></tr>`)}</tbody></table>`
}

const triggerPages: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const triggers = core.triggers

  async function listPage (req: FastifyRequest, reply: FastifyReply, status: number, form: { values: TriggerFormValues, issues: FormIssue[] }): Promise<FastifyReply> {
    const user = consoleUser(req)
    const [list, aliases] = await Promise.all([triggers.list(), user.isAdmin ? aliasIds(core) : Promise.resolve([])])
    const create = user.isAdmin
      ? h`<h2 id="new">New trigger</h2>${triggerForm(form.values, { action: '/admin/triggers', isNew: true, aliases, csrf: user.csrf, issues: form.issues })}`
      : ''
    return sendPage(reply, status, page('Triggers · Confluence spoke', h`<h1>Triggers</h1>
<p class="muted">Each trigger tells a receiver what changed on a connection's site, signed, each change once and in order (one poll per site serves every trigger of it).</p>
${listTable(list)}${create}`, frameOf(user, req)))
  }

  async function detailPage (req: FastifyRequest, reply: FastifyReply, id: string, status: number, form?: { values: TriggerFormValues, issues: FormIssue[] }): Promise<FastifyReply> {
    const user = consoleUser(req)
    const t = await triggers.get(id)
    const [dead, aliases] = await Promise.all([triggers.deadLetters(id), user.isAdmin ? aliasIds(core) : Promise.resolve([])])
    const path = triggerPath(id)
    const buttons = user.isAdmin
      ? h`<div class="actions">${t.state === 'active' ? postButton(`${path}/pause`, 'Pause', user.csrf) : postButton(`${path}/resume`, 'Resume', user.csrf)}
${postButton(`${path}/test`, 'Send a test event', user.csrf)}${postButton(`${path}/delete`, 'Delete', user.csrf)}</div>`
      : ''
    const deadRows = dead.slice(0, MAX_DEAD_SHOWN).map(d => h`<tr><td>${when(d.deadAt)}</td><td>${d.events.map(e => h`<code>${e.id}</code> `)}</td><td>${d.attempts}</td><td class="bad">${d.reason}</td></tr>`)
    const deadSection = dead.length === 0
      ? h`<p class="muted">None.</p>`
      : h`${user.isAdmin ? h`<div class="actions">${postButton(`${path}/replay`, `Replay ${dead.length === 1 ? 'the dead letter' : `all ${dead.length} dead letters`}`, user.csrf)}</div><p class="muted">Replayed events are sent again before any newer event.</p>` : ''}
<table><thead><tr><th>Dead since</th><th>Events</th><th>Attempts</th><th>Reason</th></tr></thead><tbody>${deadRows}</tbody></table>${dead.length > MAX_DEAD_SHOWN ? h`<p class="muted">${dead.length - MAX_DEAD_SHOWN} more not shown.</p>` : ''}`
    const edit = user.isAdmin
      ? h`<h2 id="edit">Edit</h2>${triggerForm(form?.values ?? valuesOfView(t), { action: `${path}/edit`, isNew: false, aliases, csrf: user.csrf, issues: form?.issues ?? [] })}`
      : ''
    return sendPage(reply, status, page(`Trigger ${id} · Confluence spoke`, h`<h1>Trigger <code>${id}</code></h1>${buttons}${detailsTable(t)}
<h2>Last deliveries</h2>${deliveriesTable(t.lastDeliveries)}<h2>Dead letters (${dead.length})</h2>${deadSection}${edit}
<p><a href="/admin/triggers">All triggers</a></p>`, frameOf(user, req)))
  }

  /** Saves through the service; its refusals (address policy, unknown alias, no signing secret) become form problems. */
  async function save (id: string, body: TriggerBody): Promise<{ created?: boolean, issues: FormIssue[] }> {
    try {
      const { created } = await triggers.put(id, body)
      return { created, issues: [] }
    } catch (err) {
      if (!(err instanceof AppError) || ![400, 404].includes(err.statusCode)) throw err
      const listed = (err.errors ?? []) as Array<{ path?: string, message?: string }>
      const path = err.statusCode === 404 ? '/connection' : listed[0]?.path
      const f = path !== undefined ? FIELD_OF_PATH[path] : undefined
      return { issues: [f !== undefined ? issue(f, withoutApiPaths(err.message)) : { path: '', message: `${err.code}: ${withoutApiPaths(err.message)}` }] }
    }
  }

  app.get('/admin/triggers', read, async (req, reply) => await listPage(req, reply, 200, { values: EMPTY, issues: [] }))

  app.post('/admin/triggers', change, async (req, reply) => {
    const form = requireCsrf(req)
    const values = valuesOf(form)
    const { body, issues } = triggerBodyOf(values, true)
    if (body === undefined) return await listPage(req, reply, 400, { values, issues })
    // The form creates; an existing trigger is changed on its own page (a PUT here would silently replace it).
    if (await triggers.get(values.id).then(() => true, (err: unknown) => { if (err instanceof NotFoundError) return false; throw err })) return await listPage(req, reply, 400, { values, issues: [issue('id', `a trigger "${values.id}" exists already: open it to change it`)] })
    const saved = await save(values.id, body)
    if (saved.issues.length > 0) return await listPage(req, reply, 400, { values, issues: saved.issues })
    audit(req, 'trigger created', { trigger: values.id, connection: body.connection })
    return reply.redirect(`${triggerPath(values.id)}?done=trigger-saved`, 303)
  })

  app.get<{ Params: { id: string } }>('/admin/triggers/:id', read, async (req, reply) => await detailPage(req, reply, req.params.id, 200))

  app.post<{ Params: { id: string } }>('/admin/triggers/:id/edit', change, async (req, reply) => {
    const form = requireCsrf(req)
    const id = req.params.id
    await triggers.get(id) // 404 before anything else
    const values = valuesOf(form, id)
    const { body, issues } = triggerBodyOf(values, false)
    if (body === undefined) return await detailPage(req, reply, id, 400, { values, issues })
    const saved = await save(id, body)
    if (saved.issues.length > 0) return await detailPage(req, reply, id, 400, { values, issues: saved.issues })
    audit(req, 'trigger saved', { trigger: id, connection: body.connection })
    return reply.redirect(`${triggerPath(id)}?done=trigger-saved`, 303)
  })

  for (const [op, state] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.post<{ Params: { id: string } }>(`/admin/triggers/:id/${op}`, change, async (req, reply) => {
      requireCsrf(req)
      await triggers.setState(req.params.id, state)
      audit(req, `trigger ${op}d`, { trigger: req.params.id })
      return reply.redirect(`${triggerPath(req.params.id)}?done=trigger-${op}d`, 303)
    })
  }

  app.post<{ Params: { id: string } }>('/admin/triggers/:id/test', change, async (req, reply) => {
    requireCsrf(req)
    const record = await triggers.test(req.params.id)
    audit(req, 'trigger test event sent', { trigger: req.params.id, ok: record.ok, status: record.status })
    return reply.redirect(`${triggerPath(req.params.id)}?done=${record.ok ? 'test-delivered' : 'test-failed'}`, 303)
  })

  app.post<{ Params: { id: string } }>('/admin/triggers/:id/replay', change, async (req, reply) => {
    requireCsrf(req)
    const n = await triggers.replay(req.params.id)
    audit(req, 'trigger dead letters replayed', { trigger: req.params.id, replayed: n })
    return reply.redirect(`${triggerPath(req.params.id)}?done=replayed`, 303)
  })

  app.post<{ Params: { id: string } }>('/admin/triggers/:id/delete', change, async (req, reply) => {
    const form = requireCsrf(req)
    const t = await triggers.get(req.params.id)
    if (field(form, 'confirm') !== 'delete') {
      // What goes with it is said first (no script: a page with the confirming button, not a dialog).
      const user = consoleUser(req)
      return sendPage(reply, 200, page(`Delete trigger ${t.id} · Confluence spoke`, h`<h1>Delete trigger <code>${t.id}</code>?</h1>
<div class="notice" role="alert"><p>Its receiver gets nothing more from it. ${t.pending} pending event(s) and ${t.deadLetters} dead letter(s) are deleted with it.</p></div>
<div class="actions">${postButton(`${triggerPath(t.id)}/delete`, 'Delete it', user.csrf, { confirm: 'delete' })} <a href="${triggerPath(t.id)}">Cancel</a></div>`, frameOf(user)))
    }
    await triggers.delete(req.params.id)
    audit(req, 'trigger deleted', { trigger: req.params.id })
    return reply.redirect('/admin/triggers?done=trigger-deleted', 303)
  })
}

export default triggerPages
