// Sealed secrets: AES-256-GCM under the master key (SPOKE_MASTER_KEY). Every sealed value names the key that
// sealed it (a short id derived from the key itself), so a new master key can be introduced while values
// sealed under the previous one still open; `reseal` moves a value to the current key.
//
// Format (ASCII, safe in JSON and Redis): `sv1.<kid>.<iv>.<tag>.<ciphertext>`, base64url parts.
// An optional context (e.g. `conn:acme:tokens`) is bound as AAD: a value copied under another alias or
// field does not open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const VERSION = 'sv1'
const IV_BYTES = 12

export class SealError extends Error {
  constructor (message: string) { super(message); this.name = 'SealError' }
}

/** The id of a key: the first 8 hex digits of SHA-256("spoke-kid" || key). Reveals nothing useful. */
export function keyId (key: Buffer): string {
  return createHash('sha256').update('spoke-kid').update(key).digest('hex').slice(0, 8)
}

export class Keyring {
  readonly currentId: string
  private readonly keys = new Map<string, Buffer>()

  /** `current` seals; `previous` keys only open (key rotation). */
  constructor (current: Buffer, previous: Buffer[] = []) {
    if (current.length !== 32) throw new SealError('the master key must be 32 bytes')
    this.currentId = keyId(current)
    this.keys.set(this.currentId, Buffer.from(current))
    for (const k of previous) {
      if (k.length !== 32) throw new SealError('every previous master key must be 32 bytes')
      const id = keyId(k)
      if (!this.keys.has(id)) this.keys.set(id, Buffer.from(k))
    }
  }

  seal (plaintext: string, context = ''): string {
    const key = this.keys.get(this.currentId) as Buffer
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(Buffer.from(context, 'utf8'))
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const tag = cipher.getAuthTag()
    return [VERSION, this.currentId, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.')
  }

  open (sealed: string, context = ''): string {
    const parts = typeof sealed === 'string' ? sealed.split('.') : []
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SealError('not a sealed value')
    const [, kid, ivB64, tagB64, ctB64] = parts
    const key = this.keys.get(kid)
    if (!key) throw new SealError(`sealed under an unknown key (kid ${kid}); was SPOKE_MASTER_KEY changed?`)
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivB64, 'base64url'))
      decipher.setAAD(Buffer.from(context, 'utf8'))
      decipher.setAuthTag(Buffer.from(tagB64, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(ctB64, 'base64url')), decipher.final()]).toString('utf8')
    } catch {
      throw new SealError('sealed value does not open (tampered, wrong key or wrong context)')
    }
  }

  /** The key id a sealed value was sealed with (undefined when it is not a sealed value). */
  kidOf (sealed: string): string | undefined {
    const parts = sealed.split('.')
    return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined
  }

  /** Re-seal under the current key when sealed under an older one; unchanged otherwise. */
  reseal (sealed: string, context = ''): string {
    return this.kidOf(sealed) === this.currentId ? sealed : this.seal(this.open(sealed, context), context)
  }

  sealJson (value: unknown, context = ''): string { return this.seal(JSON.stringify(value), context) }
  openJson<T> (sealed: string, context = ''): T { return JSON.parse(this.open(sealed, context)) as T }
}

/**
 * Previous master keys for rotation, from `SPOKE_MASTER_KEY_PREVIOUS` (comma-separated base64 keys).
 * Read here rather than in config/env.ts so the config contract stays as designed; invalid entries throw.
 */
export function previousKeysFromEnv (env: Record<string, string | undefined> = process.env): Buffer[] {
  const raw = env.SPOKE_MASTER_KEY_PREVIOUS?.trim()
  if (!raw) return []
  return raw.split(',').map(s => s.trim()).filter(Boolean).map((b64, i) => {
    const k = Buffer.from(b64, 'base64')
    if (k.length !== 32) throw new SealError(`SPOKE_MASTER_KEY_PREVIOUS entry ${i + 1} must decode to 32 bytes`)
    return k
  })
}
