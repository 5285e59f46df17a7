// Configuration: every variable of the README configuration table (plus a few tuning knobs), parsed and validated once at start.
// A bad value throws ConfigError naming the variable; the entry points turn that into a non-zero exit.
import { cidrProblem } from '../lib/address-policy'
import { API_KEY_ROLES, type ApiKeyRole } from './roles'
import { ConfigError } from './config-error'
import { placeholderKeyRoles } from './placeholder-keys'
import type { TracingSettings } from '../lib/tracing'
import { clusterKeyPrefix, parseRedisTarget, type RedisTarget } from './redis-target'
import { parseToolAllowlists, type ToolAllowlists } from './mcp-tools'
export { API_KEY_ROLES, type ApiKeyRole, ConfigError, type RedisTarget }

export type SpokeRole = 'api' | 'worker' | 'all'

export interface ApiKeySpec { role: ApiKeyRole, key: string }

export interface Config {
  port: number
  host: string
  /** REDIS_URL of a single Redis; empty with Sentinel or Cluster (see `redis`). */
  redisUrl: string
  /** Single Redis, Sentinel or Cluster: every client of the process is built from this (lib/redis.ts). */
  redis: RedisTarget
  role: SpokeRole
  /** 32-byte key from SPOKE_MASTER_KEY; undefined until secrets.ts fills it from the data dir. */
  masterKey?: Buffer
  /** Plain keys as given in SPOKE_API_KEYS; secrets.ts hashes them and drops the plain text. */
  apiKeys?: ApiKeySpec[]
  publicUrl: string
  callbackSecret?: string
  atlassianAuthUrl: string
  atlassianApiUrl: string
  allowedHosts: string[]
  actionsDir: string
  connectionsDir: string
  dataDir: string
  workerConcurrency: number
  logLevel: string
  /** Prefix of every Redis key and BullMQ queue; tests give each file its own. */
  keyPrefix: string
  /** Longest Retry-After (seconds) a sync call waits out before answering 429 itself. */
  syncRetryAfterMaxSeconds: number
  /** Check every action output against its schema (always on in tests). */
  validateOutput: boolean
  /** How long shutdown waits for in-flight requests and active jobs. */
  shutdownTimeoutMs: number
  /** Upstream HTTP timeout per request. */
  upstreamTimeoutMs: number
  /** Shared rate budget of one Confluence site (cloudId) across every process: steady rate and burst. */
  siteRatePerSecond: number
  siteBurst: number
  /** Callback URLs may point at link-local / cloud metadata addresses (off: refused). */
  callbackAllowLinkLocal: boolean
  /** Callback URLs may point at loopback, RFC 1918, CGNAT and IPv6 unique-local addresses (off: refused). */
  callbackAllowPrivate: boolean
  /** Callback receivers in these CIDRs are allowed whatever their kind (e.g. one on-premise subnet). */
  callbackAllowedCidrs: string[]
  /** Which proxies in front of the api may set X-Forwarded-For (Fastify's trustProxy): the client address the sign-in throttle and logs use. */
  trustProxy: boolean | number | string[]
  /** BullMQ lock of an active job; a dead worker's job runs again after about this long. */
  jobLockMs: number
  /** Production checks at start (src/preflight): `enforce` refuses unsafe settings, `warn` only logs them; the sandbox sets `sandbox`. */
  preflight?: 'enforce' | 'warn' | 'sandbox'
  /** Whether SPOKE_MASTER_KEY / SPOKE_API_KEYS were given: resolveSecrets fills both in, the preflight must still know. */
  /** `placeholderRoles`: roles whose SPOKE_API_KEYS key is a placeholder (the preflight refuses it). */
  secretsGiven?: { masterKey: boolean, apiKeys: boolean, placeholderRoles?: string[] }
  /** Default personal-data report schedule of an alias that stores personal data (seconds; 0: none). */
  privacyReportEverySeconds: number
  /** WAIT after the writes a caller relies on (lib/replication.ts): its timeout (0: off) and how many replicas. */
  redisWaitMs: number
  redisWaitReplicas: number
  /** OpenTelemetry tracing (lib/tracing.ts): undefined (off) unless the standard OTEL_* variables turn it on. */
  tracing?: TracingSettings
  /** SPOKE_MCP_TOOLS: per-key allowlists of MCP tools, by key fingerprint (config/mcp-tools.ts). */
  mcpTools: ToolAllowlists
  /** Unfinished async jobs (waiting, delayed, active) one API key may have at once; 0: no cap (jobs/key-cap.ts). */
  maxJobsPerKey?: number
  /** A down webhook receiver: retried inline this long before the job gives its worker slot back, and failed after this long in all. */
  webhookHoldMs?: number
  webhookGiveUpSeconds?: number
  /** Largest file a multipart upload may carry (bytes), and largest file sent or answered as base64 JSON. */
  attachmentMaxBytes?: number
  attachmentJsonMaxBytes?: number
}


