// What a crawl keeps in Redis, so the process holds no list of every id: per scope (alias + spaces + types)
// the watermark of the last complete run and, per space, the items last exported with their ACL hash; per
// run, the items seen so far (space by space) and the accounts to export. Deletions are the difference
// between the two, streamed with HSCAN.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { CrawlInput } from './types'

const RUN_TTL_SECONDS = 7 * 86400
const SCAN_COUNT = 500

/** A run's staged accounts and emails (personal data: erased by privacy/erase.ts for closed accounts). */
export function crawlRunKeys (keyPrefix: string, runId: string): { accounts: string, emails: string } {
  return { accounts: `${keyPrefix}:crawl:run:${runId}:accounts`, emails: `${keyPrefix}:crawl:run:${runId}:emails` }
}

/** One hash for the whole spoke: alias → unix seconds of its last complete run's window (one field per alias). */
const HSET_IF_LATER = `local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if cur == nil or tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end`

export function aliasWatermarksKey (keyPrefix: string): string { return `${keyPrefix}:crawl:watermarks` }

/** Every alias's last complete crawl watermark (unix seconds), as stored by whichever process completed it. */
export async function readAliasWatermarks (redis: Redis, keyPrefix: string): Promise<Array<[string, number]>> {
  const all = await redis.hgetall(aliasWatermarksKey(keyPrefix))
  return Object.entries(all).map(([alias, v]) => [alias, Number(v)] as [string, number]).filter(([, v]) => Number.isFinite(v))
}

/** Whether a run reads the attachments' comments: both types asked for, and not turned off. */
export const attachmentComments = (input: Pick<CrawlInput, 'types' | 'attachmentComments'>): boolean =>
  input.types.includes('attachment') && input.types.includes('comment') && input.attachmentComments !== false

export function scopeOf (alias: string, input: Pick<CrawlInput, 'spaces' | 'types' | 'attachmentComments'>): string {
  // a run without the attachments' comments keeps a state of its own (else its complete listing would delete
  // them from the other's); with them on (the default) the key is what it was before they existed
  const without = input.attachmentComments === false && attachmentComments({ ...input, attachmentComments: true }) ? ['no-attachment-comments'] : []
  const key = JSON.stringify([alias, [...(input.spaces?.include ?? [])].sort(), [...(input.spaces?.exclude ?? [])].sort(), [...input.types].sort(), ...without])
  return createHash('sha1').update(key).digest('hex').slice(0, 20)
}

export class CrawlState {
  private readonly base: string
  private readonly run: string
  private readonly aliasWatermarks: string

  /** `stored` registers the accounts a run stages in Redis (the personal-data index, docs/privacy.md). */
  constructor (private readonly redis: Redis, keyPrefix: string, scope: string, runId: string, private readonly stored: (accountIds: string[]) => Promise<void> = async () => {}) {
    this.base = `${keyPrefix}:crawl:${scope}`
    this.run = `${keyPrefix}:crawl:run:${runId}`
    this.aliasWatermarks = aliasWatermarksKey(keyPrefix)
  }

  async watermark (): Promise<string | null> { return await this.redis.get(`${this.base}:wm`) }
  /** The scope's watermark, and the alias's (what spoke_crawl_watermark_timestamp_seconds reads on scrape). */
  async setWatermark (value: string, alias: string): Promise<void> {
    await this.redis.set(`${this.base}:wm`, value)
    // Runs of one alias (other scopes, other processes) may end in any order: the alias keeps the latest.
    await this.redis.eval(HSET_IF_LATER, 1, this.aliasWatermarks, alias, String(Date.parse(value) / 1000))
  }

  /** After the site was lost: the next run is a full one, and exports every principal again. */
  async forgetSite (): Promise<void> { await this.redis.del(`${this.base}:wm`, `${this.base}:principals`) }

  private items (spaceId: string): string { return `${this.base}:items:${spaceId}` }
  private seen (spaceId: string): string { return `${this.run}:seen:${spaceId}` }
  /** Spaces this scope holds items of (so a space that leaves the crawl's view is noticed). */
  private spaces (): string { return `${this.base}:spaces` }
  /** Items of a space that failed (exported readable by nobody, or skipped): id → kind, retried next run. */
  private failed (spaceId: string): string { return `${this.base}:failed:${spaceId}` }
  private runFailed (spaceId: string): string { return `${this.run}:failed:${spaceId}` }

