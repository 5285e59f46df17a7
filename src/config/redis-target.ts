// Which Redis the spoke talks to: one server (REDIS_URL), a Sentinel-managed primary (REDIS_SENTINELS +
// REDIS_SENTINEL_NAME) or a Cluster (REDIS_CLUSTER_NODES). Parsed once at start; a bad value names its variable.
import { ConfigError } from './config-error'

export interface HostPort { host: string, port: number }

interface Auth {
  /** REDIS_USERNAME / REDIS_PASSWORD: the data nodes' ACL user (Sentinel and Cluster; a single Redis takes them in REDIS_URL). */
  username?: string
  password?: string
  /** REDIS_TLS=true: TLS to the data nodes (and to the sentinels). */
  tls: boolean
}

export type RedisTarget =
  | { mode: 'single', url: string }
  | ({ mode: 'sentinel', sentinels: HostPort[], name: string, sentinelPassword?: string } & Auth)
  | ({ mode: 'cluster', nodes: HostPort[] } & Auth)

type Env = Record<string, string | undefined>

const DEFAULT_URL = 'redis://127.0.0.1:6379'

function optional (env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

export function parseRedisTarget (env: Env): RedisTarget {
  const sentinels = optional(env, 'REDIS_SENTINELS')
  const cluster = optional(env, 'REDIS_CLUSTER_NODES')
  const url = optional(env, 'REDIS_URL')
  if (sentinels !== undefined && cluster !== undefined) throw new ConfigError('REDIS_SENTINELS', 'and REDIS_CLUSTER_NODES are exclusive: give one')
  // Two answers to "which Redis" would leave one silently ignored.
  if (sentinels !== undefined && url !== undefined) throw new ConfigError('REDIS_SENTINELS', 'and REDIS_URL are exclusive: unset REDIS_URL for Sentinel')
  if (cluster !== undefined && url !== undefined) throw new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_URL are exclusive: unset REDIS_URL for Cluster')
  if (sentinels !== undefined) {
    const name = optional(env, 'REDIS_SENTINEL_NAME')
    if (name === undefined) throw new ConfigError('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS (the monitored primary\'s name, e.g. mymaster)')
    return { mode: 'sentinel', sentinels: hostPorts('REDIS_SENTINELS', sentinels), name, sentinelPassword: optional(env, 'REDIS_SENTINEL_PASSWORD'), ...auth(env) }
  }
  for (const v of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD']) {
    if (optional(env, v) !== undefined) throw new ConfigError(v, 'is only used with REDIS_SENTINELS')
  }
  if (cluster !== undefined) return { mode: 'cluster', nodes: hostPorts('REDIS_CLUSTER_NODES', cluster), ...auth(env) }
  // REDIS_USERNAME / REDIS_PASSWORD / REDIS_TLS are not read here: a single Redis takes them in REDIS_URL, and
  // an install that already sets REDIS_PASSWORD for its Redis container must keep starting.
  return { mode: 'single', url: singleUrl(url ?? DEFAULT_URL) }
}

function singleUrl (raw: string): string {
  let parsed: URL
  try { parsed = new URL(raw) } catch { throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL') }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError('REDIS_URL', 'must be a redis:// or rediss:// URL')
  return raw
}

function hostPorts (variable: string, raw: string): HostPort[] {
  const list = raw.split(',').map(s => s.trim()).filter(Boolean)
  if (list.length === 0) throw new ConfigError(variable, 'must list host:port entries separated by commas')
  return list.map((entry) => {
    // host:port, [v6]:port
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry)
    const port = m === null ? NaN : Number(m[2])
    if (m === null || port < 1 || port > 65535) throw new ConfigError(variable, `has an invalid entry "${entry}" (expected host:port)`)
    return { host: m[1].replace(/^\[|\]$/g, ''), port }
  })
}

function auth (env: Env): Auth {
  const tls = optional(env, 'REDIS_TLS')
  if (tls !== undefined && !/^(true|false|1|0|yes|no)$/i.test(tls)) throw new ConfigError('REDIS_TLS', `must be true or false, got "${tls}"`)
  return { username: optional(env, 'REDIS_USERNAME'), password: optional(env, 'REDIS_PASSWORD'), tls: tls !== undefined && /^(true|1|yes)$/i.test(tls) }
}

/**
 * On a Cluster every key of the spoke carries one hash tag, so its Lua scripts, MULTI blocks and BullMQ's
 * scripts (which need a `{tagged}` prefix) never span slots. One tag means one slot: the spoke's data lives on
 * one primary (and its replicas) — correctness over sharding; run another spoke prefix for more.
 */
export function clusterKeyPrefix (prefix: string): string {
  // Redis hashes the part between the first '{' and the next '}' when it is not empty.
  return /^[^{]*\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`
}
