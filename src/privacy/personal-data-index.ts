// PersonalDataIndex: every write point that stores an accountId (or a name or email next to one) calls
// `record` with where it stored it. One pipelined round trip per write point; nothing is copied but the id.
import type { Redis } from 'ioredis'
import { collectAccountIds } from './collect'
import { privacyKeys, WHERE_TTL_SECONDS, type PrivacyKeys } from './keys'

const CHUNK = 1_000
// KEYS: the index, then one "where" set per account; ARGV: time, reference, TTL, then the accountIds.
// Server side: a stored page of 200 members costs one round trip instead of 600 commands from the client.
const RECORD = `local n = #KEYS - 1
local args = {}
for i = 1, n do
  args[2 * i - 1] = ARGV[1]
  args[2 * i] = ARGV[3 + i]
  redis.call('SADD', KEYS[i + 1], ARGV[2])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[3])
end
redis.call('ZADD', KEYS[1], unpack(args))
return n`

interface RecordCommand { pdRecord: (numKeys: number, ...args: Array<string | number>) => Promise<number> }

export type PersonalDataRef = `job:${string}` | `idem:${string}` | `crawl:${string}`

export class PersonalDataIndex {
  readonly keys: PrivacyKeys
  /** Aliases this process already knows are indexed (saves an SADD per write). */
  private readonly known = new Set<string>()

  /** `onNewAlias` runs once per alias ever (it gets the default report schedule, see core.ts). */
  constructor (private readonly redis: Redis, private readonly keyPrefix: string, private readonly onNewAlias?: (alias: string) => void) {
    this.keys = privacyKeys(keyPrefix)
    // EVALSHA, with the script sent once per connection.
    if (typeof (redis as any).pdRecord !== 'function') redis.defineCommand('pdRecord', { lua: RECORD })
  }

  /** An Idempotency-Key response just stored (routes/actions.ts): the accounts in its output point at the replay. */
  async recordReplay (scope: string, key: string, response: { status: number, body: unknown }): Promise<void> {
    if (response.status !== 200) return
    const body = response.body as { output?: unknown, meta?: { connection?: { resolved?: string } } } | null
    const alias = body?.meta?.connection?.resolved
    // The record's key as actions/idempotency.ts writes it.
    if (alias !== undefined) await this.recordValue(alias, body?.output, `idem:${this.keyPrefix}:idem:${scope}:${key}`)
  }

  /** Registers `accountIds` as stored for `alias` at `ref`, now: one script call per 1,000 accounts. */
  async record (alias: string, accountIds: Iterable<string>, ref: PersonalDataRef, at = Date.now()): Promise<number> {
    const ids = Array.isArray(accountIds) ? accountIds as string[] : [...accountIds]
    if (ids.length === 0) return 0
    const index = this.keys.index(alias)
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK)
      await (this.redis as unknown as RecordCommand).pdRecord(1 + chunk.length, index, ...chunk.map((id) => this.keys.where(alias, id)), at, ref, WHERE_TTL_SECONDS, ...chunk)
    }
    if (!this.known.has(alias)) {
      this.known.add(alias)
      if (await this.redis.sadd(this.keys.aliases, alias) === 1) this.onNewAlias?.(alias)
    }
    return ids.length
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
