// Drafts: the values of a console form kept on the server for a short while, so nothing typed is lost when a
// save must first be confirmed, is refused by validation, or arrives after the session ended (then the admin
// signs in again and lands on the same form, filled in, with a fresh CSRF token). A draft is the whole form,
// sealed with the master key (it may hold a client secret or an org key, which are never echoed into a page);
// its id is 32 random bytes, shown only in the admin's own page or sign-in link. Kept 30 minutes.
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { Keyring } from '../../lib/crypto'
import type { FormFields } from './context'

const TTL_SECONDS = 30 * 60
const DRAFT_ID = /^[A-Za-z0-9_-]{43}$/

export class DraftStore {
  private readonly keyring: Keyring
  constructor (private readonly redis: Redis, private readonly keyPrefix: string, masterKey: Buffer) {
    this.keyring = new Keyring(masterKey)
  }

  private key (id: string): string { return `${this.keyPrefix}:console:draft:${id}` }

  /** Keeps `fields` (less the CSRF token); `id` replaces an existing draft of the same form. */
  async save (fields: FormFields, id?: string): Promise<string> {
    const draftId = id !== undefined && DRAFT_ID.test(id) ? id : randomBytes(32).toString('base64url')
    const { _csrf: _ignored, draft: _draft, ...kept } = fields
    await this.redis.set(this.key(draftId), this.keyring.sealJson(kept, `draft:${draftId}`), 'EX', TTL_SECONDS)
    return draftId
  }

  async load (id: unknown): Promise<FormFields | undefined> {
    if (typeof id !== 'string' || !DRAFT_ID.test(id)) return undefined
    const sealed = await this.redis.get(this.key(id))
    if (sealed === null) return undefined
    try { return this.keyring.openJson<FormFields>(sealed, `draft:${id}`) } catch { return undefined }
  }

  async drop (id: unknown): Promise<void> {
    if (typeof id === 'string' && DRAFT_ID.test(id)) await this.redis.del(this.key(id))
  }
}
