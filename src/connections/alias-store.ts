// Redis persistence of alias records, their sealed secrets and the parent → active child pointer (keys.ts).
import type { Redis } from 'ioredis'
import type { Keyring } from '../lib/crypto'
import { NO_REPLICATION_WAIT, type ReplicationWait } from '../lib/replication'
import { publishChange, type ConnectionKeys } from './keys'
import type { AliasRecord } from './types'

/** SET KEYS[1] ARGV[2] only while it still holds ARGV[1]: a re-seal never overwrites a concurrent write. */
const SET_IF_UNCHANGED = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2]) return 1 else return 0 end`

export type ResealOutcome = 'resealed' | 'current' | 'changed' | 'unreadable' | 'missing'

export class AliasStore {
  constructor (private readonly redis: Redis, private readonly keys: ConnectionKeys, private readonly keyring: Keyring, private readonly replication: ReplicationWait = NO_REPLICATION_WAIT) {}

  // ---- secrets (sealed with the alias id and the field name as associated data) --------------------
  seal (id: string, name: string, plain: string): string { return this.keyring.seal(plain, `conn:${id}:${name}`) }
  open (id: string, name: string, sealed: string): string { return this.keyring.open(sealed, `conn:${id}:${name}`) }

  /** The record's sealed secrets moved to the current master key (key rotation), unless it changed meanwhile. */
  async resealRecord (id: string): Promise<ResealOutcome> {
    const raw = await this.redis.get(this.keys.alias(id))
    if (raw === null) return 'missing'
    const rec = JSON.parse(raw) as AliasRecord
    const sealed: Record<string, string | undefined> = { ...rec.sealed }
    let moved = false
    for (const [name, value] of Object.entries(sealed)) {
      if (value === undefined || this.keyring.kidOf(value) === this.keyring.currentId) continue
      try { sealed[name] = this.keyring.reseal(value, `conn:${id}:${name}`) } catch { return 'unreadable' }
      moved = true
    }
    if (!moved) return 'current'
    const next = JSON.stringify({ ...rec, sealed })
    return Number(await this.redis.eval(SET_IF_UNCHANGED, 1, this.keys.alias(id), raw, next)) === 1 ? 'resealed' : 'changed'
  }

  // ---- records ------------------------------------------------------------------------------------
  async getRecord (id: string): Promise<AliasRecord | undefined> {
    const raw = await this.redis.get(this.keys.alias(id))
    return raw === null ? undefined : JSON.parse(raw) as AliasRecord
  }

  async listIds (): Promise<string[]> {
    return (await this.redis.smembers(this.keys.ids)).sort()
  }

  async listRecords (): Promise<AliasRecord[]> {
    const ids = await this.listIds()
    if (ids.length === 0) return []
    const raws = await this.redis.mget(ids.map(id => this.keys.alias(id)))
    return raws.flatMap(r => (r === null ? [] : [JSON.parse(r) as AliasRecord]))
  }

  /** The record and the active child of `id`, in one round trip (what the session cache loads). */
  async getWithActiveChild (id: string): Promise<{ record?: AliasRecord, activeChild?: string }> {
    const res = await this.redis.multi().get(this.keys.alias(id)).get(this.keys.active(id)).exec()
    const raw = res?.[0]?.[1] as string | null
    const activeChild = (res?.[1]?.[1] as string | null) ?? undefined
    return { record: raw ? JSON.parse(raw) as AliasRecord : undefined, activeChild }
  }

  /** Create or replace; `dropTokens` forgets tokens, site and choices (the credential changed). */
  async putRecord (rec: AliasRecord, opts: { dropTokens?: boolean } = {}): Promise<void> {
    const m = this.redis.multi()
      .set(this.keys.alias(rec.id), JSON.stringify(rec))
      .sadd(this.keys.ids, rec.id)
    if (opts.dropTokens) m.del(this.keys.tokens(rec.id))
    await m.exec()
    await this.replication.replicated(this.redis, this.keys.alias(rec.id), 'alias')
    await publishChange(this.redis, this.keys, rec.id)
  }

  /** The alias, its tokens, its refresh lock and its own active-child pointer. */
  async deleteAlias (id: string): Promise<boolean> {
    const res = await this.redis.multi()
      .del(this.keys.alias(id))
      .srem(this.keys.ids, id)
      .del(this.keys.tokens(id))
      .del(this.keys.lock(id))
      .del(this.keys.active(id))
      .exec()
    await publishChange(this.redis, this.keys, id)
    return Number(res?.[0]?.[1] ?? 0) > 0
  }

  // ---- parent → active child ----------------------------------------------------------------------
  async activeChild (parent: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.active(parent))) ?? undefined
  }

  async setActiveChild (parent: string, child: string): Promise<void> {
    await this.redis.set(this.keys.active(parent), child)
  }

  /** Clears the pointer only while it still names `child`. */
  async clearActiveChild (parent: string, child: string): Promise<void> {
    if (await this.activeChild(parent) === child) await this.redis.del(this.keys.active(parent))
  }

  /** A child changed: tell the parent's readers too. */
  async announce (id: string): Promise<void> {
    await publishChange(this.redis, this.keys, id)
  }
}
