// Fairness between callers: at most `cap` unfinished async jobs (waiting, delayed or active) per API key, so
// one key cannot fill the queue and every worker slot while other keys' jobs (and scheduled runs, which
// belong to no key) wait. Each key has a sorted set of its job ids (score: when reserved); one Lua script
// drops the ids whose job has finished or is gone, counts the rest and reserves the new id only under the
// cap — atomic, so a burst of parallel submissions cannot all pass the count. Nothing has to remember to
// release a slot: a finished job (BullMQ's finishedOn) simply stops counting.
import type { Redis } from 'ioredis'
import { TooManyJobsError } from '../errors/errors'
import { runScript } from '../lib/redis-script'
import { bullPrefix, EXTRA_TTL_SECONDS, RUN_ACTION_QUEUE } from './queues'

/** A reservation whose job hash does not exist yet is the enqueue in flight; it counts this long. */
const IN_FLIGHT_GRACE_MS = 60_000
/** How long a refused caller is told to wait before trying again. */
const RETRY_AFTER_SECONDS = 10

// KEYS[1] the key's set of unfinished jobs. ARGV: job hash prefix, cap, new job id, now (ms), grace (ms), ttl (s).
// Job hashes are read by name (not in KEYS): they share the set's hash tag, as BullMQ's own scripts do.
const RESERVE = `
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local now = tonumber(ARGV[4])
local open = 0
for i = 1, #entries, 2 do
  local id = entries[i]
  local job = ARGV[1] .. id
  local finished
  if redis.call('EXISTS', job) == 0 then
    finished = now - tonumber(entries[i + 1]) > tonumber(ARGV[5])
  else
    finished = redis.call('HEXISTS', job, 'finishedOn') == 1
  end
  if finished then redis.call('ZREM', KEYS[1], id) else open = open + 1 end
end
if open >= tonumber(ARGV[2]) then return -open end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return open + 1
`

export interface KeyCapMetrics { refused: (key: string) => void }

export class KeyCap {
  private readonly jobPrefix: string
  constructor (private readonly redis: Redis, private readonly keyPrefix: string, readonly cap: number, private readonly metrics?: KeyCapMetrics) {
    this.jobPrefix = `${bullPrefix(keyPrefix)}:${RUN_ACTION_QUEUE}:`
  }

  private setKey (owner: string): string { return `${this.keyPrefix}:jobs:owner:${owner}` }

  /** Reserve a place for `jobId` under `owner` (an API key's fingerprint), or 429 TOO_MANY_JOBS. No cap: nothing to do. */
  async reserve (owner: string, jobId: string): Promise<void> {
    if (this.cap <= 0) return
    const n = await runScript(this.redis, 'spokeKeyCapReserve', RESERVE, [this.setKey(owner)], [this.jobPrefix, this.cap, jobId, Date.now(), IN_FLIGHT_GRACE_MS, EXTRA_TTL_SECONDS]) as number
    if (n > 0) return
    this.metrics?.refused(owner)
    throw new TooManyJobsError(`This API key has ${-n} unfinished jobs, the most one key may have at once (SPOKE_MAX_JOBS_PER_KEY=${this.cap}); submit again when some have finished`, { retryAfter: RETRY_AFTER_SECONDS, retryable: true })
  }

  /** The enqueue failed after the reservation: give the place back. */
  async release (owner: string, jobId: string): Promise<void> {
    if (this.cap <= 0) return
    await this.redis.zrem(this.setKey(owner), jobId)
  }
}
