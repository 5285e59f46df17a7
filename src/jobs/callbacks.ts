// Job callbacks (docs/api.md#jobs): when a job ends, its JSON is POSTed to the request's callbackUrl, signed the
// Standard Webhooks way by http/signed-post (docs/webhooks.md). Deliveries are jobs
// of their own small queue, retried with exponential backoff; the delivery state is kept beside the job.
// Where a callback may go is the address policy's business (lib/address-policy): the host is resolved and
// checked when the job is accepted, and again at each delivery, which connects only to the checked addresses.
import { CallbackUrlForbiddenError, RequestInvalidError } from '../errors/errors'
import { AddressRefusedError, type AddressPolicy } from '../lib/address-policy'
import { callbackUrlProblem } from '../http/signed-post'

export { sign, callbackPolicy, callbackUrlProblem, deliver } from '../http/signed-post'

export interface CallbackState {
  state: 'pending' | 'delivered' | 'retrying' | 'failed'
  attempts: number
  lastError?: string
  deliveredAt?: string
}

const HOW_TO_ALLOW = 'an operator may allow private receivers with SPOKE_CALLBACK_ALLOW_PRIVATE or SPOKE_CALLBACK_ALLOWED_CIDRS'

/**
 * At enqueue: a malformed URL is 400 REQUEST_INVALID, one whose host is not allowed 400 CALLBACK_URL_FORBIDDEN.
 * The same check for every URL a job will deliver to: `callbackUrl`, a crawl's webhook `sink.url` (`field` names it).
 */
export async function assertCallbackUrl (raw: string, policy: AddressPolicy, field = { name: 'callbackUrl', path: '/callbackUrl' }): Promise<void> {
  const problem = callbackUrlProblem(raw)?.replace(/^callbackUrl/, field.name)
  if (problem !== undefined) throw new RequestInvalidError(problem, { errors: [{ in: 'body', path: field.path, message: problem }] })
  try {
    await policy.resolve(new URL(raw).hostname)
  } catch (err) {
    if (!(err instanceof AddressRefusedError)) throw err
    const message = `${field.name} may not be called: ${err.message}`
    throw new CallbackUrlForbiddenError(`${message} (${HOW_TO_ALLOW})`, { errors: [{ in: 'body', path: field.path, message }] })
  }
}

/** The webhook URL a job's input will deliver to (a crawl's `sink: { type: "webhook", url }`), if any. */
export function inputDeliveryUrl (input: Record<string, unknown>): string | undefined {
  const sink = input.sink as { type?: unknown, url?: unknown } | null | undefined
  return sink !== null && typeof sink === 'object' && sink.type === 'webhook' && typeof sink.url === 'string' ? sink.url : undefined
}

