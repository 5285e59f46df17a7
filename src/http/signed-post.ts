// The one way the spoke delivers to a receiver someone else named (job callbacks, the crawl's webhook sink,
// and whatever delivers later): a POST signed the Standard Webhooks way (docs/webhooks.md) — `webhook-id`
// (the message, the same on every retry), `webhook-timestamp` (this attempt, Unix seconds) and
// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` — so a receiver can refuse an old or
// replayed delivery. Sent only to addresses the operator's address policy allows (lib/address-policy),
// resolved and checked at send time, and connected to exactly the addresses checked (no DNS rebinding).
// The older body-only `X-Spoke-Signature` is still sent for this release, for receivers not yet moved.
import { createHmac } from 'node:crypto'
import { request } from 'undici'
import type { Config } from '../config/env'
import { AddressPolicy, AddressRefusedError, pinnedAgent } from '../lib/address-policy'
import { httpClientAttributes, type Tracing } from '../lib/tracing'

export interface DeliverOptions {
  policy: AddressPolicy
  timeoutMs: number
  /** A client span per delivery when tracing is on, under `traceparent`; its own traceparent is sent (the receiver is the caller's). */
  tracing?: Tracing
  traceparent?: string
  /** What the delivery is, for the span: `callback` (job callbacks) or `webhook` (the crawl's sink). */
  operation?: 'callback' | 'webhook'
  /** The message's `webhook-id`: the same on every retry of one message, so the receiver can drop repeats. */
  messageId: string
  /** The attempt's time (default now); `webhook-timestamp` is its Unix seconds. */
  now?: Date
}

/** The deprecated body-only signature (`X-Spoke-Signature`), kept one release for existing receivers. */
export function sign (body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

const WHSEC_PREFIX = 'whsec_'

/**
 * The HMAC key of a secret, as the Standard Webhooks specification says: a secret written `whsec_<base64>`
 * is the base64-decoded bytes; any other SPOKE_CALLBACK_SECRET is used as its UTF-8 bytes (receivers pass
 * `whsec_` + its base64 to their verifier, docs/webhooks.md).
 */
export function signingKey (secret: string): Buffer {
  return secret.startsWith(WHSEC_PREFIX) ? Buffer.from(secret.slice(WHSEC_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8')
}

/** The three Standard Webhooks headers of one attempt of a message. */
export function webhookHeaders (messageId: string, body: string, secret: string, now: Date = new Date()): { 'webhook-id': string, 'webhook-timestamp': string, 'webhook-signature': string } {
  const timestamp = String(Math.floor(now.getTime() / 1000))
  const signature = createHmac('sha256', signingKey(secret)).update(`${messageId}.${timestamp}.${body}`).digest('base64')
  return { 'webhook-id': messageId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` }
}

/** The policy refused the receiver's address (or its URL is malformed): no retry can change that. */
export class DeliveryRefusedError extends Error {
  constructor (message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'DeliveryRefusedError' }
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
  if (problem !== undefined) throw new DeliveryRefusedError(problem)
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
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...webhookHeaders(opts.messageId, body, secret, opts.now),
    'x-spoke-signature': sign(body, secret),
    'user-agent': 'confluence-cloud-spoke'
  }
  if (traceparent !== undefined) headers.traceparent = traceparent
  // Resolved and checked again now (DNS may have changed since the job was accepted), and the connection
  // goes to exactly the addresses checked.
  let addresses: Awaited<ReturnType<AddressPolicy['resolve']>>
  try {
    addresses = await opts.policy.resolve(new URL(url).hostname)
  } catch (err) {
    if (err instanceof AddressRefusedError && !err.unresolved) throw new DeliveryRefusedError(`the receiver may not be called: ${err.message}`, { cause: err })
    throw err
  }
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
