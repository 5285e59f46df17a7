// Security headers on every answer (docs/api.md#operations): nosniff everywhere; on every HTML page (the
// console, the OAuth result page, Bull Board, Swagger UI) a CSP that allows nothing from outside hosts, no
// framing, a same-origin referrer and no caching. A page that sets its own stricter CSP keeps it.
// Referrer-Policy is same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with a
// form POST, and the same-origin check of cookie-authenticated changes (plugins/auth.ts) would refuse it.
import fp from 'fastify-plugin'

/** For pages that run their own scripts from this origin (Bull Board, Swagger UI). */
export const APP_PAGE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
  "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

export default fp(async (app) => {
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    if (!String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', APP_PAGE_CSP)
    if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'same-origin')
    reply.header('x-frame-options', 'DENY')
    reply.header('cache-control', 'no-store')
    return payload
  })
}, { name: 'security-headers' })
