// Where triggers keep their state, in Redis under the spoke's key prefix (one hash slot, so a MULTI spans it):
// - `triggers` hash: subscription id → definition (JSON);
// - per site (connection alias) `triggers:site:<alias>`: the poll's watermark `since`, the frozen upper bound
//   `until` of a poll under way, the site's time zone; `triggers:seen:<alias>`: content id → last version
//   seen (`c:<comment id>` → its container, for comments); `triggers:trashed:<alias>`: ids seen in the trash;
//   `triggers:spaces:<alias>` space id → key, `triggers:space-of:<alias>` content id → space id;
// - per site (cloudId) `triggers:acl:<cloudId>`: content id → the last ACL change queued (permissions.ts);
// - per subscription `triggers:out:<id>` (events detected, not yet acknowledged: the head is the watermark),
//   `triggers:dead:<id>` (dead letters), `triggers:stats:<id>` (counters, outage clock), `triggers:log:<id>`
//   (the last deliveries).
import type { Redis } from 'ioredis'
import type { DeadLetter, DeliveryRecord, Subscription, TriggerEvent } from './types'

const LOG_KEEP = 20

export class TriggerStore {
  readonly defsKey: string
  constructor (readonly redis: Redis, private readonly prefix: string) { this.defsKey = `${prefix}:triggers` }

  siteKey (alias: string): string { return `${this.defsKey}:site:${alias}` }
  seenKey (alias: string): string { return `${this.defsKey}:seen:${alias}` }
  trashedKey (alias: string): string { return `${this.defsKey}:trashed:${alias}` }
  spacesKey (alias: string): string { return `${this.defsKey}:spaces:${alias}` }
  /** content id → space id (learned from the window's results; comments name their container only). */
  spaceOfKey (alias: string): string { return `${this.defsKey}:space-of:${alias}` }
  /** content id → `<n>|<before>|<after>`: the last ACL change queued for the item (by any crawl of the site). */
  aclKey (cloudId: string): string { return `${this.defsKey}:acl:${cloudId}` }
  outKey (id: string): string { return `${this.defsKey}:out:${id}` }
  deadKey (id: string): string { return `${this.defsKey}:dead:${id}` }
  statsKey (id: string): string { return `${this.defsKey}:stats:${id}` }
  logKey (id: string): string { return `${this.defsKey}:log:${id}` }
  lockKey (id: string): string { return `${this.defsKey}:lock:${id}` }

  async get (id: string): Promise<Subscription | undefined> {
    const raw = await this.redis.hget(this.defsKey, id)
    return raw === null ? undefined : JSON.parse(raw) as Subscription
  }

  async list (): Promise<Subscription[]> {
    const all = await this.redis.hgetall(this.defsKey)
    return Object.values(all).map((v) => JSON.parse(v) as Subscription).sort((a, b) => a.id.localeCompare(b.id))
  }

  async put (sub: Subscription): Promise<void> { await this.redis.hset(this.defsKey, sub.id, JSON.stringify(sub)) }

  async delete (id: string): Promise<void> {
    await this.redis.multi().hdel(this.defsKey, id).del(this.outKey(id), this.deadKey(id), this.statsKey(id), this.logKey(id), this.lockKey(id)).exec()
  }

  async stats (id: string): Promise<Record<string, string>> { return await this.redis.hgetall(this.statsKey(id)) }

  /** Pending events (not acknowledged) and the oldest one's detection time. */
  async pending (id: string): Promise<{ count: number, oldest?: TriggerEvent }> {
    const [count, head] = await Promise.all([this.redis.llen(this.outKey(id)), this.redis.lindex(this.outKey(id), 0)])
    return { count, oldest: head === null ? undefined : JSON.parse(head) as TriggerEvent }
  }

  async head (id: string, n: number): Promise<TriggerEvent[]> {
    return (await this.redis.lrange(this.outKey(id), 0, n - 1)).map((r) => JSON.parse(r) as TriggerEvent)
  }

