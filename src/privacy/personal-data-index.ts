// PersonalDataIndex: every write point that stores an accountId (or a name or email next to one) calls
// `record` with where it stored it. One pipelined round trip per write point; nothing is copied but the id.
import type { Redis } from 'ioredis'
import { collectAccountIds } from './collect'
import { privacyKeys, WHERE_TTL_SECONDS, type PrivacyKeys } from './keys'

export type PersonalDataRef = `job:${string}` | `idem:${string}` | `crawl:${string}`

export class PersonalDataIndex {
  readonly keys: PrivacyKeys
  /** Aliases this process already knows are indexed (saves an SADD per write). */
  private readonly known = new Set<string>()

  /** `onNewAlias` runs once per alias ever (it gets the default report schedule, see core.ts). */
  constructor (private readonly redis: Redis, private readonly keyPrefix: string, private readonly onNewAlias?: (alias: string) => void) {
    this.keys = privacyKeys(keyPrefix)
  }

  /** An Idempotency-Key response just stored (routes/actions.ts): the accounts in its output point at the replay. */
  async recordReplay (scope: string, key: string, response: { status: number, body: unknown }): Promise<void> {
    if (response.status !== 200) return
    const body = response.body as { output?: unknown, meta?: { connection?: { resolved?: string } } } | null
    const alias = body?.meta?.connection?.resolved
    // The record's key as actions/idempotency.ts writes it.
    if (alias !== undefined) await this.recordValue(alias, body?.output, `idem:${this.keyPrefix}:idem:${scope}:${key}`)
  }

  /** Registers `accountIds` as stored for `alias` at `ref`, now. */
  async record (alias: string, accountIds: Iterable<string>, ref: PersonalDataRef, at = Date.now()): Promise<number> {
    const m = this.redis.pipeline()
    let n = 0
    for (const id of accountIds) {
      const where = this.keys.where(alias, id)
      m.zadd(this.keys.index(alias), at, id).sadd(where, ref).expire(where, WHERE_TTL_SECONDS)
      n++
    }
    if (n === 0) return 0
    const fresh = !this.known.has(alias)
    if (fresh) m.sadd(this.keys.aliases, alias)
    const res = await m.exec()
    if (fresh) {
      this.known.add(alias)
      const added = res?.[res.length - 1]?.[1]
      if (added === 1) this.onNewAlias?.(alias)
    }
    return n
  }

  /** Registers every accountId found in `value` (see collect.ts). */
  async recordValue (alias: string, value: unknown, ref: PersonalDataRef): Promise<number> {
    const ids = collectAccountIds(value)
    return ids.size === 0 ? 0 : await this.record(alias, ids, ref)
  }

  async count (alias: string): Promise<number> { return await this.redis.zcard(this.keys.index(alias)) }

  async aliases (): Promise<string[]> { return await this.redis.smembers(this.keys.aliases) }

  /** Where the account's data lives (a small set: one entry per job, replay or crawl run). */
  async where (alias: string, accountId: string): Promise<string[]> { return await this.redis.smembers(this.keys.where(alias, accountId)) }

  /** The account leaves the index (after its data was erased). */
  async forget (alias: string, accountIds: string[]): Promise<void> {
    if (accountIds.length === 0) return
    await this.redis.multi().zrem(this.keys.index(alias), ...accountIds).del(...accountIds.map((id) => this.keys.where(alias, id))).exec()
  }
}
