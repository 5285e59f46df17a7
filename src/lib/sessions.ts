// Browser sessions for the pages a person opens (the admin console, the queue dashboard, the consent
// redirect): a random id in an HttpOnly SameSite=Strict cookie, only its SHA-256 digest in Redis, with
// the role of the API key that opened it, that key's fingerprint (for audit lines) and its binding
// (lib/api-keys): every request matches the binding against the keys configured now (plugins/auth), so a
// removed key ends its sessions and a lowered role lowers them. Each key's sessions are listed in a set, so
// an admin can sign every session of a key out at once. The JSON API stays bearer-only. Forms carry a CSRF
// token derived from the session id, so only a page rendered for this session can post them.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { ApiKeyRole } from '../config/env'

export const SESSION_COOKIE = 'spoke_session'
const TTL_SECONDS = 8 * 3600
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

/** Who a session is: the role of the key that opened it and the key's fingerprint (lib/api-keys). */
export interface SessionPrincipal { role: ApiKeyRole, keyId?: string }
/** A stored session: also the binding to the key that opened it. */
export interface StoredSession extends SessionPrincipal { binding: string }
const BINDING = /^[0-9a-f]{32}$/

export class SessionStore {
  constructor (private readonly redis: Redis, private readonly keyPrefix: string) {}

  private digestOf (id: string): string { return createHash('sha256').update(id).digest('hex') }
  private key (id: string): string { return this.keyOfDigest(this.digestOf(id)) }
  private keyOfDigest (digest: string): string { return `${this.keyPrefix}:session:${digest}` }
  /** The digests of the sessions a key opened (members may outlive their session: each is checked). */
  private indexKey (binding: string): string { return `${this.keyPrefix}:key-sessions:${binding}` }

  async create (role: ApiKeyRole, keyId: string, binding: string): Promise<{ id: string, maxAge: number }> {
    const id = randomBytes(32).toString('base64url')
    const digest = this.digestOf(id)
    // separate commands, not one MULTI: the two keys may live in different Redis Cluster slots
    await this.redis.set(this.keyOfDigest(digest), `${role}:${keyId}:${binding}`, 'EX', TTL_SECONDS)
    await this.redis.sadd(this.indexKey(binding), digest)
    await this.redis.expire(this.indexKey(binding), TTL_SECONDS)
    return { id, maxAge: TTL_SECONDS }
  }

  /** The stored session, or undefined. A session without a key binding (opened before sessions had one) is none. */
  async principalOf (id: string): Promise<StoredSession | undefined> {
    if (!SESSION_ID.test(id)) return undefined
    const value = await this.redis.get(this.key(id))
    if (value === null) return undefined
    const [role, keyId, binding] = value.split(':', 3)
    if (role !== 'admin' && role !== 'invoker' && role !== 'viewer') return undefined
    if (keyId === undefined || binding === undefined || !BINDING.test(binding)) return undefined
    return { role, keyId, binding }
  }

  async roleOf (id: string): Promise<ApiKeyRole | undefined> {
    return (await this.principalOf(id))?.role
  }

  /** Lowers a session's role for good (its key's role was lowered): restoring the key's role later does not raise it again. */
  async lower (id: string, to: StoredSession): Promise<void> {
    if (SESSION_ID.test(id)) await this.redis.set(this.key(id), `${to.role}:${to.keyId ?? ''}:${to.binding}`, 'KEEPTTL', 'XX')
  }

  /** The sessions of a key that are still open. */
  async countOf (binding: string): Promise<number> {
    const digests = await this.redis.smembers(this.indexKey(binding))
    const alive = await Promise.all(digests.map(async d => await this.redis.exists(this.keyOfDigest(d))))
    const gone = digests.filter((_, i) => alive[i] === 0)
    if (gone.length > 0) await this.redis.srem(this.indexKey(binding), ...gone) // expired or signed out: pruned here
    return digests.length - gone.length
  }

  /** Signs every session of a key out; answers how many were open. */
  async destroyAllOf (binding: string): Promise<number> {
    const digests = await this.redis.smembers(this.indexKey(binding))
    const ended = await Promise.all(digests.map(async d => await this.redis.del(this.keyOfDigest(d))))
    await this.redis.del(this.indexKey(binding))
    return ended.reduce((a, b) => a + b, 0)
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
