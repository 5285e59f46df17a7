// API keys are held only as SHA-256 digests and compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { ApiKeyRole } from '../config/env'

export interface HashedApiKey { role: ApiKeyRole, sha256: string }

export function hashApiKey (key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

/** A short, non-reversible name for a key in audit log lines (8 hex digits of its SHA-256): who did it, never the key. */
export function keyFingerprint (key: string): string {
  return hashApiKey(key).slice(0, 8)
}

/**
 * What a console session remembers of the key that opened it (lib/sessions): derived from the key's digest,
 * so the configured keys can be matched without the key, and not the digest itself (what Redis holds says
 * nothing usable about the keys file). 128 bits: no two keys share one.
 */
function sessionBinding (digestHex: string): string {
  return createHash('sha256').update(`spoke-session-binding\0${digestHex}`).digest('hex').slice(0, 32)
}

/** A configured key as the console shows it: fingerprint and role, never the key. */
export interface KeyIdentity { role: ApiKeyRole, keyId: string, binding: string }

export class ApiKeyRing {
  private readonly digests: Array<{ role: ApiKeyRole, digest: Buffer, identity: KeyIdentity }>
  /** binding → the key's identity: the per-request re-check of a session is one Map lookup (no hashing). */
  private readonly byBinding = new Map<string, KeyIdentity>()
  constructor (keys: HashedApiKey[]) {
    this.digests = keys.map(k => {
      const hex = k.sha256.toLowerCase()
      const identity = { role: k.role, keyId: hex.slice(0, 8), binding: sessionBinding(hex) }
      // a key listed twice keeps its first role, as roleOf does
      if (!this.byBinding.has(identity.binding)) this.byBinding.set(identity.binding, identity)
      return { role: k.role, digest: Buffer.from(hex, 'hex'), identity }
    })
  }

  /** The role of a presented key, or undefined. Every stored digest is compared, so timing says nothing. */
  roleOf (presented: string): ApiKeyRole | undefined {
    return this.identify(presented)?.role
  }

  /** The configured key a presented one is (role, fingerprint, session binding), or undefined. */
  identify (presented: string): KeyIdentity | undefined {
    const digest = createHash('sha256').update(presented, 'utf8').digest()
    let found: KeyIdentity | undefined
    for (const k of this.digests) {
      if (timingSafeEqual(k.digest, digest) && found === undefined) found = k.identity
    }
    return found
  }

  /** The key a session is bound to, as configured now; undefined once it is no longer configured. */
  byBindingOf (binding: string): KeyIdentity | undefined {
    return this.byBinding.get(binding)
  }

  /** Every configured key (each once). */
  list (): KeyIdentity[] {
    return [...this.byBinding.values()]
  }
}
