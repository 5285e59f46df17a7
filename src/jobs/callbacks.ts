// Job callbacks (docs/api.md#jobs): when a job ends, its JSON is POSTed to the request's callbackUrl, signed with
// `X-Spoke-Signature: sha256=<hex HMAC-SHA256 of the body with SPOKE_CALLBACK_SECRET>`. Deliveries are jobs
// of their own small queue, retried with exponential backoff; the delivery state is kept beside the job.
import { createHmac } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { request } from 'undici'
import { RequestInvalidError } from '../errors/errors'

export interface CallbackState {
  state: 'pending' | 'delivered' | 'retrying' | 'failed'
  attempts: number
  lastError?: string
  deliveredAt?: string
}

const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal'])

export function sign (body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** Link-local (169.254/16 — where cloud metadata lives — and fe80::/10) and the known metadata addresses. */
export function isLinkLocalOrMetadata (address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '')
  if (isIP(a) === 4) return a.startsWith('169.254.') || a === '100.100.100.200'
  if (isIP(a) === 6) {
    // IPv4-mapped, dotted or (as URL normalizes it) hex: ::ffff:169.254.169.254 = ::ffff:a9fe:a9fe
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
    if (mapped !== null) return isLinkLocalOrMetadata(mapped[1])
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a)
    if (hex !== null) {
      const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)]
      return isLinkLocalOrMetadata(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`)
    }
    return /^fe[89ab][0-9a-f]:/.test(a) || a === 'fd00:ec2::254'
  }
  return false
}

/** Why a callback URL is refused, or undefined. Checked at enqueue (400) and again, resolved, at delivery. */
export function callbackUrlProblem (raw: string, allowLinkLocal: boolean): string | undefined {
  let u: URL
  try { u = new URL(raw) } catch { return 'callbackUrl is not an absolute URL' }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'callbackUrl must be an http(s) URL'
  if (u.username !== '' || u.password !== '') return 'callbackUrl must not carry credentials'
  if (allowLinkLocal) return undefined
  const host = u.hostname.toLowerCase()
  if (METADATA_HOSTS.has(host) || isLinkLocalOrMetadata(host)) {
    return `callbackUrl may not point at a link-local or metadata address (${host}); set SPOKE_CALLBACK_ALLOW_LINK_LOCAL=true to allow it`
  }
  return undefined
}

export function assertCallbackUrl (raw: string, allowLinkLocal: boolean): void {
  const problem = callbackUrlProblem(raw, allowLinkLocal)
  if (problem !== undefined) throw new RequestInvalidError(problem, { errors: [{ in: 'body', path: '/callbackUrl', message: problem }] })
}

/** POST the signed body (redirects are not followed); throws with a short reason when the receiver does not answer 2xx. */
export async function deliver (url: string, body: string, secret: string, opts: { allowLinkLocal: boolean, timeoutMs: number }): Promise<number> {
  const problem = callbackUrlProblem(url, opts.allowLinkLocal)
  if (problem !== undefined) throw new Error(problem)
  if (!opts.allowLinkLocal) {
    // A name may resolve somewhere it should not (DNS is not ours): check where it points now.
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    if (isIP(host) === 0) {
      const addresses = await lookup(host, { all: true })
      const bad = addresses.find(a => isLinkLocalOrMetadata(a.address))
      if (bad !== undefined) throw new Error(`callbackUrl host ${host} resolves to a link-local address (${bad.address})`)
    }
  }
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-spoke-signature': sign(body, secret), 'user-agent': 'confluence-cloud-spoke' },
    body,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs
  })
  await res.body.dump()
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`the callback receiver answered ${res.statusCode}`)
  return res.statusCode
}
