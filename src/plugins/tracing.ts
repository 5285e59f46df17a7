// A server span per HTTP request when tracing is on (lib/tracing.ts), continuing the caller's W3C
// traceparent; the routes pass the span's own traceparent on to the engine or the job. Never registered
// with tracing off: then the request path is exactly what it was, and routes read the caller's header.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { parseTraceparent, traceIdOf } from '../lib/trace-context'
import type { SpanAttributes, TraceSpan, Tracing } from '../lib/tracing'

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's server span (tracing on only). */
    span?: TraceSpan
  }
}

/** The traceparent what this request runs should continue: its server span's, else the caller's (if valid). */
export function traceparentOf (req: FastifyRequest): string | undefined {
  return req.span !== undefined ? req.span.traceparent : parseTraceparent(req.headers.traceparent)
}

/** Probes and scrapes run every few seconds and call nothing upstream: spans of them would drown real traces. */
const UNTRACED_ROUTES = new Set(['/healthz', '/readyz', '/metrics'])

export function traceRequests (app: FastifyInstance, tracing: Tracing): void {
  app.decorateRequest('span', undefined)
  app.addHook('onRequest', async (req) => {
    // The route pattern, never the raw path (ids); none for a request no route matched.
    const route = req.routeOptions.url
    if (route !== undefined && UNTRACED_ROUTES.has(route)) return
    const incoming = parseTraceparent(req.headers.traceparent)
    const attrs: SpanAttributes = { 'http.request.method': req.method }
    if (route !== undefined) attrs['http.route'] = route
    const span = tracing.start(route === undefined ? req.method : `${req.method} ${route}`, 'server', incoming, attrs)
    req.span = span
    // A new trace: its id on the request's log lines too, as a caller's would be.
    if (incoming === undefined) req.log = req.log.child({ traceId: traceIdOf(span.traceparent) })
  })
  app.addHook('onResponse', async (req, reply) => {
    req.span?.setAttributes({ 'http.response.status_code': reply.statusCode })
    req.span?.end(reply.statusCode >= 500 ? String(reply.statusCode) : undefined)
  })
  app.addHook('onRequestAbort', async (req) => { req.span?.end('aborted') })
}
