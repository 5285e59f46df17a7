// Browser sessions for the pages a person opens (the admin console, the queue dashboard, the consent
// redirect): a random id in an HttpOnly SameSite=Strict cookie, only its SHA-256 digest in Redis, with
// the role of the API key that opened it and that key's fingerprint (for audit lines). The JSON API stays
// bearer-only. Forms carry a CSRF token derived from the session id, so only a page rendered for this
// session can post them.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { ApiKeyRole } from '../config/env'

export const SESSION_COOKIE = 'spoke_session'
const TTL_SECONDS = 8 * 3600
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

/** Who a session is: the role of the key that opened it and the key's fingerprint (lib/api-keys). */
export interface SessionPrincipal { role: ApiKeyRole, keyId?: string }

export class SessionStore {
  constructor (private readonly redis: Redis, private readonly keyPrefix: string) {}

  private key (id: string): string {
    return `${this.keyPrefix}:session:${createHash('sha256').update(id).digest('hex')}`
  }

  async create (role: ApiKeyRole, keyId?: string): Promise<{ id: string, maxAge: number }> {
    const id = randomBytes(32).toString('base64url')
    await this.redis.set(this.key(id), keyId ? `${role}:${keyId}` : role, 'EX', TTL_SECONDS)
    return { id, maxAge: TTL_SECONDS }
  }

  async principalOf (id: string): Promise<SessionPrincipal | undefined> {
    if (!SESSION_ID.test(id)) return undefined
    const value = await this.redis.get(this.key(id))
    if (value === null) return undefined
    const [role, keyId] = value.split(':', 2)
    if (role !== 'admin' && role !== 'invoker' && role !== 'viewer') return undefined
    return keyId ? { role, keyId } : { role }
  }

  async roleOf (id: string): Promise<ApiKeyRole | undefined> {
    return (await this.principalOf(id))?.role
  }

  async destroy (id: string): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.del(this.key(id))
  }
}

/** The CSRF token of a session: one-way from the id (the page learns nothing about the cookie). */
export function csrfToken (sessionId: string): string {
  return createHash('sha256').update(`csrf\0${sessionId}`).digest('base64url')
}

export function csrfTokenMatches (sessionId: string | undefined, presented: unknown): boolean {
  if (sessionId === undefined || typeof presented !== 'string') return false
  const want = Buffer.from(csrfToken(sessionId))
  const got = Buffer.from(presented)
  return got.length === want.length && timingSafeEqual(got, want)
}

/** The cookie's value, or undefined; never throws (a malformed value is anyone's to send: it is no session). */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try { return decodeURIComponent(part.slice(eq + 1).trim()) } catch { return undefined }
    }
  }
  return undefined
}

export function sessionCookie (id: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`
}
