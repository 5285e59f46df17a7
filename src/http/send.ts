// The outbound HTTP layer, below everything that calls out: one undici Agent (a keep-alive pool per origin)
// shared by the Confluence client, the token endpoint and accessible-resources. Redirects are never followed (SSRF).
// Network failures come back as UpstreamTimeoutError / UpstreamUnavailableError (both retryable).
import { Agent } from 'undici'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../errors/errors'

export interface HttpOptions {
  /** Default per-request timeout (headers and body each). */
  timeoutMs: number
  /** Sockets per origin. */
  connections?: number
}

export function createAgent (opts: HttpOptions): Agent {
  return new Agent({
    connections: opts.connections ?? 128,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connectTimeout: Math.min(opts.timeoutMs, 10_000),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs
  })
}

export interface RawResponse {
  status: number
  headers: Record<string, string>
  /** Parsed JSON when the answer is JSON, the text otherwise, null when empty; the unread stream when `stream` was asked and the answer is a 2xx. */
  body: unknown
}

export interface RawRequest {
  method: string
  url: URL | string
  /** The origin of `url` when the caller knows it already (saves parsing on the hot path). */
  origin?: string
  headers?: Record<string, string>
  /** A string, or a stream (an upload: sent as read, never buffered here). */
  body?: string | Readable
  timeoutMs?: number
  signal?: AbortSignal
  /** Hand a 2xx answer's body back unread (a file download); other answers are read as usual. */
  stream?: boolean
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

export function flattenHeaders (h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k in h) {
    const v = h[k]
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/** What to call the far end in error messages (never a query string: it may carry data). */
function where (url: URL | string): string {
  const u = typeof url === 'string' ? new URL(url) : url
  return `${u.origin}${u.pathname}`
}

export async function send (agent: Agent, req: RawRequest): Promise<RawResponse> {
  let origin: string
  let path: string
  if (typeof req.url === 'string' && req.origin !== undefined && req.url.startsWith(req.origin + '/')) {
    origin = req.origin
    path = req.url.slice(origin.length)
  } else {
    const u = typeof req.url === 'string' ? new URL(req.url) : req.url
    origin = u.origin
    path = u.pathname + u.search
  }
  try {
    const res = await agent.request({
      origin,
      path,
      method: req.method as 'GET',
      headers: req.headers,
      body: req.body,
      signal: req.signal,
      ...(req.timeoutMs !== undefined ? { headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs } : {})
    })
    const headers = flattenHeaders(res.headers)
    if (req.stream === true && res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, headers, body: res.body }
    const text = await res.body.text()
    let body: unknown = null
    if (text.length > 0) {
      const type = headers['content-type'] ?? ''
      if (type.includes('json')) {
        try { body = JSON.parse(text) } catch { body = text }
      } else {
        body = text
      }
    }
    return { status: res.statusCode, headers, body }
  } catch (err) {
    if (req.signal?.aborted) throw err
    throw networkError(err, req.method, where(req.url))
  }
}

export function networkError (err: unknown, method: string, target: string): Error {
  const e = err as { code?: string, name?: string, message?: string }
  if (e?.code !== undefined && TIMEOUT_CODES.has(e.code)) {
    return new UpstreamTimeoutError(`${method} ${target} did not answer in time (${e.code})`, { cause: err })
  }
  return new UpstreamUnavailableError(`${method} ${target} failed: ${e?.code ?? e?.message ?? 'network error'}`, { cause: err })
}
