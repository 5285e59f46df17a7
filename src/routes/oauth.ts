// GET /v1/oauth/callback: the end of the consent. Public (Atlassian redirects the admin's browser here);
// protected by the single-use state. Answers a small HTML page saying how it went.
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../core'
import type { ConsentResult } from '../connections/service'

interface CallbackQuery { code?: string, state?: string, error?: string, error_description?: string }

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
    const result = await core.connections.completeConsent(req.query)
    return reply
      .code(result.status)
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8')
      .send(page(result))
  })
}

export function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

function page (r: ConsentResult): string {
  const choices = r.choices && r.choices.length > 0
    ? `<ul>${r.choices.map(c => `<li><code>${escapeHtml(c.url)}</code> — cloudId <code>${escapeHtml(c.cloudId)}</code>${c.name ? ` (${escapeHtml(c.name)})` : ''}${r.alias ? ` — <a href="/v1/connections/${encodeURIComponent(r.alias)}/authorize?site=${encodeURIComponent(c.url)}">authorize for this site</a>` : ''}</li>`).join('')}</ul>`
    : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(r.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
h1{font-size:1.4rem}.ok{color:#216e39}.fail{color:#b42318}code{background:#f3f3f3;padding:0 .2rem}</style></head>
<body><h1 class="${r.ok ? 'ok' : 'fail'}">${escapeHtml(r.title)}</h1>
${r.alias ? `<p>Alias: <code>${escapeHtml(r.alias)}</code></p>` : ''}
<p>${escapeHtml(r.message)}</p>${choices}
<p>You can close this page.</p></body></html>
`
}

export default oauthRoutes
