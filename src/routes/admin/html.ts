// The console's one HTML helper: `h` escapes every interpolated value unless it is already `Html` (built by `h`
// itself), so a page cannot carry unescaped data by accident. Pages are sent with a CSP that allows one script
// only, by its hash: the copy buttons (hidden without JavaScript, where the text is selectable). Everything else
// works without JavaScript.
import { createHash } from 'node:crypto'
import type { FastifyReply } from 'fastify'

export class Html {
  constructor (readonly text: string) {}
  toString (): string { return this.text }
}

export function esc (v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function render (v: unknown): string {
  if (v instanceof Html) return v.text
  if (Array.isArray(v)) return v.map(render).join('')
  if (v === undefined || v === null || v === false) return ''
  return esc(v)
}

/** Tagged template: `h\`<td>${value}</td>\`` — values are escaped, nested `h` results and arrays of them are not. */
export function h (strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]
  values.forEach((v, i) => { out += render(v) + strings[i + 1] })
  return new Html(out)
}

/** Copy buttons: `<button data-copy="id" hidden>` copies the value of the input `id`, else selects it. */
const COPY_SCRIPT = "document.querySelectorAll('button[data-copy]').forEach(function(b){var t=document.getElementById(b.getAttribute('data-copy'));if(!t)return;b.hidden=false;b.addEventListener('click',function(){t.select();var done=function(){b.textContent='Copied'};if(navigator.clipboard&&navigator.clipboard.writeText){navigator.clipboard.writeText(t.value).then(done,function(){})}else{done()}})})"
const COPY_HASH = createHash('sha256').update(COPY_SCRIPT).digest('base64')

/** Our own pages run only the copy script; styles are inline; forms post only here; never framed. */
export const CONSOLE_CSP = `default-src 'none'; script-src 'sha256-${COPY_HASH}'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`

