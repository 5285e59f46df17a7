// OpenTelemetry tracing, off by default. The hot path only ever sees the small `Tracing` interface below:
// with tracing off it is NO_TRACING, every caller checks `enabled` once and keeps the explicit W3C
// propagation of lib/trace-context.ts exactly as it is, and the SDK is never loaded. With tracing on
// (config/env.ts decides from the standard OTEL_* variables) core.ts builds the real one, lib/otel.ts,
// required lazily here, and hands it down like the metrics. Spans meet by their W3C traceparent strings:
// a span starts under the traceparent its caller passed and gives its own to what runs beneath it.

export type SpanKindName = 'server' | 'internal' | 'consumer' | 'client'
export type SpanAttributes = Record<string, string | number | boolean>

export interface TraceSpan {
  /** This span's W3C traceparent: what its children and its upstream request carry. */
  readonly traceparent: string
  setAttributes: (attrs: SpanAttributes) => void
  addEvent: (name: string, attrs?: SpanAttributes) => void
  /** Ends the span; with an error (or an error type string), marks it failed with the error's code (never its message). */
  end: (err?: unknown) => void
}

export interface Tracing {
  readonly enabled: boolean
  /** A span under `parent` (a valid traceparent), or the root of a new trace when there is none. */
  start: (name: string, kind: SpanKindName, parent: string | undefined, attrs?: SpanAttributes) => TraceSpan
  /** Exports what is still buffered, then stops (graceful close of the api and the worker). */
  shutdown: () => Promise<void>
}

/** Tracing off: nothing is loaded, nothing is started (callers check `enabled` and never call `start`). */
export const NO_TRACING: Tracing = {
  enabled: false,
  start: () => { throw new Error('tracing is off') },
  shutdown: async () => {}
}

export interface TracingSettings {
  /** OTLP over HTTP: protobuf (the OpenTelemetry default) or JSON. */
  protocol: 'http/protobuf' | 'http/json'
}

/** The OpenTelemetry SDK (lib/otel.ts) when settings are given, else NO_TRACING. */
export function createTracing (settings: TracingSettings | undefined): Tracing {
  if (settings === undefined) return NO_TRACING
  const otel = require('./otel') as typeof import('./otel')
  return otel.createOtelTracing(settings)
}

/**
 * The attributes of a client span for an HTTP request the spoke sends: method, the receiver's host and
 * port, the spoke's operation name and, when given, the route template. Never the path or the query.
 */
export function httpClientAttributes (method: string, url: string, operation: string, template?: string): SpanAttributes {
  const u = new URL(url)
  const attrs: SpanAttributes = {
    'http.request.method': method,
    'server.address': u.hostname,
    'server.port': u.port === '' ? (u.protocol === 'http:' ? 80 : 443) : Number(u.port),
    'spoke.operation': operation
  }
  if (template !== undefined) attrs['url.template'] = template
  return attrs
}

/** `error.type` of a failed span: an AppError's stable code, else the error's class name. */
export function errorType (err: unknown): string {
  if (typeof err === 'string') return err
  if (err !== null && typeof err === 'object') {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) return code
    const name = (err as { name?: unknown }).name
    if (typeof name === 'string') return name.slice(0, 64)
  }
  return 'Error'
}
