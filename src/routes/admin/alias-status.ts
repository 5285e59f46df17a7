// An alias's state in words and the next thing to do about it, as buttons and links for admins and as a sentence
// for viewers (who may not act). Shared by the alias list and the alias page.
import type { AliasView } from '../../connections'
import type { ConsoleUser } from './context'
import { type Html, h, postButton, when } from './html'

export const aliasPath = (id: string): string => `/admin/aliases/${encodeURIComponent(id)}`
/** "Get OAuth Token" of the authorization code grant: a plain link (a navigation, never a form post). */
export const consentLink = (id: string, site?: string): string =>
  `/v1/connections/${encodeURIComponent(id)}/authorize${site ? `?site=${encodeURIComponent(site)}` : ''}`

const LABELS: Record<string, [string, string]> = {
  active: ['Connected', 'ok'],
  expired: ['Token expired', 'warn'],
  needs_consent: ['Needs consent', 'bad'],
  needs_configuration: ['Needs configuration', 'bad'],
  refresh_failed: ['Refresh refused', 'bad']
}

const GRANTS: Record<string, string> = { oauth2_authorization_code: 'Authorization code (3LO)', oauth2_client_credentials: 'Client credentials' }

export function grantLabel (type: string | undefined): string {
  return type ? GRANTS[type] ?? type : 'inherited'
}


/** A child without its own credential uses its parent's grant; the view carries only its own document. */
export function effectiveGrant (a: AliasView, all: AliasView[] = []): string | undefined {
  return a.credential?.type ?? all.find(p => p.id === a.parent)?.credential?.type
}

/**
 * Status label, with the expiry only when a token is usable (never a future "until" on a refused token), in the
 * grant's words: a client-credentials alias without a token yet has "No token yet" (not "expired"), and its
 * refusal names the client id and secret (it has no refresh token).
 */
export function tokenState (a: AliasView, now = Date.now(), all: AliasView[] = []): Html {
  const t = a.token
  const cc = effectiveGrant(a, all) === 'oauth2_client_credentials'
  if (cc && t.status === 'expired' && !t.lastRefreshAt) return h`<span class="warn">No token yet</span><br><span class="muted">run "Get OAuth Token" (client credentials: no consent page)</span>`
  if (cc && t.status === 'refresh_failed') return h`<span class="bad">Token refused</span><br><span class="muted">Atlassian refused this alias's client id or client secret${t.error ? ` (${t.error})` : ''}: check both against the service account's OAuth 2.0 credentials</span>`
  const [label, cls] = LABELS[t.status] ?? [t.status, 'muted']
  const detail = t.status === 'active' ? h`<br><span class="muted">token valid until</span> ${when(t.expiresAt, now)}`
    : t.status === 'expired' && !cc ? h`<br><span class="muted">renewed with the refresh token on the next call</span>`
      : t.status === 'refresh_failed' ? h`<br><span class="muted">Atlassian refused the refresh token${t.error ? ` (${t.error})` : ''}; the last token is unusable</span>`
        : t.status === 'needs_consent' && t.consentError ? h`<br><span class="bad">Last "Get OAuth Token" failed: ${t.consentError}</span>`
          : ''
  return h`<span class="${cls}">${label}</span>${detail}`
}

/** What configuration is still missing (the alias layer's own words; status-derived problems are the next step). */
export function configProblems (a: AliasView): string[] {
  return a.token.status === 'needs_configuration' ? a.problems : a.problems.filter(p => p.startsWith('the stored tokens'))
}

export function nextStep (a: AliasView, user: ConsoleUser, all: AliasView[] = []): Html {
  const id = a.id
  const grant = effectiveGrant(a, all)
  const problems = configProblems(a)
  const say = (admin: Html, viewer: string): Html => user.isAdmin ? admin : h`<span class="muted">${viewer}</span>`
  // Requests naming a parent run as its active child: a child without a working token is what to fix first.
  const child = a.resolvesTo !== a.id ? all.find(x => x.id === a.resolvesTo) : undefined
  if (child && child.token.status !== 'active' && child.token.status !== 'expired') {
    return say(h`<a class="button" href="${aliasPath(child.id)}">Fix the active child ${child.id}</a>`, `The active child ${child.id} has no working token.`)
  }
  if (problems.length > 0) {
    return h`<ul class="bad">${problems.map(p => h`<li>${p}</li>`)}</ul>${say(h`<a class="button" href="${aliasPath(id)}/edit">Edit alias</a>`, 'An admin must complete the configuration.')}`
  }
  if (a.siteChoices && a.siteChoices.length > 0) {
    return say(h`<a class="button" href="${aliasPath(id)}#site">Choose the site</a>`, 'The grant reaches several sites: an admin must choose one.')
  }
  switch (a.token.status) {
    case 'needs_consent':
    case 'refresh_failed':
      if (grant === 'oauth2_authorization_code') {
        const again = a.token.status === 'refresh_failed' ? ' again' : ''
        return say(h`<a class="button" href="${consentLink(id)}">Get OAuth Token${again}</a>${a.token.consentError ? h` <a href="${aliasPath(id)}/edit">Edit the client secret</a>` : ''}`,
          'An admin must run "Get OAuth Token" (Atlassian consent).')
      }
      return say(postButton(`${aliasPath(id)}/token`, 'Get OAuth Token', user.csrf), 'An admin must run "Get OAuth Token".')
    case 'expired':
      if (grant !== 'oauth2_authorization_code') return say(postButton(`${aliasPath(id)}/token`, 'Get OAuth Token', user.csrf), 'No token yet: an admin must run "Get OAuth Token".')
      break
  }
  const groups = (a.managedGroups ?? []).length === 0
    ? say(h` <a class="button" href="${aliasPath(id)}/groups">Pick Confluence Groups</a>`, ' No managed groups yet.')
    : ''
  return h`${say(postButton(`${aliasPath(id)}/test`, 'Test connection', user.csrf), 'Ready.')}${groups}`
}

/**
 * The state requests naming `a` really meet: a parent with an active child runs as that child, so its state is
 * the child's (a green parent over a child without a token would be a lie).
 */
export function servingState (a: AliasView, all: AliasView[], now = Date.now()): Html {
  const child = a.resolvesTo !== a.id ? all.find(x => x.id === a.resolvesTo) : undefined
  if (!child) return tokenState(a, now, all)
  return h`${tokenState(child, now, all)}<br><span class="muted">requests run as the active child <a href="${aliasPath(child.id)}">${child.id}</a>; this alias's own token: ${a.token.status.replace(/_/g, ' ')}</span>`
}
