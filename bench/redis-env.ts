// The Redis a benchmark uses: the one the product would use from this environment (REDIS_URL, or the
// Sentinel or Cluster variables; src/config/redis-target.ts), for this process, its children and the
// in-process test spokes (whose helper otherwise sets REDIS_URL alone).
import { clusterKeyPrefix, parseRedisTarget, type RedisTarget } from '../src/config/redis-target'

const VARIABLES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_CLUSTER_NODES', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS']

export function benchRedisTarget (env: NodeJS.ProcessEnv = process.env): RedisTarget {
  return parseRedisTarget(env)
}

/** The Redis variables of this environment to hand on (REDIS_URL emptied for Sentinel or Cluster: they are exclusive). */
export function benchRedisEnv (env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const v of VARIABLES) if (env[v] !== undefined && env[v] !== '') out[v] = env[v]
  if (out.REDIS_SENTINELS !== undefined || out.REDIS_CLUSTER_NODES !== undefined) out.REDIS_URL = ''
  else out.REDIS_URL ??= 'redis://127.0.0.1:6379'
  return out
}

/** A key prefix usable on the target: hash-tagged on a Cluster, so a script's keys share one slot. */
export function benchKeyPrefix (prefix: string, target: RedisTarget): string {
  return target.mode === 'cluster' ? clusterKeyPrefix(prefix) : prefix
}
