// GET /v1/oauth/callback: the end of the consent. Public (Atlassian redirects the admin's browser here);
// protected by the single-use state. The connection layer answers a typed outcome; the status and the words
// of the small HTML page saying how it went are chosen here. The page offers the way on as links (back to the
// alias in the console, or a new consent for one site), never as API paths to type.
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../core'
import { traceparentOf } from '../plugins/tracing'
import { describeChoices } from '../connections/errors'
import type { CallbackQuery, ConsentOutcome } from '../connections/consent'
import type { SiteChoice } from '../connections/types'

/** What the page shows. */
interface ConsentPage { ok: boolean, status: number, alias?: string, title: string, message: string, choices?: SiteChoice[] }

const oauthRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  app.get<{ Querystring: CallbackQuery }>('/v1/oauth/callback', {
    config: { access: 'public' },
    schema: {
      tags: ['connections'],
      summary: 'OAuth 2.0 callback: finish the consent, store the tokens, bind the site',
      security: [],
      produces: ['text/html'],
      querystring: {
        type: 'object',
        properties: {
          code: { type: 'string', maxLength: 4096 },
          state: { type: 'string', maxLength: 256 },
          error: { type: 'string', maxLength: 256 },
          error_description: { type: 'string', maxLength: 2048 }
        }
      }
    }
  }, async (req, reply) => {
    const result = consentPage(await core.connections.consent.complete(req.query, traceparentOf(req)))
    return reply
      .code(result.status)
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
      .header('referrer-policy', 'no-referrer') // the URL carries the code and state
      .type('text/html; charset=utf-8')
      .send(page(result))
  })
}

const NO_REFRESH = ' Atlassian returned no refresh token (was offline_access granted?): the alias will need a new consent when this token expires.'

export function consentPage (o: ConsentOutcome): ConsentPage {
  switch (o.kind) {
    case 'invalid_state':
      return { ok: false, status: 400, title: 'Invalid sign-in link', message: 'The callback carries no valid state. Start again from "Get OAuth Token".' }
    case 'state_used_or_expired':
      return { ok: false, status: 400, title: 'Sign-in link already used or expired', message: 'This consent was already completed, or it is older than 10 minutes. Start again from "Get OAuth Token" on the alias\'s page in the admin console.' }
    case 'declined':
      if (o.error === 'invalid_scope') {
        return { ok: false, status: 400, alias: o.alias, title: 'Scopes refused (invalid_scope)', message: `Atlassian refused the scopes this alias asks for${o.description ? `: ${o.description}` : ''}. The app in the Atlassian developer console must have every scope the alias requests. Either remove the refused scopes from the alias (Edit), or add them to the app (developer console → your app → Permissions), then Get OAuth Token again. The alias's page lists the scopes to tick.` }
      }
      return { ok: false, status: 400, alias: o.alias, title: 'Consent not given', message: `Atlassian answered "${o.error}"${o.description ? `: ${o.description}` : ''}. Nothing was changed.` }
    case 'no_code':
      return { ok: false, status: 400, alias: o.alias, title: 'No authorization code', message: 'The callback carries no code. Start again.' }
    case 'alias_gone':
      return { ok: false, status: 404, alias: o.alias, title: 'Alias not found', message: `Alias "${o.alias}" was deleted during the consent.` }
    case 'alias_changed':
      return { ok: false, status: 409, alias: o.alias, title: 'Alias not ready', message: `Alias "${o.alias}" changed during the consent: ${o.problems.join('; ') || 'it no longer uses the authorization code grant'}.` }
    case 'exchange_failed':
      return o.clientRefused
        ? { ok: false, status: 502, alias: o.alias, title: 'Client id or secret refused', message: `Atlassian's token endpoint refused this alias's client credentials (${o.reason}): the client secret (or client id) is wrong. Edit the alias, enter the secret from the Atlassian developer console (Settings → Authentication details), save, and Get OAuth Token again.` }
        : { ok: false, status: 502, alias: o.alias, title: 'Code exchange failed', message: `The token endpoint refused the authorization code: ${o.reason}. Start again from "Get OAuth Token".` }
    case 'connected':
      return { ok: true, status: 200, alias: o.alias, title: 'Connected', message: `Alias "${o.alias}" is connected to ${o.site.url || o.site.cloudId}.${o.refreshToken ? '' : NO_REFRESH}` }
    case 'site_not_in_grant':
      return { ok: false, status: 409, alias: o.alias, choices: o.choices, title: 'Site not in the grant', message: `The grant does not reach ${o.want}. It reaches ${describeChoices(o.choices)}. Choose one of them on the alias's page, or authorize again for one site below.` }
    case 'sites_unknown':
      return { ok: false, status: 502, alias: o.alias, title: 'Tokens stored, site unknown', message: 'The tokens are stored, but the list of sites could not be read. The site is bound on the first call, or set the site\'s cloudId on the alias\'s page.' }
    case 'no_site':
      return { ok: false, status: 409, alias: o.alias, title: 'No Confluence site', message: 'The grant reaches no Confluence site. Approve the consent for a site with Confluence.' }
    case 'choose_site':
      return { ok: true, status: 200, alias: o.alias, choices: o.choices, title: 'Choose a site', message: `The grant reaches several Confluence sites: ${describeChoices(o.choices)}. Choose one on the alias's page, or authorize again for one site below.${o.refreshToken ? '' : NO_REFRESH}` }
  }
}

export function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

function page (r: ConsentPage): string {
  const choices = r.choices && r.choices.length > 0
    ? `<ul>${r.choices.map(c => `<li><code>${escapeHtml(c.url)}</code> — cloudId <code>${escapeHtml(c.cloudId)}</code>${c.name ? ` (${escapeHtml(c.name)})` : ''}${r.alias ? ` — <a href="/v1/connections/${encodeURIComponent(r.alias)}/authorize?site=${encodeURIComponent(c.url)}">authorize for this site</a>` : ''}</li>`).join('')}</ul>`
    : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(r.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
h1{font-size:1.4rem}p,li,code{overflow-wrap:anywhere}.ok{color:#216e39}.fail{color:#b42318}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body><h1 class="${r.ok ? 'ok' : 'fail'}">${escapeHtml(r.title)}</h1>
${r.alias ? `<p>Alias: <code>${escapeHtml(r.alias)}</code></p>` : ''}
<p>${escapeHtml(r.message)}</p>${choices}
<p>${r.alias ? `<a href="/admin/aliases/${encodeURIComponent(r.alias)}">Back to alias ${escapeHtml(r.alias)}</a> · ` : ''}<a href="/admin">Back to the admin console</a></p></body></html>
`
}

export default oauthRoutes
