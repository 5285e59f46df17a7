// One Redis factory, three option sets (BullMQ "going to production"): the HTTP path fails fast instead
// of queueing commands while Redis is away; workers wait for it forever, as BullMQ requires.
import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'

export type RedisRole = 'producer' | 'worker' | 'store'

const optionsFor: Record<RedisRole, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true },
  worker: { maxRetriesPerRequest: null, enableOfflineQueue: true },
  store: { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
}

export function createRedis (url: string, role: RedisRole, extra: RedisOptions = {}, watch?: RedisWatch): Redis {
  const client = new Redis(url, {
    ...optionsFor[role],
    connectionName: `confluence-spoke:${role}`,
    // Reconnect forever with a capped backoff: readiness follows Redis down and back up without a restart.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...extra
  })
  // Connection errors are reported by /readyz, by the commands that fail and (once per outage) by the
  // watch; an unhandled 'error' event would otherwise crash the process.
  client.on('error', (err: Error) => watch?.failed(err))
  if (watch) client.on('ready', () => watch.ready())
  return client
}

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|Stream isn't writeable|Reached the max retries/i

/** An error that only says Redis is unreachable (already reported by the watch), not a fault of its own. */
export function isConnectionError (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown } | undefined
  return CONNECTION_ERROR.test(`${String(e?.code ?? '')} ${String(e?.message ?? err)}`)
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
