// Job callbacks (docs/api.md#jobs): when a job ends, its JSON is POSTed to the request's callbackUrl, signed with
// `X-Spoke-Signature: sha256=<hex HMAC-SHA256 of the body with SPOKE_CALLBACK_SECRET>`. Deliveries are jobs
// of their own small queue, retried with exponential backoff; the delivery state is kept beside the job.
// Where a callback may go is the address policy's business (lib/address-policy): the host is resolved and
// checked when the job is accepted, and again at each delivery, which connects only to the checked addresses.
import { createHmac } from 'node:crypto'
import { request } from 'undici'
import type { Config } from '../config/env'
import { CallbackUrlForbiddenError, RequestInvalidError } from '../errors/errors'
import { AddressPolicy, AddressRefusedError, pinnedAgent } from '../lib/address-policy'

export interface CallbackState {
  state: 'pending' | 'delivered' | 'retrying' | 'failed'
  attempts: number
  lastError?: string
  deliveredAt?: string
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

const HOW_TO_ALLOW = 'an operator may allow private receivers with SPOKE_CALLBACK_ALLOW_PRIVATE or SPOKE_CALLBACK_ALLOWED_CIDRS'

/** At enqueue: a malformed URL is 400 REQUEST_INVALID, one whose host is not allowed 400 CALLBACK_URL_FORBIDDEN. */
export async function assertCallbackUrl (raw: string, policy: AddressPolicy): Promise<void> {
  const problem = callbackUrlProblem(raw)
  if (problem !== undefined) throw new RequestInvalidError(problem, { errors: [{ in: 'body', path: '/callbackUrl', message: problem }] })
  try {
    await policy.resolve(new URL(raw).hostname)
  } catch (err) {
    if (!(err instanceof AddressRefusedError)) throw err
    const message = `callbackUrl may not be called: ${err.message}`
    throw new CallbackUrlForbiddenError(`${message} (${HOW_TO_ALLOW})`, { errors: [{ in: 'body', path: '/callbackUrl', message }] })
  }
}

/** POST the signed body (redirects are not followed); throws with a short reason when the receiver does not answer 2xx. */
export async function deliver (url: string, body: string, secret: string, opts: { policy: AddressPolicy, timeoutMs: number }): Promise<number> {
  const problem = callbackUrlProblem(url)
  if (problem !== undefined) throw new Error(problem)
  // Resolved and checked again now (DNS may have changed since the job was accepted), and the connection
  // goes to exactly the addresses checked.
  const addresses = await opts.policy.resolve(new URL(url).hostname)
  const dispatcher = pinnedAgent(addresses)
  try {
    const res = await request(url, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', 'x-spoke-signature': sign(body, secret), 'user-agent': 'confluence-cloud-spoke' },
      body,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs
    })
    await res.body.dump()
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`the callback receiver answered ${res.statusCode}`)
    return res.statusCode
  } finally {
    await dispatcher.close().catch(() => {})
  }
}
