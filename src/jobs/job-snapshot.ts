// One job as one consistent snapshot: BullMQ's state (the same tests, in the same order, as BullMQ's own
// getStateV2 script), the job hash, the spoke's extra hash, the cancel marker and the delayed score, read by a
// single Lua script — Redis runs it with nothing in between, so a view can never pair a state with facts
// written after it (say `active` with its callback already `delivered`). Every key shares the queue's hash
// tag in a Cluster (the key prefix is tagged there), as a script needs.
import type { JobState, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { runScript } from '../lib/redis-script'

const SNAPSHOT = `
local id = ARGV[1]
local state = 'unknown'
local delayedScore = false
if redis.call('ZSCORE', KEYS[2], id) then state = 'completed'
elseif redis.call('ZSCORE', KEYS[3], id) then state = 'failed'
else
  delayedScore = redis.call('ZSCORE', KEYS[4], id)
  if delayedScore then state = 'delayed'
  elseif redis.call('ZSCORE', KEYS[9], id) then state = 'prioritized'
  elseif redis.call('LPOS', KEYS[5], id) then state = 'active'
  elseif redis.call('LPOS', KEYS[6], id) then state = 'waiting'
  elseif redis.call('LPOS', KEYS[7], id) then state = 'waiting'
  elseif redis.call('ZSCORE', KEYS[8], id) then state = 'waiting-children'
  end
end
return { state, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[10]), redis.call('EXISTS', KEYS[11]), delayedScore }
`

export interface JobSnapshot {
  state: JobState | 'unknown'
  /** The job hash as BullMQ stores it (empty: no such job). */
  job: Record<string, string>
  extra: Record<string, string>
  cancelled: boolean
  /** BullMQ's score of a delayed job (timestamp * 0x1000 + a sequence number). */
  delayedScore?: number
}

const pairs = (flat: string[]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1]
  return out
}

export async function readJobSnapshot (redis: Redis, queue: Queue, keys: { extra: string, cancel: string }, id: string): Promise<JobSnapshot> {
  const k = queue.keys
  const [state, job, extra, cancelled, score] = await runScript(redis, 'spokeJobSnapshot', SNAPSHOT,
    [queue.toKey(id), k.completed, k.failed, k.delayed, k.active, k.wait, k.paused, k['waiting-children'], k.prioritized, keys.extra, keys.cancel], [id]
  ) as [string, string[], string[], number, string | null]
  const snapshot: JobSnapshot = { state: state as JobState | 'unknown', job: pairs(job), extra: pairs(extra), cancelled: cancelled === 1 }
  if (score !== null && score !== undefined) snapshot.delayedScore = Number(score)
  return snapshot
}
