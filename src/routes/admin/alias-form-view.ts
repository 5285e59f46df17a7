// The alias form (create and edit), as the seed's Connection / Credential / Application Registry forms in one
// page. Secret fields are write-only: rendered empty, "set" or "not set" beside them, never their value.
import { h, csrfField, type Html } from './html'
import { CONNECTOR_SCOPES, SEED_SCOPES, type AliasFormValues } from './alias-form-doc'

/** A problem with the form, in words; `field` is the input it is about (its label is shown, linked to it). */
export interface FormIssue { path: string, message: string, field?: string, label?: string }

/** What a save would do that the admin must agree to first (`kinds` go back in the form's confirm button). */
export interface FormConfirm { title: string, items: Html[], kinds: string, button: string }

const REQUIRED = h` <span class="req" aria-hidden="true">(required)</span>`

function text (name: string, label: string, value: string, hint = '', required = false): Html {
  return h`<label for="${name}">${label}${required ? REQUIRED : ''}${hint ? h` <span class="hint">${hint}</span>` : ''}</label><input type="text" id="${name}" name="${name}" value="${value}"${required ? ' aria-required="true"' : ''}>`
}

/** `kept`: a value typed before a refusal or a confirmation, held sealed on the server (drafts.ts), never echoed. */
function secret (name: string, label: string, isSet: boolean, kept = false): Html {
  const state = kept ? 'the value you typed is kept (not shown) — type again to change it' : isSet ? 'set — leave empty to keep it' : 'not set'
  return h`<label for="${name}">${label} <span class="hint">${state}; write-only, never shown</span></label>
<input type="password" id="${name}" name="${name}" value="" autocomplete="new-password">`
}

function option (value: string, label: string, current: string): Html {
  return h`<option value="${value}"${value === current ? ' selected' : ''}>${label}</option>`
}

function radio (name: string, value: string, label: string, current: string, hint: string): Html {
  return h`<div><input type="radio" id="${name}-${value}" name="${name}" value="${value}"${value === current ? ' checked' : ''}> <label for="${name}-${value}" style="display:inline;font-weight:normal">${label} <span class="hint">${hint}</span></label></div>`
}

export interface AliasFormOptions {
  action: string
  isNew: boolean
  parents: string[]
  csrf?: string
  issues?: FormIssue[]
  confirm?: FormConfirm
  /** The server-side draft holding typed secrets (drafts.ts), and which secrets it holds. */
  draft?: string
  kept?: { clientSecret: boolean, orgApiKey: boolean }
  /** The catalogue's scope sets (console-scopes.ts). */
  presets: { actions: readonly string[], granular: readonly string[] }
  /** The button the admin pressed before a confirmation ('view' or 'token'), kept for the confirm button. */
  then?: string
}

