// One Redis factory, three option sets (BullMQ "going to production"): the HTTP path fails fast instead
// of queueing commands while Redis is away; workers wait for it forever, as BullMQ requires.
import { Redis, type RedisOptions } from 'ioredis'

export type RedisRole = 'producer' | 'worker' | 'store'

const optionsFor: Record<RedisRole, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true },
  worker: { maxRetriesPerRequest: null, enableOfflineQueue: true },
  store: { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
}

export function createRedis (url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    ...optionsFor[role],
    connectionName: `confluence-spoke:${role}`,
    // Reconnect forever with a capped backoff: readiness follows Redis down and back up without a restart.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...extra
  })
  // Connection errors are reported by /readyz and by the commands that fail; an unhandled 'error'
  // event would otherwise crash the process.
  client.on('error', () => {})
  return client
}
