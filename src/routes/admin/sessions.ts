// Console sessions per API key (lib/sessions): the configured keys by fingerprint and role, how many console
// sessions each has open, and the admin's "Sign out all sessions" of a key — for a key that leaked or whose
// holder left, before (or without) removing it from SPOKE_API_KEYS. Programs use the same POST with an admin
// key as bearer (no CSRF token needed then).
import type { FastifyPluginAsync } from 'fastify'
import { ADMIN_ONLY } from '../../config/roles'
import { NotFoundError } from '../../errors/errors'
import type { ApiKeyRing } from '../../lib/api-keys'
import type { SessionStore } from '../../lib/sessions'
import { audit, consoleUser, field, frameOf, requireCsrf } from './context'
import { h, page, postButton, sendPage } from './html'

const KEY_ID = /^[0-9a-f]{8}$/

const sessionPages: FastifyPluginAsync<{ keys: ApiKeyRing, sessions: SessionStore }> = async (app, { keys, sessions }) => {
  const config = { access: ADMIN_ONLY, browser: true }
  app.get('/admin/sessions', { config, schema: { hide: true } }, async (req, reply) => {
    const user = consoleUser(req)
    const rows = await Promise.all(keys.list().map(async k => {
      const open = await sessions.countOf(k.binding)
      return h`<tr><td><code>${k.keyId}</code></td><td>${k.role}</td><td>${String(open)}</td>
<td>${open > 0 ? postButton('/admin/sessions/sign-out', 'Sign out all sessions', user.csrf, { keyId: k.keyId }) : h`<span class="muted">none open</span>`}</td></tr>`
    }))
    return sendPage(reply, 200, page('Sessions · Confluence spoke', h`<h1>Console sessions</h1>
<p class="muted">Each API key by its fingerprint (the first 8 hex digits of its SHA-256, as in the audit log). A session follows its key: removing the key from SPOKE_API_KEYS ends its sessions, lowering its role lowers them.</p>
<table><thead><tr><th>Key</th><th>Role</th><th>Open sessions</th><th></th></tr></thead><tbody>${rows}</tbody></table>`, frameOf(user, req)))
  })

  app.post('/admin/sessions/sign-out', { config, schema: { hide: true } }, async (req, reply) => {
    const form = requireCsrf(req)
    const keyId = field(form, 'keyId').toLowerCase()
    const matching = KEY_ID.test(keyId) ? keys.list().filter(k => k.keyId === keyId) : []
    if (matching.length === 0) throw new NotFoundError(`No configured API key has the fingerprint "${keyId.slice(0, 16)}"`)
    let ended = 0
    for (const k of matching) ended += await sessions.destroyAllOf(k.binding)
    audit(req, 'signed out every session of a key', { keyId, sessionsEnded: ended })
    if (/text\/html/.test(req.headers.accept ?? '')) return reply.redirect('/admin/sessions?done=signedout', 303)
    return { keyId, sessionsEnded: ended }
  })
}

export default sessionPages
