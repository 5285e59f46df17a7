// The production checks, each a small function answering a Finding. Pure ones take plain values; the two
// that look outside (Redis CONFIG, the token endpoint's Date) split into a fetch and a pure assessment so
// both halves are testable. Levels: `refuse` is unsafe to run (the start stops unless SPOKE_PREFLIGHT=warn),
// `warn` works but risks data or access, `unknown` could not be checked, `skipped` was not applicable.
import { isIP } from 'node:net'
import { request } from 'undici'
import type { Redis } from 'ioredis'
import { addressKind } from '../lib/address-policy'
import { placeholderKeyRoles } from '../config/placeholder-keys'
import { within } from '../lib/timeout'

export type Level = 'ok' | 'warn' | 'refuse' | 'unknown' | 'skipped'
export type CheckName = 'publicUrl' | 'masterKey' | 'apiKeys' | 'callbackSecret' | 'redisPersistence' | 'redisEviction' | 'clock'

export interface Finding {
  check: CheckName
  level: Level
  message: string
  /** Re-checked while the process runs (Redis): a refusal found then makes /readyz answer 503. */
  runtime?: true
}

/** Loopback names and addresses: plain http there never leaves the machine. */
export function isLoopbackHost (hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  return isIP(h) !== 0 && addressKind(h) === 'loopback'
}

export function checkPublicUrl (publicUrl: string): Finding {
  const u = new URL(publicUrl)
  if (u.protocol === 'https:') return { check: 'publicUrl', level: 'ok', message: `SPOKE_PUBLIC_URL is https (${u.origin})` }
  if (isLoopbackHost(u.hostname)) return { check: 'publicUrl', level: 'ok', message: `SPOKE_PUBLIC_URL is http on loopback (${u.origin}): fine for one machine, not reachable by anyone else` }
  return {
    check: 'publicUrl',
    level: 'refuse',
    message: `SPOKE_PUBLIC_URL is ${u.origin}, plain http outside loopback: OAuth authorization codes (redirect ${u.origin}/v1/oauth/callback) and the admin console's session cookie would cross the network in clear, and Atlassian only accepts https callback URLs for a real app. Put the spoke behind TLS and set SPOKE_PUBLIC_URL=https://…`
  }
}

export { placeholderKeyRoles }

/** `placeholderRoles`: roles whose key in SPOKE_API_KEYS is a placeholder (config/placeholder-keys.ts); refused. */
export function checkSecrets (given: { masterKey: boolean, apiKeys: boolean, placeholderRoles?: string[] }, dataDir: string): Finding[] {
  const placeholders = given.placeholderRoles ?? []
  return [
    given.masterKey
      ? { check: 'masterKey', level: 'ok', message: 'SPOKE_MASTER_KEY is set' }
      : {
          check: 'masterKey',
          level: 'warn',
          message: `SPOKE_MASTER_KEY is not set: the master key was generated into ${dataDir}/master.key. Every client secret, org admin key and token in Redis is sealed with it: losing that file loses them all, and a second process (api + worker) with its own data dir cannot open them. Set SPOKE_MASTER_KEY (the same value in every process) and back it up.`
        },
    given.apiKeys && placeholders.length > 0
      ? {
          check: 'apiKeys',
          level: 'refuse',
          message: `SPOKE_API_KEYS holds a placeholder key (role ${placeholders.join(', ')}), as copied from an example: anyone who read the example could call the spoke. Generate each key, e.g. node -e "console.log(require('crypto').randomBytes(24).toString('base64url'))"`
        }
      : given.apiKeys
        ? { check: 'apiKeys', level: 'ok', message: 'SPOKE_API_KEYS is set' }
        : {
            check: 'apiKeys',
            level: 'warn',
            message: `SPOKE_API_KEYS is not set: one admin key was generated (printed once at its first start; its digest is in ${dataDir}/api-keys.json). Set SPOKE_API_KEYS so each caller has its own key and the least role it needs (admin, invoker, viewer).`
          }
  ]
}

