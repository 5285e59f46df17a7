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

export class ApiKeyRing {
  private readonly digests: Array<{ role: ApiKeyRole, digest: Buffer }>
  constructor (keys: HashedApiKey[]) {
    this.digests = keys.map(k => ({ role: k.role, digest: Buffer.from(k.sha256, 'hex') }))
  }

  /** The role of a presented key, or undefined. Every stored digest is compared, so timing says nothing. */
  roleOf (presented: string): ApiKeyRole | undefined {
    const digest = createHash('sha256').update(presented, 'utf8').digest()
    let found: ApiKeyRole | undefined
    for (const k of this.digests) {
      if (timingSafeEqual(k.digest, digest) && found === undefined) found = k.role
    }
    return found
  }
}
