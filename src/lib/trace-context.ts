// W3C Trace Context (https://www.w3.org/TR/trace-context/): a caller's `traceparent` is continued through
// the route, the engine, the job (its data carries the header, nothing else) and every upstream request,
// and its trace id is bound to the log lines of that request or job. Passed explicitly, never through
// AsyncLocalStorage (README design notes): a request without the header costs one header lookup.
import { randomBytes } from 'node:crypto'
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/** The header when it is a valid version-00 traceparent (ids not all zero), else undefined: a bad one is dropped, as the spec says. */
export function parseTraceparent (header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length !== 55) return undefined
  const m = TRACEPARENT.exec(header)
  if (m === null || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined
  return header
}

/** The trace id of a valid traceparent. */
export function traceIdOf (traceparent: string): string {
  return traceparent.slice(3, 35)
}

/**
 * A fresh traceparent for work nobody asked for over HTTP (a schedule's tick) when tracing is off: random ids,
 * flags 00 (not sampled: no span was recorded), so the job's log lines still share one traceId.
 */
export function newTraceparent (): string {
  const ids = randomBytes(24).toString('hex')
  return `00-${ids.slice(0, 32)}-${ids.slice(32)}-00`
}