/** The console's icon (served at /favicon.ico; browsers ask for it on every page). */
export const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0052cc"/><path d="M4 11c2-4 6-4 8 0M4 6c2 3 6 3 8 0" stroke="#fff" stroke-width="1.6" fill="none"/></svg>'

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:76rem;padding:0 1rem;color:#172b4d}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.8rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #dfe1e6;vertical-align:top}
.ok{color:#006644}.bad{color:#bf2600}.warn{color:#974f0c}.muted{color:#6b778c}code{background:#f4f5f7;padding:0 .2rem}
nav{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;border-bottom:1px solid #dfe1e6;padding-bottom:.5rem}
nav .who{margin-left:auto}form.inline{display:inline}.flash{background:#e3fcef;padding:.5rem .75rem}
.error{background:#ffebe6;padding:.5rem .75rem}label{display:block;margin:.6rem 0 .2rem;font-weight:600}
input[type=text],input[type=password],input[type=url],input[type=number],select,textarea{width:32rem;max-width:100%;font:inherit}
textarea{height:9rem}.hint{font-weight:normal;color:#6b778c}fieldset{border:1px solid #dfe1e6;margin:1rem 0}
.picker{display:flex;gap:1rem;align-items:center}.picker select{width:20rem;height:14rem}
.actions{display:flex;gap:.5rem;flex-wrap:wrap;margin:.6rem 0}button,.button{font:inherit;padding:.25rem .7rem;cursor:pointer}
a.button{border:1px solid #8993a4;border-radius:3px;text-decoration:none;color:inherit;background:#f4f5f7}
pre{background:#f4f5f7;padding:.5rem;overflow:auto;max-height:30rem}fieldset{min-width:0}td,li,p,code,label{overflow-wrap:anywhere}
.req{color:#bf2600;font-weight:normal}.notice{background:#fffae6;padding:.5rem .75rem;margin:.6rem 0}input.copy{width:32rem;max-width:100%;font-family:monospace}
@media (max-width:48rem){body{margin:.75rem auto;padding:0 .5rem}table,thead,tbody,tr,th,td{display:block;width:auto}thead{display:none}
tr{border-bottom:2px solid #dfe1e6;padding:.3rem 0}th,td{border:0;padding:.15rem .3rem}.picker{flex-direction:column;align-items:stretch}.picker select{width:100%;height:10rem}}`

export interface PageFrame {
  /** Signed-in role and CSRF token: the nav shows who is signed in and a sign-out button. */
  role?: string
  csrf?: string
  flash?: string
  /** The flash reports something that did not work. */
  flashBad?: boolean
  /** Extra <head> content (only the continue page's meta refresh). */
  head?: Html
}

export function page (title: string, body: Html, frame: PageFrame = {}): Html {
  const nav = frame.role === undefined ? h`` : h`<nav><strong>Confluence spoke</strong><a href="/admin">Connections</a><a href="/admin/jobs">Jobs</a>
<a href="/admin/crawls">Crawl runs</a><a href="/admin/schedules">Schedules</a><a href="/admin/triggers">Triggers</a><a href="/admin/queues">Queue dashboard</a>${frame.role === 'admin' ? h`<a href="/admin/sessions">Sessions</a>` : ''}<a href="/docs">API docs</a>
<span class="who">Signed in as ${frame.role}${frame.role === 'viewer' ? ' (read-only)' : ''}</span>${postButton('/admin/logout', 'Sign out', frame.csrf)}</nav>`
  return h`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><link rel="icon" href="/favicon.ico" type="image/svg+xml">${frame.head}<style>${new Html(STYLE)}</style></head><body>${nav}
${frame.flash ? h`<p class="flash${frame.flashBad ? ' error' : ''}" role="status">${frame.flash}</p>` : ''}${body}${body.text.includes('data-copy=') ? h`<script>${new Html(COPY_SCRIPT)}</script>` : ''}</body></html>`
}

export function sendPage (reply: FastifyReply, status: number, html: Html): FastifyReply {
  return reply.code(status).header('content-security-policy', CONSOLE_CSP).type('text/html; charset=utf-8').send(html.text)
}

/** A one-button form that posts to `action` with the session's CSRF token (and optional hidden fields). */
export function postButton (action: string, label: string, csrf: string | undefined, hidden: Record<string, string> = {}): Html {
  const fields = Object.entries(hidden).map(([k, v]) => h`<input type="hidden" name="${k}" value="${v}">`)
  return h`<form class="inline" method="post" action="${action}"><input type="hidden" name="_csrf" value="${csrf ?? ''}">${fields}<button type="submit">${label}</button></form>`
}

export function csrfField (csrf: string | undefined): Html {
  return h`<input type="hidden" name="_csrf" value="${csrf ?? ''}">`
}

const DATE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' })

/** "30 Jan 2025, 14:03:05 UTC (in 55 min)", in a <time> carrying the exact instant. */
export function when (iso: string | null | undefined, now = Date.now()): Html {
  if (!iso) return h`<span class="muted">—</span>`
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return h`${iso}`
  return h`<time datetime="${iso}">${DATE.format(t)} UTC</time> <span class="muted">(${relative(t - now)})</span>`
}

function relative (ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000)
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} days`
  return ms >= 0 ? `in ${text}` : `${text} ago`
}

/**
 * Messages of the service layers name JSON routes for API users ("… PUT /v1/connections/x …"); the console offers
 * the same step as a button beside the message, so the route is left out of what it shows.
 */
export function withoutApiPaths (message: string): string {
  return message
    .replace(/\s*\((?:[^()]*?)(?:GET|PUT|POST|DELETE) \/v1\/[^()]*\)/g, '')
    .replace(/[:,]?\s*(?:use |open |with |in )?(?:GET|PUT|POST|DELETE) \/v1\/\S*?(?=[\s.;,)]|$)(?: with [^.;]*| and approve the consent)?/g, '')
    .replace(/\s+([.;,])/g, '$1')
}

/** A read-only text box with a copy button (the button shows only with JavaScript). */
export function copyBox (id: string, value: string, label: string): Html {
  return h`<input type="text" readonly class="copy" id="${id}" value="${value}" aria-label="${label}"> <button type="button" data-copy="${id}" hidden>Copy</button>`
}
