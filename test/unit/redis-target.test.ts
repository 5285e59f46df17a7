import { loadConfig, ConfigError } from '../../src/config/env'
import { clusterKeyPrefix } from '../../src/config/redis-target'
import { isConnectionError } from '../../src/lib/redis'

function variableOf (env: Record<string, string>): string | undefined {
  try { loadConfig(env) } catch (err) { return err instanceof ConfigError ? err.variable : 'not a ConfigError' }
  return undefined
}

describe('Redis target', () => {
  it('defaults to one Redis at REDIS_URL, prefix unchanged', () => {
    const c = loadConfig({ REDIS_URL: 'redis://10.0.0.1:6380', SPOKE_KEY_PREFIX: 'spoke' })
    expect(c.redis).toEqual({ mode: 'single', url: 'redis://10.0.0.1:6380' })
    expect(c.redisUrl).toBe('redis://10.0.0.1:6380')
    expect(c.keyPrefix).toBe('spoke')
  })

  it('reads a Sentinel group and keeps the prefix', () => {
    const c = loadConfig({ REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'sp', REDIS_PASSWORD: 'p' })
    expect(c.redis).toEqual({ mode: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }], name: 'mymaster', sentinelPassword: 'sp', username: undefined, password: 'p', tls: false })
    expect(c.keyPrefix).toBe('spoke')
  })

  it('reads Cluster nodes and hash-tags the prefix so every key is in one slot', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001', REDIS_TLS: 'true' })
    expect(c.redis).toMatchObject({ mode: 'cluster', nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }], tls: true })
    expect(c.keyPrefix).toBe('{spoke}')
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', SPOKE_KEY_PREFIX: 'x{t}' }).keyPrefix).toBe('x{t}')
    expect(clusterKeyPrefix('a{}b')).toBe('{a{}b}')
  })

  it.each([
    [{ REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 'a:1', REDIS_URL: 'redis://x' }, 'REDIS_SENTINELS'],
    [{ REDIS_CLUSTER_NODES: 'a:1', REDIS_URL: 'redis://x' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINELS: 'a:1' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_SENTINELS: 'a', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS'],
    [{ REDIS_CLUSTER_NODES: 'a:99999' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: ' , ' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_CLUSTER_NODES: 'a:1', REDIS_TLS: 'maybe' }, 'REDIS_TLS']
  ])('refuses %j naming %s', (env, variable) => {
    expect(variableOf(env as Record<string, string>)).toBe(variable)
  })
})

describe('isConnectionError', () => {
  it('takes the errors of a failover in progress for unreachability, not for faults of their own', () => {
    for (const message of [
      'All sentinels are unreachable. Retrying from scratch after 10ms.',
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
      'CLUSTERDOWN The cluster is down',
      'Failed to refresh slots cache.',
      'None of startup nodes is available',
      'write ECONNRESET'
    ]) expect(isConnectionError(new Error(message))).toBe(true)
    expect(isConnectionError(new Error('ERR wrong number of arguments for \'hset\' command'))).toBe(false)
    expect(isConnectionError(new Error('READONLY You can\'t write against a read only replica.'))).toBe(false)
  })
})