export function checkCallbackSecret (secret: string | undefined): Finding {
  if (secret !== undefined) return { check: 'callbackSecret', level: 'ok', message: 'SPOKE_CALLBACK_SECRET is set' }
  return {
    check: 'callbackSecret',
    level: 'warn',
    message: 'SPOKE_CALLBACK_SECRET is not set: job callbacks (callbackUrl, 400 REQUEST_INVALID) and crawl webhook sinks (400 INPUT_INVALID) are refused, because both are always signed. Set it if any caller uses them.'
  }
}

export interface RedisSettings {
  appendonly?: string
  save?: string
  maxmemoryPolicy?: string
  /** On a Cluster: the primaries whose persistence (appendonly, save) and whose maxmemory-policy are the ones reported, when they fall short. */
  nodes?: { persistence: string[], eviction: string[] }
}

/** A single Redis or Sentinel primary (CONFIG GET goes to it), or a Cluster whose primaries are each read. */
export type SettingsSource = Pick<Redis, 'call'> & { nodes?: (role: 'master') => Array<Pick<Redis, 'call' | 'options'>> }

/**
 * CONFIG GET of the three settings; managed Redis often disables CONFIG, which the assessment reports. On a
 * Cluster every primary is read (a command sent to the Cluster reaches just one node) and the weakest answer
 * is reported, naming the primaries it came from.
 */
export async function readRedisSettings (redis: SettingsSource, timeoutMs = 1_000): Promise<RedisSettings | Error> {
  if (typeof redis.nodes !== 'function') return await readOne(redis, timeoutMs)
  const primaries = redis.nodes('master')
  const read = await Promise.all(primaries.map(async n => ({ node: `${n.options.host ?? ''}:${n.options.port ?? ''}`, settings: await readOne(n, timeoutMs) })))
  const failed = read.find(r => r.settings instanceof Error)
  if (failed !== undefined) return new Error(`${(failed.settings as Error).message} (primary ${failed.node})`)
  const all = read as Array<{ node: string, settings: RedisSettings }>
  if (all.length === 0) return new Error('the Cluster named no primary')
  const evicting = all.filter(r => r.settings.maxmemoryPolicy !== 'noeviction')
  // Weakest persistence: none at all, then snapshots only.
  const rank = (s: RedisSettings): number => s.appendonly === 'yes' ? 2 : (s.save ?? '').trim() !== '' ? 1 : 0
  const weakest = Math.min(...all.map(r => rank(r.settings)))
  const unpersisted = all.filter(r => rank(r.settings) === weakest && weakest < 2)
  const persistence = (unpersisted[0] ?? all[0]).settings
  const policy = evicting[0]?.settings.maxmemoryPolicy
  return {
    appendonly: persistence.appendonly,
    save: persistence.save,
    maxmemoryPolicy: policy ?? 'noeviction',
    nodes: { persistence: unpersisted.map(r => r.node), eviction: evicting.filter(r => r.settings.maxmemoryPolicy === policy).map(r => r.node) }
  }
}