  /** Of these principal records, those whose content differs from what this scope last exported (hash per recordId). */
  async changedPrincipals (records: Array<{ recordId: string }>): Promise<{ changed: Array<{ recordId: string }>, hashes: Array<[string, string]> }> {
    if (records.length === 0) return { changed: [], hashes: [] }
    // keyed by a digest of the recordId, not the recordId: a user's is its accountId, which is not kept here
    const digest = (text: string): string => createHash('sha1').update(text).digest('base64url').slice(0, 16)
    const hashes = records.map((r): [string, string] => [digest(r.recordId), digest(JSON.stringify(r))])
    const stored = await this.redis.hmget(`${this.base}:principals`, ...hashes.map(([id]) => id))
    return { changed: records.filter((_, i) => stored[i] !== hashes[i][1]), hashes }
  }

  /** After the records were written: what was exported becomes what is stored. */
  async savePrincipals (hashes: Array<[string, string]>): Promise<void> {
    if (hashes.length > 0) await this.redis.hset(`${this.base}:principals`, Object.fromEntries(hashes))
  }

  async storedSpaces (): Promise<string[]> { return await this.redis.smembers(this.spaces()) }

  /** Every stored item of a space, a chunk at a time (for a space that left the crawl's view). */
  async * storedItems (spaceId: string): AsyncGenerator<Array<{ id: string, kind: string }>> {
    let cursor = '0'
    do {
      const [next, flat] = await this.redis.hscan(this.items(spaceId), cursor, 'COUNT', SCAN_COUNT)
      cursor = next
      const out: Array<{ id: string, kind: string }> = []
      for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i], kind: flat[i + 1].split('|')[0] })
      if (out.length > 0) yield out
    } while (cursor !== '0')
  }

  /** Forgets a space the crawl no longer sees (after its records were deleted or marked). */
  async dropSpace (spaceId: string): Promise<void> {
    await this.redis.del(this.items(spaceId), this.failed(spaceId))
    await this.redis.srem(this.spaces(), spaceId)
  }

  async markFailed (spaceId: string, entries: Array<{ id: string, kind: string }>): Promise<void> {
    if (entries.length === 0) return
    await this.redis.multi().hset(this.runFailed(spaceId), Object.fromEntries(entries.map((e) => [e.id, e.kind]))).expire(this.runFailed(spaceId), RUN_TTL_SECONDS).exec()
  }

  /** What failed in the space in earlier runs (and not yet read since). */
  async previousFailures (spaceId: string): Promise<Array<{ id: string, kind: string }>> {
    return Object.entries(await this.redis.hgetall(this.failed(spaceId))).map(([id, kind]) => ({ id, kind }))
  }

  /**
   * The space's failures after this run: a complete listing (or an incremental run, which retried every
   * earlier failure) replaces them with this run's; a partial listing keeps the earlier ones it did not reach.
   */
  private async commitFailures (spaceId: string, replace: boolean): Promise<void> {
    if (!replace) {
      let cursor = '0'
      do {
        const [next, flat] = await this.redis.hscan(this.seen(spaceId), cursor, 'COUNT', SCAN_COUNT)
        cursor = next
        const ids = flat.filter((_, i) => i % 2 === 0)
        if (ids.length > 0) await this.redis.hdel(this.failed(spaceId), ...ids)
      } while (cursor !== '0')
    } else await this.redis.del(this.failed(spaceId))
    const mine = await this.redis.hgetall(this.runFailed(spaceId))
    if (Object.keys(mine).length > 0) await this.redis.hset(this.failed(spaceId), mine)
    await this.redis.del(this.runFailed(spaceId))
  }

  /** Stored `<kind>|<aclHash>` of items, for the permissions pass. */
  async known (spaceId: string, ids: string[]): Promise<Array<string | null>> {
    return ids.length === 0 ? [] : await this.redis.hmget(this.items(spaceId), ...ids)
  }

  /** Items found gone mid-run (and emitted as deleted): no longer stored, so no later deletion repeats it. */
  async forget (spaceId: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.hdel(this.items(spaceId), ...ids)
  }

  async markSeen (spaceId: string, entries: Array<[string, string]>, accounts: string[]): Promise<void> {
    const m = this.redis.multi()
    if (entries.length > 0) m.hset(this.seen(spaceId), Object.fromEntries(entries)).expire(this.seen(spaceId), RUN_TTL_SECONDS)
    if (accounts.length > 0) m.sadd(`${this.run}:accounts`, ...accounts).expire(`${this.run}:accounts`, RUN_TTL_SECONDS)
    await Promise.all([m.exec(), this.stored(accounts)])
  }

  /** Items stored for the space but not seen by this (complete) listing, a chunk at a time. */
  async * unseen (spaceId: string): AsyncGenerator<Array<{ id: string, kind: string }>> {
    let cursor = '0'
    do {
      const [next, flat] = await this.redis.hscan(this.items(spaceId), cursor, 'COUNT', SCAN_COUNT)
      cursor = next
      const ids: string[] = []
      const kinds: string[] = []
      for (let i = 0; i < flat.length; i += 2) { ids.push(flat[i]); kinds.push(flat[i + 1].split('|')[0]) }
      if (ids.length === 0) continue
      const present = await this.redis.hmget(this.seen(spaceId), ...ids)
      const gone = ids.map((id, i) => ({ id, kind: kinds[i] })).filter((_, i) => present[i] === null)
      if (gone.length > 0) yield gone
    } while (cursor !== '0')
  }

  /** After a complete listing: what was seen becomes what is stored. Idempotent (a resumed commit finds nothing). */
  async replaceItems (spaceId: string): Promise<void> {
    await this.redis.sadd(this.spaces(), spaceId)
    const seen = this.seen(spaceId)
    // (failed items are seen too: no seen set left means a resumed commit that already ran)
    if (await this.redis.exists(seen) === 1) await this.commitFailures(spaceId, true)
    if (await this.redis.exists(seen) === 1) { await this.redis.rename(seen, this.items(spaceId)); await this.redis.persist(this.items(spaceId)) } else await this.redis.del(this.items(spaceId))
  }

  /** After a partial listing (or an incremental run): what was seen is added, nothing is removed. */
  async mergeItems (spaceId: string, retriedFailures = false): Promise<void> {
    await this.commitFailures(spaceId, retriedFailures)
    await this.redis.sadd(this.spaces(), spaceId)
    let cursor = '0'
    do {
      const [next, flat] = await this.redis.hscan(this.seen(spaceId), cursor, 'COUNT', SCAN_COUNT)
      cursor = next
      if (flat.length > 0) await this.redis.hset(this.items(spaceId), ...flat)
    } while (cursor !== '0')
    await this.redis.del(this.seen(spaceId))
  }

  /** Accounts to export, a chunk at a time (SSCAN may repeat one: the caller tolerates it). */
  async * accounts (): AsyncGenerator<string[]> {
    let cursor = '0'
    do {
      const [next, members] = await this.redis.sscan(`${this.run}:accounts`, cursor, 'COUNT', 100)
      cursor = next
      if (members.length > 0) yield members
    } while (cursor !== '0')
  }

  async addAccounts (accounts: string[]): Promise<void> {
    if (accounts.length > 0) await Promise.all([this.redis.multi().sadd(`${this.run}:accounts`, ...accounts).expire(`${this.run}:accounts`, RUN_TTL_SECONDS).exec(), this.stored(accounts)])
  }

  async saveEmails (entries: Array<[string, string]>): Promise<void> {
    if (entries.length > 0) await Promise.all([this.redis.multi().hset(`${this.run}:emails`, Object.fromEntries(entries)).expire(`${this.run}:emails`, RUN_TTL_SECONDS).exec(), this.stored(entries.map(([id]) => id))])
  }

  async emails (accountIds: string[]): Promise<Array<string | null>> {
    return accountIds.length === 0 ? [] : await this.redis.hmget(`${this.run}:emails`, ...accountIds)
  }

  async dropRun (spaceIds: string[]): Promise<void> {
    await this.redis.del(`${this.run}:accounts`, `${this.run}:emails`, ...spaceIds.flatMap((s) => [this.seen(s), this.runFailed(s)]))
  }
}

