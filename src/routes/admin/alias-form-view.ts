// The alias form (create and edit), as the seed's Connection / Credential / Application Registry forms in one
// page. Secret fields are write-only: rendered empty, "set" or "not set" beside them, never their value.
import { h, csrfField, type Html } from './html'
import { CONNECTOR_SCOPES, SEED_SCOPES, type AliasFormValues } from './alias-form-doc'

export interface FormIssue { path: string, message: string }

function text (name: string, label: string, value: string, hint = ''): Html {
  return h`<label for="${name}">${label}${hint ? h` <span class="hint">${hint}</span>` : ''}</label><input type="text" id="${name}" name="${name}" value="${value}">`
}

function secret (name: string, label: string, isSet: boolean): Html {
  return h`<label for="${name}">${label} <span class="hint">${isSet ? 'set — leave empty to keep it' : 'not set'}; write-only, never shown</span></label>
<input type="password" id="${name}" name="${name}" value="" autocomplete="new-password">`
}

function option (value: string, label: string, current: string): Html {
  return h`<option value="${value}"${value === current ? ' selected' : ''}>${label}</option>`
}

function radio (name: string, value: string, label: string, current: string, hint: string): Html {
  return h`<div><input type="radio" id="${name}-${value}" name="${name}" value="${value}"${value === current ? ' checked' : ''}> <label for="${name}-${value}" style="display:inline;font-weight:normal">${label} <span class="hint">${hint}</span></label></div>`
}

export function aliasForm (v: AliasFormValues, opts: { action: string, isNew: boolean, parents: string[], csrf?: string, issues?: FormIssue[] }): Html {
  const issues = opts.issues && opts.issues.length > 0
    ? h`<div class="error" role="alert"><strong>Not saved:</strong><ul>${opts.issues.map(i => h`<li>${i.path ? h`<code>${i.path}</code> ` : ''}${i.message}</li>`)}</ul></div>` : ''
  return h`${issues}<form method="post" action="${opts.action}">${csrfField(opts.csrf)}
<fieldset><legend>Connection</legend>
${opts.isNew ? text('id', 'Alias id', v.id, 'lower case letters, digits, _ and -, e.g. acme_prod') : ''}
${text('name', 'Connection name', v.name, 'e.g. Confluence Cloud Spoke Connection')}
${text('description', 'Description', v.description)}
<label for="parent">Parent alias <span class="hint">a child alias serves requests naming its parent while it is the active child</span></label>
<select id="parent" name="parent">${option('', '(none — a parent or standalone alias)', v.parent)}${opts.parents.map(p => option(p, p, v.parent))}</select>
<div><input type="checkbox" id="active" name="active"${v.active ? ' checked' : ''}> <label for="active" style="display:inline;font-weight:normal">Active child (requests naming the parent run as this alias)</label></div>
${text('connectionUrl', 'Connection URL', v.connectionUrl, 'Atlassian API gateway; empty = the default (https://api.atlassian.com/)')}
${text('siteUrl', 'Site URL', v.siteUrl, 'e.g. https://acme.atlassian.net — or leave empty and pick the site at consent')}
${text('cloudId', 'Site cloudId', v.cloudId, 'optional; wins over the URL')}
</fieldset>
<fieldset><legend>Credential (OAuth 2.0 app from the Atlassian developer console)</legend>
<label for="grant">Grant type</label><select id="grant" name="grant">${option('oauth2_authorization_code', 'Authorization code (3LO) — Get OAuth Token opens Atlassian\'s consent', v.grant)}
${option('oauth2_client_credentials', 'Client credentials (service account)', v.grant)}${option('', '(none — use the parent\'s credential)', v.grant)}</select>
${text('clientId', 'Client ID', v.clientId)}
${secret('clientSecret', 'Client secret', v.secretSet)}
<p><strong>Scopes</strong></p>
${radio('scopeSet', 'seed', 'The seed\'s defaults', v.scopeSet, SEED_SCOPES.join(' '))}
${radio('scopeSet', 'connector', 'The connector\'s granular read set (crawl)', v.scopeSet, CONNECTOR_SCOPES.join(' '))}
${radio('scopeSet', 'custom', 'This list:', v.scopeSet, 'one per line or separated by spaces')}
<textarea id="scopes" name="scopes" aria-label="Scopes">${v.scopes}</textarea>
${text('authorizeUrl', 'Authorize URL', v.authorizeUrl, 'empty = Atlassian\'s (authorization code only)')}
${text('tokenUrl', 'Token URL', v.tokenUrl, 'empty = Atlassian\'s https://auth.atlassian.com/oauth/token')}
</fieldset>
<fieldset><legend>Retry policy</legend>
<label for="strategy">Strategy</label><select id="strategy" name="strategy">${option('', '(default / parent\'s)', v.strategy)}${option('retry_after', 'retry_after — wait as Confluence says', v.strategy)}${option('exponential', 'exponential', v.strategy)}${option('fixed', 'fixed', v.strategy)}</select>
${text('maxAttempts', 'Max attempts', v.maxAttempts, '1–20')}${text('maxElapsedSeconds', 'Max elapsed seconds', v.maxElapsedSeconds, '1–86400')}${text('delaySeconds', 'Delay seconds', v.delaySeconds, 'fixed / exponential base')}
</fieldset>
<fieldset><legend>Organization admin (optional: managed accounts' emails for the crawl)</legend>
${text('orgId', 'Organization id', v.orgId)}${secret('orgApiKey', 'Organization admin API key', v.orgKeySet)}
</fieldset>
<div class="actions"><button type="submit" name="then" value="view">Save</button>
<button type="submit" name="then" value="token">Save and Get OAuth Token</button> <a href="${opts.isNew ? '/admin' : `/admin/aliases/${encodeURIComponent(v.id)}`}">Cancel</a></div></form>`
}
