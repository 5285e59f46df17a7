// A signed POST to a receiver someone else named (job callbacks, the crawl's webhook sink):
// `X-Spoke-Signature: sha256=<hex HMAC-SHA256 of the body with SPOKE_CALLBACK_SECRET>`, sent only to
// addresses the operator's address policy allows (lib/address-policy), resolved and checked at send time,
// and connected to exactly the addresses checked (no DNS rebinding).
import { createHmac } from 'node:crypto'
import { request } from 'undici'
import type { Config } from '../config/env'
import { AddressPolicy, pinnedAgent } from '../lib/address-policy'
import { httpClientAttributes, type Tracing } from '../lib/tracing'

export interface DeliverOptions {
  policy: AddressPolicy
  timeoutMs: number
  /** A client span per delivery when tracing is on, under `traceparent`; its own traceparent is sent (the receiver is the caller's). */
  tracing?: Tracing
  traceparent?: string
  /** What the delivery is, for the span: `callback` (job callbacks) or `webhook` (the crawl's sink). */
  operation?: 'callback' | 'webhook'
}

export function sign (body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** The operator's callback policy: public addresses only, unless SPOKE_CALLBACK_ALLOW_* / ALLOWED_CIDRS say more. */
export function callbackPolicy (config: Pick<Config, 'callbackAllowPrivate' | 'callbackAllowLinkLocal' | 'callbackAllowedCidrs'>): AddressPolicy {
  return new AddressPolicy({ allowPrivate: config.callbackAllowPrivate, allowLinkLocal: config.callbackAllowLinkLocal, allowedCidrs: config.callbackAllowedCidrs })
}

/** Why a callback URL is malformed (not http(s), credentials), or undefined. Where it points is checked apart. */
export function callbackUrlProblem (raw: string): string | undefined {
  let u: URL
  try { u = new URL(raw) } catch { return 'callbackUrl is not an absolute URL' }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'callbackUrl must be an http(s) URL'
  if (u.username !== '' || u.password !== '') return 'callbackUrl must not carry credentials'
  return undefined
}

/** POST the signed body (redirects are not followed); throws with a short reason when the receiver does not answer 2xx. */
export async function deliver (url: string, body: string, secret: string, opts: DeliverOptions): Promise<number> {
  const problem = callbackUrlProblem(url)
  if (problem !== undefined) throw new Error(problem)
  if (opts.tracing?.enabled !== true) return await post(url, body, secret, opts, undefined)
  // The host and port only: the path and query of a callback URL are the caller's, they may hold a token.
  const span = opts.tracing.start('POST', 'client', opts.traceparent, httpClientAttributes('POST', url, opts.operation ?? 'callback'))
  try {
    const status = await post(url, body, secret, opts, span.traceparent)
    span.setAttributes({ 'http.response.status_code': status })
    span.end()
    return status
  } catch (err) {
    const status = err instanceof ReceiverAnswer ? err.status : undefined
    if (status !== undefined) span.setAttributes({ 'http.response.status_code': status })
    span.end(status !== undefined ? String(status) : err)
    throw err
  }
}

/** A receiver's non-2xx answer (its status for the span; the message as before). */
class ReceiverAnswer extends Error {
  constructor (readonly status: number) { super(`the callback receiver answered ${status}`) }
}

async function post (url: string, body: string, secret: string, opts: DeliverOptions, traceparent: string | undefined): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-spoke-signature': sign(body, secret), 'user-agent': 'confluence-cloud-spoke' }
  if (traceparent !== undefined) headers.traceparent = traceparent
  // Resolved and checked again now (DNS may have changed since the job was accepted), and the connection
  // goes to exactly the addresses checked.
  const addresses = await opts.policy.resolve(new URL(url).hostname)
  const dispatcher = pinnedAgent(addresses)
  try {
    const res = await request(url, {
      method: 'POST',
      dispatcher,
      headers,
      body,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs
    })
    await res.body.dump()
    if (res.statusCode < 200 || res.statusCode >= 300) throw new ReceiverAnswer(res.statusCode)
    return res.statusCode
  } finally {
    await dispatcher.close().catch(() => {})
  }
}