async function readOne (redis: Pick<Redis, 'call'>, timeoutMs: number): Promise<RedisSettings | Error> {
  const get = async (name: string): Promise<string | undefined> => {
    const reply = await redis.call('CONFIG', 'GET', name) as unknown
    return Array.isArray(reply) && reply.length >= 2 ? String(reply[1]) : undefined
  }
  try {
    const [appendonly, save, maxmemoryPolicy] = await within(Promise.all([get('appendonly'), get('save'), get('maxmemory-policy')]), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`))
    return { appendonly, save, maxmemoryPolicy }
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  }
}

export function assessRedis (settings: RedisSettings | Error): Finding[] {
  if (settings instanceof Error) {
    const why = `could not check (CONFIG GET answered: ${settings.message}); managed Redis often disables CONFIG`
    return [
      { check: 'redisPersistence', level: 'unknown', runtime: true, message: `Redis persistence ${why}: make sure AOF (appendonly yes) or snapshots are on, or a restart loses every alias, token and job` },
      { check: 'redisEviction', level: 'unknown', runtime: true, message: `Redis maxmemory-policy ${why}: make sure it is noeviction` }
    ]
  }
  const out: Finding[] = []
  const { appendonly, save, maxmemoryPolicy } = settings
  // On a Cluster, which primaries fall short (the others may be right).
  const on = (nodes: string[] | undefined): string => nodes === undefined || nodes.length === 0 ? '' : ` (Cluster primar${nodes.length === 1 ? 'y' : 'ies'} ${nodes.join(', ')})`
  if (appendonly === 'yes') out.push({ check: 'redisPersistence', level: 'ok', runtime: true, message: 'Redis AOF is on (appendonly yes)' })
  else if (save !== undefined && save.trim() !== '') {
    out.push({ check: 'redisPersistence', level: 'warn', runtime: true, message: `Redis keeps snapshots only (save "${save}", appendonly no)${on(settings.nodes?.persistence)}: a crash loses what changed since the last snapshot, among it rotated refresh tokens (a new consent then) and job states. Turn on appendonly yes.` })
  } else {
    out.push({ check: 'redisPersistence', level: 'warn', runtime: true, message: `Redis has no persistence (appendonly no, save "")${on(settings.nodes?.persistence)}: a restart loses every alias, sealed token, job and schedule. Turn on appendonly yes (unless replicas with persistence take over on failure).` })
  }
  if (maxmemoryPolicy === 'noeviction') out.push({ check: 'redisEviction', level: 'ok', runtime: true, message: 'Redis maxmemory-policy is noeviction' })
  else {
    out.push({ check: 'redisEviction', level: 'refuse', runtime: true, message: `Redis maxmemory-policy is ${maxmemoryPolicy ?? 'unknown'}, not noeviction${on(settings.nodes?.eviction)}: under memory pressure Redis silently deletes keys, among them BullMQ job data and locks (jobs lost or run twice) and sealed tokens. Set maxmemory-policy noeviction.` })
  }
  return out
}

/** Beyond this the warning is given; beyond the crawl's 5-minute overlap, incremental crawls can miss edits. */
export const CLOCK_WARN_MS = 30_000

export interface ClockSample { date?: string, sentAt: number, receivedAt: number }

/** A HEAD to the token endpoint's origin for its Date header; undefined when it did not answer in time. */
export async function sampleClock (authUrl: string, timeoutMs = 2_000): Promise<ClockSample | Error> {
  const sentAt = Date.now()
  try {
    const res = await request(authUrl, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
    await res.body.dump()
    const date = res.headers.date
    return { date: typeof date === 'string' ? date : undefined, sentAt, receivedAt: Date.now() }
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  }
}

export function assessClock (authUrl: string, sample: ClockSample | Error): Finding {
  const origin = new URL(authUrl).origin
  if (sample instanceof Error) return { check: 'clock', level: 'skipped', message: `clock not compared: ${origin} did not answer (${sample.message})` }
  const remote = sample.date === undefined ? NaN : Date.parse(sample.date)
  if (Number.isNaN(remote)) return { check: 'clock', level: 'skipped', message: `clock not compared: ${origin} sent no usable Date header` }
  // Date has one-second resolution: compare with the middle of the round trip, allow the rounding.
  const local = (sample.sentAt + sample.receivedAt) / 2
  const skewMs = local - remote - 500
  const seconds = Math.round(skewMs / 1000)
  if (Math.abs(skewMs) <= CLOCK_WARN_MS) return { check: 'clock', level: 'ok', message: `clock within ${Math.max(1, Math.abs(seconds))} s of ${origin}` }
  return {
    check: 'clock',
    level: 'warn',
    message: `this machine's clock is ${Math.abs(seconds)} s ${seconds > 0 ? 'ahead of' : 'behind'} ${origin}: schedules fire at the wrong time, licence activity ages are off, and beyond 5 minutes incremental crawls can miss edits. Synchronise the clock (NTP).`
  }
}
