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
/** At most this much form is kept (the alias form is a few kB). */
const MAX_DRAFT_CHARS = 32_768
/**
 * A draft kept for a browser without a live session is bound to it by this cookie (HttpOnly, SameSite=Strict):
 * a link naming someone else's draft id opens nothing, so nobody can hand an admin a form filled in by them.
 */
export const DRAFT_COOKIE = 'spoke_draft'
const OWNER = '__owner'

export class DraftStore {
  private readonly keyring: Keyring
  constructor (private readonly redis: Redis, private readonly keyPrefix: string, masterKey: Buffer) {
    this.keyring = new Keyring(masterKey)
  }

  private key (id: string): string { return `${this.keyPrefix}:console:draft:${id}` }

  /**
   * Keeps `fields` (less the CSRF token); `id` replaces an existing draft of the same form; `owner` binds it to
   * the DRAFT_COOKIE value of the browser it was kept for. Undefined when the form is too large to keep.
   */
  async save (fields: FormFields, id?: string, owner?: string): Promise<string | undefined> {
    const draftId = id !== undefined && DRAFT_ID.test(id) ? id : randomBytes(32).toString('base64url')
    const { _csrf: _ignored, draft: _draft, [OWNER]: _owner, ...kept } = fields
    const json = JSON.stringify(owner !== undefined ? { ...kept, [OWNER]: owner } : kept)
    if (json.length > MAX_DRAFT_CHARS) return undefined
    await this.redis.set(this.key(draftId), this.keyring.seal(json, `draft:${draftId}`), 'EX', TTL_SECONDS)
    return draftId
  }

  /** The draft, when it exists and belongs to this browser (`cookieOwner`: its DRAFT_COOKIE value). */
  async load (id: unknown, cookieOwner?: string): Promise<FormFields | undefined> {
    if (typeof id !== 'string' || !DRAFT_ID.test(id)) return undefined
    const sealed = await this.redis.get(this.key(id))
    if (sealed === null) return undefined
    let form: FormFields
    try { form = this.keyring.openJson<FormFields>(sealed, `draft:${id}`) } catch { return undefined }
    const owner = form[OWNER]
    if (owner !== undefined && owner !== cookieOwner) return undefined
    const { [OWNER]: _owner, ...fields } = form
    return fields
  }

  /** A new owner value for DRAFT_COOKIE. */
  static newOwner (): string { return randomBytes(24).toString('base64url') }

  async drop (id: unknown): Promise<void> {
    if (typeof id === 'string' && DRAFT_ID.test(id)) await this.redis.del(this.key(id))
  }
}