type Env = Record<string, string | undefined>

const ATLASSIAN_HOSTS = ['auth.atlassian.com', 'api.atlassian.com', '*.atlassian.net']
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function loadConfig (env: Env = process.env): Config {
  const redis = parseRedisTarget(env)
  const prefix = pattern(env, 'SPOKE_KEY_PREFIX', /^[A-Za-z0-9:_{}-]{1,64}$/, 'spoke')
  const atlassianAuthUrl = url(env, 'ATLASSIAN_AUTH_URL', 'https://auth.atlassian.com')
  const atlassianApiUrl = url(env, 'ATLASSIAN_API_URL', 'https://api.atlassian.com')
  const port = int(env, 'PORT', 3000, 0, 65535)
  const keys = apiKeys(env)
  return {
    port,
    host: str(env, 'HOST', '127.0.0.1'),
    redisUrl: redis.mode === 'single' ? redis.url : '',
    redis,
    role: oneOf(env, 'SPOKE_ROLE', ['api', 'worker', 'all'] as const, 'all'),
    masterKey: masterKey(env),
    apiKeys: keys,
    // The default follows PORT: the redirect URI must reach this process.
    publicUrl: url(env, 'SPOKE_PUBLIC_URL', `http://localhost:${port}`),
    callbackSecret: optional(env, 'SPOKE_CALLBACK_SECRET'),
    atlassianAuthUrl,
    atlassianApiUrl,
    allowedHosts: allowedHosts(env, [atlassianAuthUrl, atlassianApiUrl]),
    actionsDir: str(env, 'SPOKE_ACTIONS_DIR', 'actions'),
    connectionsDir: str(env, 'SPOKE_CONNECTIONS_DIR', 'connections'),
    dataDir: str(env, 'SPOKE_DATA_DIR', '.data'),
    workerConcurrency: int(env, 'SPOKE_WORKER_CONCURRENCY', 8, 1, 1000),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    // A single Redis and Sentinel keep the prefix as given (existing keys stay found); a Cluster needs it hash-tagged.
    keyPrefix: redis.mode === 'cluster' ? clusterKeyPrefix(prefix) : prefix,
    syncRetryAfterMaxSeconds: int(env, 'SPOKE_SYNC_RETRY_AFTER_MAX_SECONDS', 5, 0, 60),
    validateOutput: bool(env, 'SPOKE_VALIDATE_OUTPUT', env.NODE_ENV === 'test'),
    shutdownTimeoutMs: int(env, 'SPOKE_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    upstreamTimeoutMs: int(env, 'SPOKE_UPSTREAM_TIMEOUT_MS', 30_000, 100, 600_000),
    siteRatePerSecond: int(env, 'SPOKE_SITE_RATE_PER_SECOND', 20, 1, 100_000),
    siteBurst: int(env, 'SPOKE_SITE_BURST', 40, 1, 100_000),
    callbackAllowLinkLocal: bool(env, 'SPOKE_CALLBACK_ALLOW_LINK_LOCAL', false),
    callbackAllowPrivate: bool(env, 'SPOKE_CALLBACK_ALLOW_PRIVATE', false),
    callbackAllowedCidrs: cidrs(env, 'SPOKE_CALLBACK_ALLOWED_CIDRS'),
    trustProxy: trustProxy(env),
    jobLockMs: int(env, 'SPOKE_JOB_LOCK_MS', 30_000, 1_000, 600_000),
    preflight: oneOf(env, 'SPOKE_PREFLIGHT', ['enforce', 'warn'] as const, 'enforce'),
    secretsGiven: secretsGiven(env, keys),
    privacyReportEverySeconds: int(env, 'SPOKE_PRIVACY_REPORT_EVERY_SECONDS', 7 * 86400, 0, 366 * 86400),
    redisWaitMs: int(env, 'SPOKE_REDIS_WAIT_MS', 250, 0, 10_000),
    redisWaitReplicas: int(env, 'SPOKE_REDIS_WAIT_REPLICAS', 1, 1, 16),
    tracing: tracing(env),
    mcpTools: parseToolAllowlists(optional(env, 'SPOKE_MCP_TOOLS')),
    maxJobsPerKey: int(env, 'SPOKE_MAX_JOBS_PER_KEY', 100, 0, 1_000_000),
    webhookHoldMs: int(env, 'SPOKE_WEBHOOK_HOLD_MS', 5_000, 0, 600_000),
    webhookGiveUpSeconds: int(env, 'SPOKE_WEBHOOK_GIVE_UP_SECONDS', 3_600, 1, 30 * 86_400),
    attachmentMaxBytes: int(env, 'SPOKE_ATTACHMENT_MAX_BYTES', 100 * 1024 * 1024, 1, 2 ** 40),
    attachmentJsonMaxBytes: int(env, 'SPOKE_ATTACHMENT_JSON_MAX_BYTES', 1024 * 1024, 1, 64 * 1024 * 1024)
  }
}

/**
 * On only when asked: OTEL_TRACES_EXPORTER=otlp, or (that variable unset) an OTLP endpoint given;
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none keeps it off. OTLP over HTTP only (no gRPC).
 */
function tracing (env: Env): TracingSettings | undefined {
  if (optional(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined
  const exporters = optional(env, 'OTEL_TRACES_EXPORTER')?.split(',').map(e => e.trim()).filter(e => e !== '')
  if (exporters === undefined) {
    if (optional(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') === undefined && optional(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') === undefined) return undefined
  } else {
    if (exporters.includes('none') || exporters.length === 0) return undefined
    if (exporters.some(e => e !== 'otlp')) throw new ConfigError('OTEL_TRACES_EXPORTER', `must be otlp or none, got "${exporters.join(',')}"`)
  }
  const name = optional(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  return { protocol: oneOf(env, name, ['http/protobuf', 'http/json'] as const, 'http/protobuf') }
}

function optional (env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

function str (env: Env, name: string, dflt: string): string {
  return optional(env, name) ?? dflt
}

function int (env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = optional(env, name)
  if (raw === undefined) return dflt
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

function bool (env: Env, name: string, dflt: boolean): boolean {
  const raw = optional(env, name)
  if (raw === undefined) return dflt
  if (/^(true|1|yes)$/i.test(raw)) return true
  if (/^(false|0|no)$/i.test(raw)) return false
  throw new ConfigError(name, `must be true or false, got "${raw}"`)
}

function oneOf<T extends string> (env: Env, name: string, allowed: readonly T[], dflt: T): T {
  const raw = optional(env, name)
  if (raw === undefined) return dflt
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`)
  return raw as T
}

function pattern (env: Env, name: string, re: RegExp, dflt: string): string {
  const raw = str(env, name, dflt)
  if (!re.test(raw)) throw new ConfigError(name, `must match ${re}, got "${raw}"`)
  return raw
}

function url (env: Env, name: string, dflt: string): string {
  const raw = str(env, name, dflt)
  let parsed: URL
  try { parsed = new URL(raw) } catch { throw new ConfigError(name, `must be an absolute URL, got "${raw}"`) }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(name, 'must be an http(s) URL')
  return raw.replace(/\/+$/, '')
}

function masterKey (env: Env): Buffer | undefined {
  const raw = optional(env, 'SPOKE_MASTER_KEY')
  if (raw === undefined) return undefined
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) throw new ConfigError('SPOKE_MASTER_KEY', 'must be base64')
  const key = Buffer.from(raw, 'base64')
  if (key.length !== 32) throw new ConfigError('SPOKE_MASTER_KEY', `must decode to 32 bytes, got ${key.length}`)
  return key
}

/** Which secrets the environment gave (resolveSecrets generates the others), and placeholder keys among them. */
function secretsGiven (env: Env, keys: ApiKeySpec[] | undefined): NonNullable<Config['secretsGiven']> {
  const placeholders = placeholderKeyRoles(keys)
  return {
    masterKey: optional(env, 'SPOKE_MASTER_KEY') !== undefined,
    apiKeys: optional(env, 'SPOKE_API_KEYS') !== undefined,
    ...(placeholders.length > 0 ? { placeholderRoles: placeholders } : {})
  }
}

function apiKeys (env: Env): ApiKeySpec[] | undefined {
  const raw = optional(env, 'SPOKE_API_KEYS')
  if (raw === undefined) return undefined
  return raw.split(',').map(s => s.trim()).filter(Boolean).map((pair, i) => {
    const sep = pair.indexOf(':')
    const role = pair.slice(0, sep)
    const key = pair.slice(sep + 1)
    if (sep < 0 || !(API_KEY_ROLES as readonly string[]).includes(role)) {
      throw new ConfigError('SPOKE_API_KEYS', `entry ${i + 1} must be role:key with role one of ${API_KEY_ROLES.join(', ')}`)
    }
    if (key.length < 16) throw new ConfigError('SPOKE_API_KEYS', `entry ${i + 1} (${role}) key must be at least 16 characters`)
    return { role: role as ApiKeyRole, key }
  })
}

function cidrs (env: Env, name: string): string[] {
  const raw = optional(env, name)
  if (raw === undefined) return []
  const list = raw.split(',').map(c => c.trim()).filter(Boolean)
  for (const c of list) {
    const problem = cidrProblem(c)
    if (problem !== undefined) throw new ConfigError(name, problem)
  }
  return list
}

/** SPOKE_TRUST_PROXY: `false` (default: the socket's address), `true` (any proxy: only behind one that strips the header), a hop count, or the proxies' CIDRs. */
function trustProxy (env: Env): boolean | number | string[] {
  const raw = optional(env, 'SPOKE_TRUST_PROXY')
  if (raw === undefined || /^(false|0|no)$/i.test(raw)) return false
  if (/^(true|yes)$/i.test(raw)) return true
  if (/^\d+$/.test(raw)) return int(env, 'SPOKE_TRUST_PROXY', 0, 1, 32)
  return cidrs(env, 'SPOKE_TRUST_PROXY')
}

function allowedHosts (env: Env, urls: string[]): string[] {
  const raw = optional(env, 'SPOKE_ALLOWED_HOSTS')
  const hosts = raw === undefined ? [...ATLASSIAN_HOSTS] : raw.split(',').map(h => h.trim().toLowerCase()).filter(Boolean)
  for (const h of hosts) {
    if (!/^(\*\.)?[a-z0-9.-]+(:\d+)?$/.test(h)) throw new ConfigError('SPOKE_ALLOWED_HOSTS', `has an invalid host "${h}"`)
  }
  // The configured Atlassian endpoints are always allowed (the sandbox points them at the simulator).
  for (const u of urls) { const host = new URL(u).host.toLowerCase(); if (!hosts.includes(host)) hosts.push(host) }
  return hosts
}