  /** The receiver acknowledged the first `n` events: they leave the outbox (the watermark moves), in one step with the record. */
  async acknowledged (id: string, events: TriggerEvent[], record: DeliveryRecord): Promise<void> {
    await this.redis.multi()
      .ltrim(this.outKey(id), events.length, -1)
      .hincrby(this.statsKey(id), 'delivered', events.length)
      .hset(this.statsKey(id), 'lastDeliveredEventId', events[events.length - 1].id, 'lastDeliveredAt', record.at, 'attempts', '0')
      .hdel(this.statsKey(id), 'downSince')
      .lpush(this.logKey(id), JSON.stringify(record)).ltrim(this.logKey(id), 0, LOG_KEEP - 1)
      .exec()
  }

  /** A failed attempt: counted, logged; the outage clock starts at the first. Returns [attempts, downSince]. */
  async failed (id: string, record: DeliveryRecord): Promise<{ attempts: number, downSince: number }> {
    const res = await this.redis.multi()
      .hincrby(this.statsKey(id), 'failures', 1)
      .hincrby(this.statsKey(id), 'attempts', 1)
      .hsetnx(this.statsKey(id), 'downSince', String(Date.parse(record.at)))
      .hget(this.statsKey(id), 'downSince')
      .lpush(this.logKey(id), JSON.stringify(record)).ltrim(this.logKey(id), 0, LOG_KEEP - 1)
      .exec()
    return { attempts: Number(res?.[1]?.[1] ?? 1), downSince: Number(res?.[3]?.[1] ?? Date.parse(record.at)) }
  }

  /** The first `events.length` pending events become one dead letter (the watermark moves past them). */
  async deadLetter (id: string, letter: DeadLetter): Promise<void> {
    await this.redis.multi()
      .ltrim(this.outKey(id), letter.events.length, -1)
      .rpush(this.deadKey(id), JSON.stringify(letter))
      .hincrby(this.statsKey(id), 'deadLetters', letter.events.length)
      .hset(this.statsKey(id), 'attempts', '0')
      .exec()
  }

  async deadLetters (id: string): Promise<DeadLetter[]> {
    return (await this.redis.lrange(this.deadKey(id), 0, -1)).map((r) => JSON.parse(r) as DeadLetter)
  }

  /** Every dead letter's events go back to the head of the outbox, oldest first; the outage clock restarts. */
  async replay (id: string): Promise<number> {
    const raw = await this.redis.lrange(this.deadKey(id), 0, -1)
    const events = raw.flatMap((r) => (JSON.parse(r) as DeadLetter).events)
    const m = this.redis.multi().ltrim(this.deadKey(id), raw.length, -1).hdel(this.statsKey(id), 'downSince').hset(this.statsKey(id), 'attempts', '0')
    // LPUSH puts each at the head: push the newest first so the oldest ends up first.
    for (let i = events.length - 1; i >= 0; i--) m.lpush(this.outKey(id), JSON.stringify(events[i]))
    await m.exec()
    return events.length
  }

  async recordTest (id: string, record: DeliveryRecord): Promise<void> {
    await this.redis.multi().lpush(this.logKey(id), JSON.stringify(record)).ltrim(this.logKey(id), 0, LOG_KEEP - 1).exec()
  }

  async lastDeliveries (id: string): Promise<DeliveryRecord[]> {
    return (await this.redis.lrange(this.logKey(id), 0, LOG_KEEP - 1)).map((r) => JSON.parse(r) as DeliveryRecord)
  }

  /** One delivery run per subscription at a time (a lease, released at the end or lapsing if the worker dies). */
  async lock (id: string, token: string, ms: number): Promise<boolean> {
    return await this.redis.set(this.lockKey(id), token, 'PX', ms, 'NX') === 'OK'
  }

  /** Extends a lease still held with `token`; false when it lapsed (another run may hold it now). */
  async renew (id: string, token: string, ms: number): Promise<boolean> {
    return await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0", 1, this.lockKey(id), token, String(ms)) === 1
  }

  async unlock (id: string, token: string): Promise<void> {
    await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, this.lockKey(id), token)
  }
}
