// One Redis factory, three option sets (BullMQ "going to production"): the HTTP path fails fast instead
// of queueing commands while Redis is away; workers wait for it forever, as BullMQ requires.
// The target is a single Redis, a Sentinel-managed primary or a Cluster (config/redis-target.ts). A Cluster
// client is handed out typed as `Redis`: the spoke only uses commands, MULTI, EVAL, defineCommand, pub/sub,
// status and quit, which ioredis's Cluster implements alike (and BullMQ accepts either).
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import type { RedisTarget } from '../config/redis-target'

export type RedisRole = 'producer' | 'worker' | 'store'

const optionsFor: Record<RedisRole, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true },
  worker: { maxRetriesPerRequest: null, enableOfflineQueue: true },
  store: { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
}

// Reconnect forever with a capped backoff: readiness follows Redis down and back up without a restart.
const backoff = (times: number): number => Math.min(times * 200, 2_000)

// After a Sentinel failover the old primary may come back as a replica while a client is still connected to
// it: a write answered READONLY reconnects (ioredis then asks the sentinels for the new primary) and is resent.
const reconnectOnReadonly = (err: Error): 2 | false => err.message.startsWith('READONLY') ? 2 : false

export function createRedis (target: RedisTarget | string, role: RedisRole, extra: RedisOptions = {}, watch?: RedisWatch): Redis {
  const t: RedisTarget = typeof target === 'string' ? { mode: 'single', url: target } : target
  const options: RedisOptions = { ...optionsFor[role], connectionName: `confluence-spoke:${role}`, retryStrategy: backoff, ...extra }
  let client: Redis
  if (t.mode === 'single') {
    client = new Redis(t.url, options)
  } else if (t.mode === 'sentinel') {
    client = new Redis({
      ...options,
      sentinels: t.sentinels,
      name: t.name,
      sentinelPassword: t.sentinelPassword,
      username: t.username,
      password: t.password,
      ...(t.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      // On a lost connection ioredis asks the sentinels for the primary again (forever, by default).
      // failoverDetector stays off: in ioredis 5.11 its sentinel connections outlive disconnect().
      reconnectOnError: reconnectOnReadonly
    })
  } else {
    client = new Cluster(t.nodes, clusterOptions(options, t, role)) as unknown as Redis
  }
  // Connection errors are reported by /readyz, by the commands that fail and (once per outage) by the
  // watch; an unhandled 'error' event would otherwise crash the process.
  client.on('error', (err: Error) => watch?.failed(err))
  if (watch) client.on('ready', () => watch.ready())
  return client
}

function clusterOptions (options: RedisOptions, auth: { username?: string, password?: string, tls: boolean }, role: RedisRole): ClusterOptions {
  const { enableOfflineQueue, enableAutoPipelining, retryStrategy, ...node } = options
  return {
    enableOfflineQueue,
    enableAutoPipelining,
    clusterRetryStrategy: (times: number) => retryStrategy?.(times) ?? backoff(times),
    // A failover moves slots: ask again for the slot map soon, and wait a little for a new primary.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    // Each such wait counts as a redirection. The default 16 (about 3 s) is shorter than a primary's
    // failover (cluster-node-timeout, then an election): a worker's command (a job's checkpoint write)
    // failed and the job took another attempt. Workers wait up to about 30 s, as they wait for a single
    // Redis; the HTTP path keeps the default and fails fast.
    ...(role === 'worker' ? { maxRedirections: 150 } : {}),
    slotsRefreshTimeout: 2_000,
    redisOptions: { ...node, username: auth.username, password: auth.password, ...(auth.tls ? { tls: {} } : {}) }
  }
}

/** A second connection like `client` with other options (e.g. a pub/sub subscriber), for any kind of target. */
export function duplicateRedis (client: Redis, override: RedisOptions): Redis {
  if (!isCluster(client)) return client.duplicate(override)
  const cluster = client as unknown as Cluster
  const { enableOfflineQueue, ...node } = override
  // Cluster.duplicate merges options shallowly: keep the node options (auth, TLS) under the override.
  return cluster.duplicate([], {
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    redisOptions: { ...cluster.options.redisOptions, ...node }
  }) as unknown as Redis
}

export function isCluster (client: Redis): boolean {
  return (client as unknown as { isCluster?: boolean }).isCluster === true
}

// (the last ones: a Sentinel or Cluster failover in progress — no sentinel names a reachable primary yet, or
// the slot's primary is gone and its replica not yet promoted)
const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|Stream isn't writeable|Reached the max retries|All sentinels are unreachable|Too many Cluster redirections|CLUSTERDOWN|Failed to refresh slots cache|None of startup nodes is available/i

/** An error that only says Redis is unreachable (already reported by the watch), not a fault of its own. */
export function isConnectionError (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown } | undefined
  return CONNECTION_ERROR.test(`${String(e?.code ?? '')} ${String(e?.message ?? err)}`)
}

/**
 * Runs `fn` again while it fails for want of a Redis connection (a fail-fast client reconnecting, a failover),
 * backing off to 1 s, for at most `boundMs`; any other error, or the bound, is thrown. For work inside a job
 * that must go through a fail-fast connection: the job rides out a blip instead of failing its attempt.
 */
export async function retryWhileDisconnected<T> (fn: () => Promise<T>, boundMs = 15_000): Promise<T> {
  const deadline = Date.now() + boundMs
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      return await fn()
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + delay > deadline) throw err
      await new Promise(resolve => setTimeout(resolve, delay))
    }
  }
}

/**
 * The process's view of Redis across all its clients: one warn line when it becomes unreachable and one
 * info line when it is back, with how many connection errors were swallowed in between — not a line per
 * reconnect attempt of every client.
 */
export class RedisWatch {
  private down = false
  private errors = 0
  private since = 0

  constructor (private readonly log: Logger) {}

  failed (err: Error): void {
    if (!isConnectionError(err)) { this.log.warn({ err: err.message }, 'Redis client error'); return }
    this.errors++
    if (this.down) return
    this.down = true
    this.since = Date.now()
    this.log.warn({ err: err.message }, 'Redis unreachable: routes that need it answer 503 and /readyz is 503 until it returns')
  }

  ready (): void {
    if (!this.down) return
    this.log.info({ connectionErrors: this.errors, downForMs: Date.now() - this.since }, 'Redis reachable again')
    this.down = false
    this.errors = 0
  }

  get isDown (): boolean { return this.down }
}
