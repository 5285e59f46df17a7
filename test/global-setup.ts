// Integration project global setup: use REDIS_URL when set (CI and developer machines run Redis),
// otherwise start a throwaway Redis with testcontainers (only where a Docker engine exists).
import { Redis } from 'ioredis'

export default async function globalSetup (): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  if (await answers(url)) { process.env.REDIS_URL = url; return }
  if (process.env.REDIS_URL) throw new Error(`REDIS_URL=${url} does not answer PING`)
  const { RedisContainer } = await import('@testcontainers/redis')
  const container = await new RedisContainer('redis:7-alpine').start()
  process.env.REDIS_URL = container.getConnectionUrl()
  ;(globalThis as Record<string, unknown>).__redisContainer = container
}

async function answers (url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
  probe.on('error', () => {})
  try { await probe.connect(); return (await probe.ping()) === 'PONG' } catch { return false } finally { probe.disconnect() }
}
