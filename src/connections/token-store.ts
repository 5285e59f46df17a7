// Redis persistence of an alias's tokens, bound site and site choices, its refresh lock, and the OAuth
// consent state (keys.ts). The access and refresh token live in one sealed value written by one HSET, so a
// rotated refresh token is never stored apart from the access token it came with.
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Keyring } from '../lib/crypto'
import { NO_REPLICATION_WAIT, type ReplicationWait } from '../lib/replication'
import type { ResealOutcome } from './alias-store'
import { publishChange, type ConnectionKeys } from './keys'
import type { BoundSite, SiteChoice, TokenMeta, TokenSet } from './types'

export interface TokenState {
  set?: TokenSet
  meta: TokenMeta
  site?: BoundSite
  choices?: SiteChoice[]
  /** A token set is stored but does not open (master key changed without SPOKE_MASTER_KEY_PREVIOUS). */
  unreadable?: boolean
}

export interface OAuthState { alias: string, site?: string, redirectUri: string, createdAt: number }

export const STATE_TTL_MS = 10 * 60 * 1000

/** HSET the token set only while it is still the one read: a refresh that rotated it meanwhile wins. */
const HSET_SET_IF_UNCHANGED = `if redis.call('hget', KEYS[1], 'set') == ARGV[1] then redis.call('hset', KEYS[1], 'set', ARGV[2]) return 1 else return 0 end`
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

export class TokenStore {
  constructor (private readonly redis: Redis, private readonly keys: ConnectionKeys, private readonly keyring: Keyring, private readonly replication: ReplicationWait = NO_REPLICATION_WAIT) {}

  private tokKey (id: string): string { return this.keys.tokens(id) }
  private lockKey (id: string): string { return this.keys.lock(id) }
  private stateKey (state: string): string { return this.keys.state(state) }

  // ---- tokens -------------------------------------------------------------------------------------
  async readTokens (id: string): Promise<TokenState> {
    const h = await this.redis.hgetall(this.tokKey(id))
    return this.parseTokens(id, h)
  }

  private parseTokens (id: string, h: Record<string, string>): TokenState {
    const out: TokenState = { meta: h.meta ? JSON.parse(h.meta) as TokenMeta : {} }
    if (h.set) {
      try { out.set = this.keyring.openJson<TokenSet>(h.set, `conn:${id}:tokens`) } catch { out.unreadable = true }
    }
    if (h.site) out.site = JSON.parse(h.site) as BoundSite
    if (h.choices) out.choices = JSON.parse(h.choices) as SiteChoice[]
    return out
  }

  /** The sealed token set moved to the current master key (key rotation), unless a refresh replaced it meanwhile. */
  async resealTokens (id: string): Promise<ResealOutcome> {
    const sealed = await this.redis.hget(this.tokKey(id), 'set')
    if (sealed === null) return 'missing'
    if (this.keyring.kidOf(sealed) === this.keyring.currentId) return 'current'
    let next: string
    try { next = this.keyring.reseal(sealed, `conn:${id}:tokens`) } catch { return 'unreadable' }
    return Number(await this.redis.eval(HSET_SET_IF_UNCHANGED, 1, this.tokKey(id), sealed, next)) === 1 ? 'resealed' : 'changed'
  }

  /** The token set and its status in one HSET: never a refresh token without its access token. */
  async writeTokens (id: string, set: TokenSet, meta: TokenMeta, extra: { site?: BoundSite | null, choices?: SiteChoice[] | null } = {}): Promise<void> {
    const fields: Record<string, string> = {
      set: this.keyring.sealJson(set, `conn:${id}:tokens`),
      meta: JSON.stringify(meta)
    }
    if (extra.site) fields.site = JSON.stringify(extra.site)
    if (extra.choices) fields.choices = JSON.stringify(extra.choices)
    const m = this.redis.multi().hset(this.tokKey(id), fields)
    const drop: string[] = []
    if (extra.site === null) drop.push('site')
    if (extra.choices === null) drop.push('choices')
    if (drop.length > 0) m.hdel(this.tokKey(id), ...drop)
    await m.exec()
    // A rotated refresh token lost in a failover is a lost grant (the old one expires ~10 min later): on a replica first.
    await this.replication.replicated(this.redis, this.tokKey(id), 'token')
    await this.changed(id)
  }

  async writeMeta (id: string, meta: TokenMeta): Promise<void> {
    await this.redis.hset(this.tokKey(id), 'meta', JSON.stringify(meta))
    await this.changed(id)
  }

  async bindSite (id: string, site: BoundSite): Promise<void> {
    await this.redis.multi().hset(this.tokKey(id), 'site', JSON.stringify(site)).hdel(this.tokKey(id), 'choices').exec()
    await this.replication.replicated(this.redis, this.tokKey(id), 'token')
    await this.changed(id)
  }

  /** The sites a token reaches, kept while an admin must still choose one. */
  async storeChoices (id: string, choices: SiteChoice[]): Promise<void> {
    await this.redis.hset(this.tokKey(id), 'choices', JSON.stringify(choices))
  }

  async clearSite (id: string): Promise<void> {
    await this.redis.hdel(this.tokKey(id), 'site', 'choices')
    await this.changed(id)
  }

  // ---- refresh lock -------------------------------------------------------------------------------
  async tryLock (id: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(12).toString('hex')
    const ok = await this.redis.set(this.lockKey(id), token, 'PX', ttlMs, 'NX')
    return ok === 'OK' ? token : undefined
  }

  async unlock (id: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.lockKey(id), token)
  }

  // ---- OAuth state --------------------------------------------------------------------------------
  async putState (state: string, value: OAuthState): Promise<void> {
    await this.redis.set(this.stateKey(state), JSON.stringify(value), 'PX', STATE_TTL_MS)
  }

  /** Single use: the first caller gets it, every later one gets undefined. */
  async takeState (state: string): Promise<OAuthState | undefined> {
    const raw = await this.redis.getdel(this.stateKey(state))
    return raw === null ? undefined : JSON.parse(raw) as OAuthState
  }

  private async changed (id: string): Promise<void> {
    await publishChange(this.redis, this.keys, id)
  }
}
