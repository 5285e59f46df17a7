// The Atlassian app checklist on each alias page: what to register in Atlassian for this alias, in the order it is
// done — the callback URL (with a copy button), the scopes to tick under each API, the grant type, and for client
// credentials the service-account steps. The same facts GET /v1/connections/{alias}/setup answers as JSON.
import type { AliasView } from '../../connections'
import { actionNeeds, type ActionScopes } from '../../connections/scopes'
import { aliasPath, effectiveGrant, grantLabel } from './alias-status'
import { flagScopes, scopesByApi } from './console-scopes'
import { copyBox, h, type Html } from './html'

const codes = (list: readonly string[]): Html => list.length > 0 ? h`${list.map(s => h`<code>${s}</code> `)}` : h`<span class="muted">none</span>`

export function checklist (a: AliasView, all: AliasView[], publicUrl: string, actions: readonly ActionScopes[]): Html {
  const parent = a.parent ? all.find(p => p.id === a.parent) : undefined
  const c = a.credential ?? parent?.credential
  const grant = effectiveGrant(a, all)
  if (!c || !grant) return h`<section id="checklist"><h2>Atlassian app checklist</h2><p class="muted">Choose a grant type first (Edit).</p></section>`
  const scopes = c.scopes ?? []
  const by = scopesByApi(scopes)
  const flags = flagScopes(scopes, actions, grant)
  const lacking = actionNeeds(scopes, actions).filter(n => n.missing.length > 0)
  const inherited = a.credential ? '' : h`<p class="muted">This child uses the app of its parent <a href="${aliasPath(a.parent ?? '')}">${a.parent}</a>: one app, one checklist.</p>`
  const scopeItems = h`<ul><li>Confluence API: ${codes(by.confluence)}</li>
${by.identity.length > 0 ? h`<li>User identity API: ${codes(by.identity)}</li>` : ''}
${by.other.length > 0 ? h`<li>Also requested: ${codes(by.other)}${by.other.includes('offline_access') ? h` <span class="muted">(offline_access is not ticked: it comes with the consent and brings the refresh token)</span>` : ''}</li>` : ''}</ul>`
  const flagged = flags.length > 0
    ? h`<p class="warn" role="note">Look at these before the consent: ${flags.map(f => h`<code>${f.scope}</code> (${f.why}) `)}</p>` : ''
  const lack = lacking.length > 0
    ? h`<p class="muted">With these scopes ${lacking.length} action(s) cannot run: ${lacking.map(n => h`<code>${n.action}</code> `)}</p>` : ''
  const steps = grant === 'oauth2_authorization_code'
    ? h`<ol>
<li>developer.atlassian.com → Developer console → your OAuth 2.0 (3LO) integration (Create → OAuth 2.0 integration if there is none).</li>
<li>Authorization → OAuth 2.0 (3LO) → Configure → Callback URL:<br>${copyBox('callback-url', `${publicUrl}/v1/oauth/callback`, 'Callback URL')}</li>
<li>Permissions → add the APIs and tick these scopes:${scopeItems}${flagged}</li>
<li>Settings → Authentication details: copy the Client ID and the Secret into this alias (Edit).</li>
<li>"Get OAuth Token" here, signed in to Atlassian as a Confluence admin of the site, and approve the consent.</li></ol>`
    : h`<ol>
<li>admin.atlassian.com → Directory → Service accounts → create the service account (or open it).</li>
<li>Create credentials → OAuth 2.0 → tick these scopes:${scopeItems}${flagged}</li>
<li>Product access: give the service account Confluence on the site, and the groups it needs (group membership changes need it to be a site admin).</li>
<li>Copy the client ID and secret into this alias (Edit) and set its Site URL (no consent page chooses the site).</li>
<li>"Get OAuth Token" here: there is no callback URL and no consent with client credentials.</li></ol>`
  return h`<section id="checklist"><h2>Atlassian app checklist</h2><p>Grant type: <strong>${grantLabel(grant)}</strong></p>${inherited}${steps}${lack}</section>`
}
