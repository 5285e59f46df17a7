// Redis replication is asynchronous: a write the spoke acknowledged can vanish if the primary dies before a
// replica has it. For the writes a caller relies on (a rotated refresh token, an accepted job, its
// idempotency record, an alias or schedule) `replicated()` sends WAIT on the connection that wrote, so the
// answer goes out once the write is on SPOKE_REDIS_WAIT_REPLICAS replicas — or after SPOKE_REDIS_WAIT_MS at
// most: a slow or missing replica never fails the request (availability first), it is counted and logged.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ReplicationMetrics } from './metrics-spoke'
import { isCluster } from './redis'
import { within } from './timeout'

export const REPLICATED_WRITES = ['token', 'alias', 'job', 'idempotency', 'schedule'] as const
export type ReplicatedWrite = typeof REPLICATED_WRITES[number]
export type ReplicationOutcome = 'replicated' | 'unreplicated' | 'error'

export interface ReplicationWait {
  /** After a write of `key` on `redis`: wait until it is on the replicas, at most the timeout. Never throws. */
  replicated: (redis: Redis, key: string, what: ReplicatedWrite) => Promise<void>
}

export const NO_REPLICATION_WAIT: ReplicationWait = { replicated: async () => {} }

export interface ReplicationSettings {
  /** SPOKE_REDIS_WAIT_MS: WAIT's timeout; 0 turns waiting off. */
  timeoutMs: number
  /** SPOKE_REDIS_WAIT_REPLICAS: how many replicas must have the write. */
  replicas: number
  /** Sentinel or Cluster: replicas are expected, so a primary without enough of them is counted unreplicated. */
  expectReplicas: boolean
}

/** How long a primary's replica count is trusted (INFO replication is read at most this often per client). */
const REPLICAS_TTL_MS = 30_000
/** While writes stay unreplicated, the warning is repeated at most this often. */
const WARN_EVERY_MS = 5 * 60_000
/** Client-side bound on top of WAIT's own timeout, for a connection that does not answer at all. */
const ANSWER_MARGIN_MS = 1_000
/**
 * After a WAIT that timed out, writes are not waited for (and are counted unreplicated) for this long. A WAIT
 * holds its connection, which the process's HTTP requests share, for the whole timeout: with a replica down,
 * waiting on every write would stall every request behind it, /readyz included.
 */
const PAUSE_AFTER_TIMEOUT_MS = 5_000

export function createReplicationWait (settings: ReplicationSettings, log: Logger, metrics: ReplicationMetrics): ReplicationWait {
  return settings.timeoutMs === 0 ? NO_REPLICATION_WAIT : new Replication(settings, log, metrics)
}

class Replication implements ReplicationWait {
  /** Replica counts per client and (on a Cluster) per hash tag, each a promise so concurrent writes share one INFO. */
  private readonly counts = new WeakMap<Redis, Map<string, { at: number, replicas: Promise<number> }>>()
  private trouble?: { since: number, warnedAt: number, writes: number }
  private pausedUntil = 0

  constructor (private readonly s: ReplicationSettings, private readonly log: Logger, private readonly metrics: ReplicationMetrics) {}

  async replicated (redis: Redis, key: string, what: ReplicatedWrite): Promise<void> {
    if (Date.now() < this.pausedUntil) { this.note(what, 'unreplicated', { paused: true }); return }
    try {
      const replicas = await bounded(this.replicaCount(redis, key), this.s.timeoutMs + ANSWER_MARGIN_MS, 'INFO')
      if (replicas === 0 && !this.s.expectReplicas) return // a lone Redis: nothing to wait for, no WAIT
      if (replicas < this.s.replicas) { this.note(what, 'unreplicated', { replicas }); return }
      const started = process.hrtime.bigint()
      const acked = await bounded(this.wait(redis, key), this.s.timeoutMs + ANSWER_MARGIN_MS, 'WAIT')
      this.metrics.waitDuration.observe({ write: what }, Number(process.hrtime.bigint() - started) / 1e9)
      if (acked < this.s.replicas) { this.forget(redis, key); this.pausedUntil = Date.now() + PAUSE_AFTER_TIMEOUT_MS }
      this.note(what, acked >= this.s.replicas ? 'replicated' : 'unreplicated', { replicas, acked })
    } catch (err) {
      this.forget(redis, key)
      this.note(what, 'error', { err: err instanceof Error ? err.message : String(err) })
    }
  }

  /**
   * Both commands go in a pipeline led by a command on `key`: on a Cluster a keyless command goes to any node,
   * the pipeline goes to the primary owning the key's slot, on the connection that made the write (WAIT
   * counts the writes of its own connection).
   */
  private async wait (redis: Redis, key: string): Promise<number> {
    const res = await redis.pipeline().exists(key).call('wait', this.s.replicas, this.s.timeoutMs).exec()
    const [err, acked] = res?.[1] ?? [new Error('no answer to WAIT')]
    if (err) throw err
    return Number(acked)
  }

  private async replicaCount (redis: Redis, key: string): Promise<number> {
    let byTag = this.counts.get(redis)
    if (byTag === undefined) { byTag = new Map(); this.counts.set(redis, byTag) }
    const tag = slotTag(redis, key)
    const cached = byTag.get(tag)
    if (cached !== undefined && Date.now() - cached.at < REPLICAS_TTL_MS) return await cached.replicas
    const replicas = redis.pipeline().exists(key).info('replication').exec().then((res) => {
      const [err, info] = res?.[1] ?? [new Error('no answer to INFO')]
      if (err) throw err
      const m = /connected_slaves:(\d+)/.exec(String(info))
      return m === null ? 0 : Number(m[1])
    })
    const entry = { at: Date.now(), replicas }
    byTag.set(tag, entry)
    replicas.catch(() => { if (byTag.get(tag) === entry) byTag.delete(tag) })
    return await replicas
  }

  /** A replica did not confirm: ask the primary for its replicas again at the next write (one may have gone, or a failover happened). */
  private forget (redis: Redis, key: string): void {
    this.counts.get(redis)?.delete(slotTag(redis, key))
  }

  private note (what: ReplicatedWrite, outcome: ReplicationOutcome, detail: Record<string, unknown>): void {
    this.metrics.writes.inc({ write: what, outcome })
    const now = Date.now()
    if (outcome === 'replicated') {
      if (this.trouble !== undefined) {
        this.log.info({ unreplicatedWrites: this.trouble.writes, forMs: now - this.trouble.since }, 'Redis writes reach the replicas again')
        this.trouble = undefined
      }
      return
    }
    if (this.trouble === undefined) this.trouble = { since: now, warnedAt: 0, writes: 0 }
    this.trouble.writes++
    if (now - this.trouble.warnedAt < WARN_EVERY_MS) return
    this.trouble.warnedAt = now
    // Only the kind of write: never a key (it may name an alias or an Idempotency-Key), never a value.
    this.log.warn({ write: what, outcome, wanted: this.s.replicas, timeoutMs: this.s.timeoutMs, unreplicatedWrites: this.trouble.writes, ...detail },
      'Redis write answered before a replica confirmed it: lost if the primary fails now (spoke_redis_acknowledged_writes_total counts them; logged again at most every 5 minutes)')
  }
}

/** The part of the key a Cluster hashes (the spoke's keys share one tag); one entry for a non-Cluster client. */
function slotTag (redis: Redis, key: string): string {
  if (!isCluster(redis)) return ''
  return /^[^{]*\{([^}]+)\}/.exec(key)?.[1] ?? key
}

async function bounded<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  return await within(p, ms, () => new Error(`no answer to ${what} within ${ms} ms`))
}
