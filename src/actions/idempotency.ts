// Idempotency-Key (docs/api.md#actions): the first response to a key is kept in Redis for 24 h with a fingerprint
// of the request body. A repeat with the same body gets that response; another body gets 409
// IDEMPOTENCY_CONFLICT. Concurrent repeats run once: the first claims the key (SET NX, a short lease),
// the others wait for its result. The stored thing is any response (`status` + `body`), so async mode can
// store its 202 and a repeat returns the same job.
import { createHash, randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { IdempotencyConflictError } from '../errors/errors'
import { NO_REPLICATION_WAIT, type ReplicationWait } from '../lib/replication'

export interface StoredResponse { status: number, body: unknown, headers?: Record<string, string> }

export interface IdempotentRun {
  /** Namespace of the key, e.g. the action id. */
  scope: string
  key: string
  /** fingerprint(body) of the request. */
  fingerprint: string
}

export interface IdempotencyStore {
  /**
   * Run `fn` once per (scope, key). Returns its response, or the stored one (`replayed: true`).
   * If `fn` throws, the key is released and the error rethrown: callers turn final errors into responses
   * (so they are replayed too) and let retryable ones throw (so a retry with the same key runs again).
   */
  run: (run: IdempotentRun, fn: () => Promise<StoredResponse>) => Promise<{ response: StoredResponse, replayed: boolean }>
}

export interface IdempotencyOptions {
  keyPrefix: string
  ttlSeconds?: number
  /** How long a claim holds before another request may take over (the first one crashed). */
  leaseMs?: number
  /** WAIT for the replicas after the final record (core.ts passes it): a failover must not forget an accepted job's key. */
  replication?: ReplicationWait
}

interface Pending { s: 'pending', f: string, o: string }
interface Done { s: 'done', f: string, r: StoredResponse }

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

export function createIdempotencyStore (redis: Redis, opts: IdempotencyOptions): IdempotencyStore {
  const ttlMs = (opts.ttlSeconds ?? IDEMPOTENCY_TTL_SECONDS) * 1000
  const leaseMs = opts.leaseMs ?? 120_000
  const replication = opts.replication ?? NO_REPLICATION_WAIT

  // Repeats inside this process share the first run's promise instead of polling Redis.
  const inflight = new Map<string, { f: string, p: Promise<StoredResponse> }>()

  async function run (r: IdempotentRun, fn: () => Promise<StoredResponse>): Promise<{ response: StoredResponse, replayed: boolean }> {
    const redisKey = `${opts.keyPrefix}:idem:${r.scope}:${r.key}`
    const local = inflight.get(redisKey)
    if (local !== undefined) {
      if (local.f !== r.fingerprint) throw new IdempotencyConflictError('This Idempotency-Key was already used with a different request body')
      return { response: await local.p, replayed: true }
    }
    const p = claimAndRun(redisKey, r, fn)
    const entry = { f: r.fingerprint, p: p.then(x => x.response) }
    entry.p.catch(() => {})
    inflight.set(redisKey, entry)
    try { return await p } finally { inflight.delete(redisKey) }
  }

  async function claimAndRun (redisKey: string, r: IdempotentRun, fn: () => Promise<StoredResponse>): Promise<{ response: StoredResponse, replayed: boolean }> {
    const owner = randomUUID()
    const waitUntil = Date.now() + leaseMs + 5_000
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      const claimed = await redis.set(redisKey, JSON.stringify({ s: 'pending', f: r.fingerprint, o: owner } satisfies Pending), 'PX', leaseMs, 'NX')
      if (claimed === 'OK') break
      const raw = await redis.get(redisKey)
      if (raw === null) continue // released or expired between the two commands: claim again
      const record = JSON.parse(raw) as Pending | Done
      if (record.f !== r.fingerprint) {
        throw new IdempotencyConflictError('This Idempotency-Key was already used with a different request body')
      }
      if (record.s === 'done') return { response: record.r, replayed: true }
      if (Date.now() > waitUntil) throw new IdempotencyConflictError('A request with this Idempotency-Key is still running', { retryable: true, retryAfter: 1 })
      await new Promise(resolve => setTimeout(resolve, delay))
    }
    let response: StoredResponse
    try {
      response = await fn()
    } catch (err) {
      await releaseIfOwner(redis, redisKey, owner).catch(() => {})
      throw err
    }
    await redis.set(redisKey, JSON.stringify({ s: 'done', f: r.fingerprint, r: response } satisfies Done), 'PX', ttlMs)
    await replication.replicated(redis, redisKey, 'idempotency')
    return { response, replayed: false }
  }

  return { run }
}

const RELEASE = "local v = redis.call('GET', KEYS[1]); if v and string.find(v, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end; return 0"

async function releaseIfOwner (redis: Redis, key: string, owner: string): Promise<void> {
  await redis.eval(RELEASE, 1, key, `"o":"${owner}"`)
}

/** SHA-256 of the body's canonical JSON (keys sorted), so key order does not make two bodies differ. */
export function fingerprint (body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url')
}

/**
 * JSON with object keys sorted (undefined members left out, undefined array items as null). Iterative, so no
 * body is too deep for it (the request parser also caps nesting: lib/json-depth).
 */
export function canonicalJson (value: unknown): string {
  let out = ''
  // Work items: a value to write, or (as a string in `literal`) text to append.
  const stack: Array<{ value: unknown } | { literal: string }> = [{ value }]
  while (stack.length > 0) {
    const item = stack.pop() as { value?: unknown, literal?: string }
    if (item.literal !== undefined) { out += item.literal; continue }
    const v = item.value
    if (v === null || typeof v !== 'object') { out += JSON.stringify(v) ?? 'null'; continue }
    const parts: Array<{ value: unknown } | { literal: string }> = []
    if (Array.isArray(v)) {
      v.forEach((x, i) => { if (i > 0) parts.push({ literal: ',' }); parts.push({ value: x === undefined ? null : x }) })
      parts.push({ literal: ']' })
      out += '['
    } else {
      const obj = v as Record<string, unknown>
      Object.keys(obj).sort().filter(k => obj[k] !== undefined).forEach((k, i) => {
        parts.push({ literal: (i > 0 ? ',' : '') + JSON.stringify(k) + ':' }, { value: obj[k] })
      })
      parts.push({ literal: '}' })
      out += '{'
    }
    for (let i = parts.length - 1; i >= 0; i--) stack.push(parts[i])
  }
  return out
}
