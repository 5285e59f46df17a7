// Erasure of closed accounts everywhere the index says their data lives, and the refresh of updated ones.
// A job keeps its shape (its data, result, progress, checkpoint and error lose the personal fields); an
// idempotency replay is redacted in place (same TTL); a crawl run's staged accounts and emails are removed.
// Idempotent: a batch erased twice (a resumed report) finds nothing the second time.
import type { Redis } from 'ioredis'
import type { PersonalDataIndex } from './personal-data-index'
import { mentions, personalTerms, redactText, type Terms } from './redact'

export interface ErasureKeys {
  /** BullMQ's hash of a run-action job. */
  jobHash: (jobId: string) => string
  /** BullMQ's events stream of the run-action queue (completed events carry the result). */
  jobEvents: string
  /** The spoke's own hashes around a job (error, callback; checkpoint). */
  jobSide: (jobId: string) => string[]
  /** A crawl run's staged accounts (set) and emails (hash). */
  crawlRun: (runId: string) => { accounts: string, emails: string }
}

export interface ErasureCounts { jobs: number, replays: number, crawlRuns: number, events: number }

const STREAM_CHUNK = 500

export async function eraseAccounts (redis: Redis, index: PersonalDataIndex, keys: ErasureKeys, alias: string, ids: string[]): Promise<ErasureCounts> {
  const counts: ErasureCounts = { jobs: 0, replays: 0, crawlRuns: 0, events: 0 }
  if (ids.length === 0) return counts
  const refs = new Set<string>()
  for (const id of ids) for (const r of await index.where(alias, id)) refs.add(r)
  const terms: Terms = { ids: new Set(ids), names: new Set() }

  // Pass 1: read every place, learning the names and emails stored next to the ids.
  const hashes = new Map<string, Record<string, string>>()
  const strings = new Map<string, string>()
  for (const ref of refs) {
    const [kind, rest] = split(ref)
    if (kind === 'job' || kind === 'crawl') {
      // A crawl run's id is its job's id: its checkpoint and result are the job's.
      for (const key of [keys.jobHash(rest), ...keys.jobSide(rest)]) if (!hashes.has(key)) hashes.set(key, await redis.hgetall(key))
      await readCrawlEmails(redis, keys.crawlRun(rest).emails, ids, terms)
    } else if (kind === 'idem') {
      const v = await redis.get(rest)
      if (v !== null) strings.set(rest, v)
    }
  }
  for (const h of hashes.values()) for (const v of Object.values(h)) learn(v, terms)
  for (const v of strings.values()) learn(v, terms)

  // Pass 2: write the redacted values back.
  for (const [key, h] of hashes) {
    const m = redis.multi()
    let changed = false
    for (const [field, value] of Object.entries(h)) {
      if (mentions(field, terms)) { m.hdel(key, field); changed = true; continue }
      const red = redactText(value, terms)
      if (red !== value) { m.hset(key, field, red); changed = true }
    }
    if (changed) { await m.exec(); if (!key.includes(':jobs:')) counts.jobs++ }
  }
  for (const [key, v] of strings) {
    // A client-chosen Idempotency-Key that names the account cannot be kept: the record goes.
    if (mentions(key, terms)) { await redis.del(key); counts.replays++; continue }
    const red = redactText(v, terms)
    if (red !== v) { await redis.set(key, red, 'KEEPTTL'); counts.replays++ }
  }
  const runs = new Set([...refs].map(split).filter(([kind]) => kind === 'job' || kind === 'crawl').map(([, rest]) => rest))
  for (const rest of runs) {
    const run = keys.crawlRun(rest)
    const [removed, unstaged] = await Promise.all([redis.srem(run.accounts, ...ids), redis.hdel(run.emails, ...ids)])
    if (removed + unstaged > 0) counts.crawlRuns++
  }
  if (refs.size > 0) counts.events = await eraseEvents(redis, keys.jobEvents, terms)
  await index.forget(alias, ids)
  return counts
}

/** `updated` accounts: cached copies (idempotency replays, staged crawl emails) go, so the next read is fresh. */
export async function refreshAccounts (redis: Redis, index: PersonalDataIndex, keys: ErasureKeys, alias: string, ids: string[]): Promise<number> {
  let dropped = 0
  for (const id of ids) {
    const where = index.keys.where(alias, id)
    for (const ref of await index.where(alias, id)) {
      const [kind, rest] = split(ref)
      if (kind === 'idem') { dropped += await redis.del(rest); await redis.srem(where, ref) } else if (kind === 'crawl' || kind === 'job') dropped += await redis.hdel(keys.crawlRun(rest).emails, id)
    }
    // Nothing stored any more: the account leaves the index.
    if (await redis.scard(where) === 0) await index.forget(alias, [id])
  }
  return dropped
}

/** Completed events carry job results: the entries that mention a closed account are deleted (bounded stream). */
async function eraseEvents (redis: Redis, stream: string, terms: Terms): Promise<number> {
  let deleted = 0
  let from = '-'
  for (;;) {
    const entries = await redis.xrange(stream, from, '+', 'COUNT', STREAM_CHUNK)
    const doomed = entries.filter(([, fields]) => fields.some((f) => mentions(f, terms))).map(([id]) => id)
    if (doomed.length > 0) deleted += await redis.xdel(stream, ...doomed)
    if (entries.length < STREAM_CHUNK) return deleted
    from = `(${entries[entries.length - 1][0]}`
  }
}

async function readCrawlEmails (redis: Redis, key: string, ids: string[], terms: Terms): Promise<void> {
  for (const e of await redis.hmget(key, ...ids)) if (e !== null) terms.names.add(e)
}

function learn (text: string, terms: Terms): void {
  if (!mentions(text, terms)) return
  try { personalTerms(JSON.parse(text), terms) } catch { /* plain text: nothing structured to learn from */ }
}

function split (ref: string): [string, string] {
  const i = ref.indexOf(':')
  return [ref.slice(0, i), ref.slice(i + 1)]
}
