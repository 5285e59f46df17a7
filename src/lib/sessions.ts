// Browser sessions for the pages a person opens (the admin page, the queue dashboard, the consent
// redirect): a random id in an HttpOnly SameSite=Strict cookie, only its SHA-256 digest in Redis, with
// the role of the API key that opened it. The JSON API stays bearer-only.
import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { ApiKeyRole } from '../config/env'

export const SESSION_COOKIE = 'spoke_session'
const TTL_SECONDS = 8 * 3600

export class SessionStore {
  constructor (private readonly redis: Redis, private readonly keyPrefix: string) {}

  private key (id: string): string {
    return `${this.keyPrefix}:session:${createHash('sha256').update(id).digest('hex')}`
  }

  async create (role: ApiKeyRole): Promise<{ id: string, maxAge: number }> {
    const id = randomBytes(32).toString('base64url')
    await this.redis.set(this.key(id), role, 'EX', TTL_SECONDS)
    return { id, maxAge: TTL_SECONDS }
  }

  async roleOf (id: string): Promise<ApiKeyRole | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined
    const role = await this.redis.get(this.key(id))
    return role === 'admin' || role === 'invoker' || role === 'viewer' ? role : undefined
  }

  async destroy (id: string): Promise<void> {
    if (/^[A-Za-z0-9_-]{43}$/.test(id)) await this.redis.del(this.key(id))
  }
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