export function aliasForm (v: AliasFormValues, opts: AliasFormOptions): Html {
  const n = opts.issues?.length ?? 0
  const issues = n > 0
    ? h`<div class="error" role="alert" id="form-issues"><strong>Not saved: ${n === 1 ? 'one problem' : `${n} problems`} to fix.</strong><ul>${(opts.issues ?? []).map(i => h`<li>${i.label ? h`<a href="#${i.field ?? ''}">${i.label}</a>: ` : i.path ? h`<code>${i.path}</code>: ` : ''}${i.message}</li>`)}</ul></div>` : ''
  const c = opts.confirm
  const confirm = c
    ? h`<div class="notice" role="alert" id="confirm"><strong>${c.title}</strong><ul>${c.items.map(i => h`<li>${i}</li>`)}</ul>
<p>Nothing is saved yet; every value you typed is still in the form below.</p><div class="actions"><button type="submit" form="alias-form" name="confirm" value="${c.kinds}">${c.button}</button> <a href="#alias-form">Change the form instead</a></div></div>` : ''
  const kept = opts.kept ?? { clientSecret: false, orgApiKey: false }
  return h`${issues}${confirm}<p class="muted">Fields marked (required) must be filled in.</p><form method="post" action="${opts.action}" id="alias-form">${csrfField(opts.csrf)}
${opts.draft ? h`<input type="hidden" name="draft" value="${opts.draft}">` : ''}
${c ? h`<input type="hidden" name="pendingThen" value="${opts.then ?? 'view'}">` : ''}
<fieldset><legend>Connection</legend>
${opts.isNew ? text('id', 'Alias id', v.id, 'lower case letters, digits, _ and -, e.g. acme_prod', true) : ''}
${text('name', 'Connection name', v.name, 'e.g. Confluence Cloud Spoke Connection', true)}
${text('description', 'Description', v.description)}
<label for="parent">Parent alias <span class="hint">a child alias serves requests naming its parent while it is the active child</span></label>
<select id="parent" name="parent">${option('', '(none — a parent or standalone alias)', v.parent)}${opts.parents.map(p => option(p, p, v.parent))}</select>
<div><input type="checkbox" id="active" name="active"${v.active ? ' checked' : ''}> <label for="active" style="display:inline;font-weight:normal">Active child (requests naming the parent run as this alias) <span class="hint">leave off until this alias has a token and a green Test connection; then "Make active"</span></label></div>
${text('connectionUrl', 'Connection URL', v.connectionUrl, 'Atlassian API gateway; empty = the default (https://api.atlassian.com/)')}
${text('siteUrl', 'Site URL', v.siteUrl, 'e.g. https://acme.atlassian.net — or leave empty and pick the site at consent')}
${text('cloudId', 'Site cloudId', v.cloudId, 'optional; wins over the URL')}
</fieldset>
<fieldset><legend>Credential (OAuth 2.0 app from the Atlassian developer console)</legend>
<label for="grant">Grant type</label><select id="grant" name="grant">${option('oauth2_authorization_code', 'Authorization code (3LO) — Get OAuth Token opens Atlassian\'s consent', v.grant)}
${option('oauth2_client_credentials', 'Client credentials (service account)', v.grant)}${option('', '(none — use the parent\'s credential)', v.grant)}</select>
${text('clientId', 'Client ID', v.clientId)}
${secret('clientSecret', 'Client secret', v.secretSet, kept.clientSecret)}
<p><strong>Scopes</strong> <span class="hint">tick the same ones on the app in the developer console (the alias page lists them)</span></p>
${radio('scopeSet', 'actions', 'What this spoke\'s actions need (classic where an action has a classic set)', v.scopeSet, opts.presets.actions.join(' '))}
${radio('scopeSet', 'granular', 'What the actions need, granular scopes', v.scopeSet, opts.presets.granular.join(' '))}
${radio('scopeSet', 'seed', 'The setup guide\'s set', v.scopeSet, SEED_SCOPES.join(' '))}
${radio('scopeSet', 'connector', 'The connector\'s granular read set (crawl)', v.scopeSet, CONNECTOR_SCOPES.join(' '))}
${radio('scopeSet', 'custom', 'This list:', v.scopeSet, 'one per line or separated by spaces; editing it uses it, whichever set is chosen above')}
<textarea id="scopes" name="scopes" aria-label="Scopes">${v.scopes}</textarea>
${text('authorizeUrl', 'Authorize URL', v.authorizeUrl, 'empty = Atlassian\'s (authorization code only)')}
${text('tokenUrl', 'Token URL', v.tokenUrl, 'empty = Atlassian\'s https://auth.atlassian.com/oauth/token')}
</fieldset>
<fieldset><legend>Retry policy</legend>
<label for="strategy">Strategy</label><select id="strategy" name="strategy">${option('', '(default / parent\'s)', v.strategy)}${option('retry_after', 'retry_after — wait as Confluence says', v.strategy)}${option('exponential', 'exponential', v.strategy)}${option('fixed', 'fixed', v.strategy)}</select>
${text('maxAttempts', 'Max attempts', v.maxAttempts, '1–20')}${text('maxElapsedSeconds', 'Max elapsed seconds', v.maxElapsedSeconds, '1–86400')}${text('delaySeconds', 'Delay seconds', v.delaySeconds, 'fixed / exponential base')}
</fieldset>
<fieldset><legend>Organization admin (optional: managed accounts' emails for the crawl)</legend>
${text('orgId', 'Organization id', v.orgId)}${secret('orgApiKey', 'Organization admin API key', v.orgKeySet, kept.orgApiKey)}
</fieldset>
<div class="actions"><button type="submit" name="then" value="view">Save</button>
<button type="submit" name="then" value="token">Save and Get OAuth Token</button> <a href="${opts.isNew ? '/admin' : `/admin/aliases/${encodeURIComponent(v.id)}`}">Cancel</a></div></form>`
}
