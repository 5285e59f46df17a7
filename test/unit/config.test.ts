import { randomBytes } from 'node:crypto'
import { loadConfig, ConfigError } from '../../src/config/env'

function expectConfigError (env: Record<string, string>, variable: string): void {
  let caught: unknown
  try { loadConfig(env) } catch (err) { caught = err }
  expect(caught).toBeInstanceOf(ConfigError)
  expect((caught as ConfigError).variable).toBe(variable)
  expect((caught as Error).message).toContain(variable)
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({
      port: 3000, host: '127.0.0.1', redisUrl: 'redis://127.0.0.1:6379', role: 'all',
      publicUrl: 'http://localhost:3000', atlassianAuthUrl: 'https://auth.atlassian.com',
      atlassianApiUrl: 'https://api.atlassian.com', actionsDir: 'actions', connectionsDir: 'connections',
      dataDir: '.data', workerConcurrency: 8, logLevel: 'info', redisWaitMs: 250, redisWaitReplicas: 1
    })
    expect(c.masterKey).toBeUndefined()
    expect(c.apiKeys).toBeUndefined()
    expect(c.allowedHosts).toEqual(expect.arrayContaining(['auth.atlassian.com', 'api.atlassian.com', '*.atlassian.net']))
  })

  it('defaults SPOKE_PUBLIC_URL to the PORT in use (the redirect URI must reach this process)', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080')
    expect(loadConfig({ PORT: '8080', SPOKE_PUBLIC_URL: 'https://spoke.example.com' }).publicUrl).toBe('https://spoke.example.com')
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ SPOKE_ROLE: 'scheduler' }, 'SPOKE_ROLE'],
    [{ SPOKE_MASTER_KEY: 'not base64!' }, 'SPOKE_MASTER_KEY'],
    [{ SPOKE_MASTER_KEY: randomBytes(16).toString('base64') }, 'SPOKE_MASTER_KEY'],
    [{ SPOKE_API_KEYS: 'root:abcdefghijklmnopq' }, 'SPOKE_API_KEYS'],
    [{ SPOKE_API_KEYS: 'admin:short' }, 'SPOKE_API_KEYS'],
    [{ REDIS_URL: 'http://localhost:6379' }, 'REDIS_URL'],
    [{ SPOKE_PUBLIC_URL: 'not a url' }, 'SPOKE_PUBLIC_URL'],
    [{ ATLASSIAN_AUTH_URL: 'ftp://auth.example' }, 'ATLASSIAN_AUTH_URL'],
    [{ SPOKE_ALLOWED_HOSTS: 'good.example,bad host' }, 'SPOKE_ALLOWED_HOSTS'],
    [{ SPOKE_WORKER_CONCURRENCY: '0' }, 'SPOKE_WORKER_CONCURRENCY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SPOKE_VALIDATE_OUTPUT: 'maybe' }, 'SPOKE_VALIDATE_OUTPUT'],
    [{ SPOKE_TRUST_PROXY: 'proxy.internal' }, 'SPOKE_TRUST_PROXY'],
    [{ SPOKE_TRUST_PROXY: '99' }, 'SPOKE_TRUST_PROXY'],
    [{ SPOKE_REDIS_WAIT_MS: '-1' }, 'SPOKE_REDIS_WAIT_MS'],
    [{ SPOKE_REDIS_WAIT_MS: '20000' }, 'SPOKE_REDIS_WAIT_MS'],
    [{ SPOKE_REDIS_WAIT_REPLICAS: '0' }, 'SPOKE_REDIS_WAIT_REPLICAS']
  ])('rejects %j naming %s', (env, variable) => {
    expectConfigError(env as Record<string, string>, variable)
  })

  it('accepts a 32-byte base64 master key and role:key pairs', () => {
    const key = randomBytes(32)
    const c = loadConfig({ SPOKE_MASTER_KEY: key.toString('base64'), SPOKE_API_KEYS: 'admin:aaaaaaaaaaaaaaaa, viewer:bbbbbbbbbbbbbbbb' })
    expect(c.masterKey?.equals(key)).toBe(true)
    expect(c.apiKeys).toEqual([{ role: 'admin', key: 'aaaaaaaaaaaaaaaa' }, { role: 'viewer', key: 'bbbbbbbbbbbbbbbb' }])
  })

  it.each([
    [undefined, false], ['false', false], ['true', true], ['2', 2], ['10.0.0.0/8, 192.0.2.7', ['10.0.0.0/8', '192.0.2.7']]
  ])('reads SPOKE_TRUST_PROXY=%s as %j', (value, trust) => {
    expect(loadConfig(value === undefined ? {} : { SPOKE_TRUST_PROXY: value }).trustProxy).toEqual(trust)
  })

  it('always allows the configured Atlassian hosts, even with an explicit list', () => {
    const c = loadConfig({ SPOKE_ALLOWED_HOSTS: '*.atlassian.net', ATLASSIAN_AUTH_URL: 'http://127.0.0.1:4010', ATLASSIAN_API_URL: 'http://127.0.0.1:4010' })
    expect(c.allowedHosts).toEqual(['*.atlassian.net', '127.0.0.1:4010'])
  })
})

describe('tracing (the standard OTEL_* variables)', () => {
  const ep = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }
  it.each<[Record<string, string>, unknown]>([
    [{}, undefined],
    [ep, { protocol: 'http/protobuf' }],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, { protocol: 'http/json' }],
    [{ ...ep, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }, { protocol: 'http/protobuf' }],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, { protocol: 'http/protobuf' }],
    [{ ...ep, OTEL_TRACES_EXPORTER: 'none' }, undefined],
    [{ ...ep, OTEL_SDK_DISABLED: 'true' }, undefined],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'TRUE' }, undefined],
    [{ ...ep, OTEL_SDK_DISABLED: 'false' }, { protocol: 'http/protobuf' }]
  ])('%j → %j', (env, tracing) => {
    expect(loadConfig(env).tracing).toEqual(tracing)
  })

  it('takes SPOKE_REDIS_WAIT_MS=0 as waiting turned off', () => {
    expect(loadConfig({ SPOKE_REDIS_WAIT_MS: '0', SPOKE_REDIS_WAIT_REPLICAS: '2' })).toMatchObject({ redisWaitMs: 0, redisWaitReplicas: 2 })
  })

  it('refuses exporters and protocols it cannot serve, naming the variable', () => {
    expectConfigError({ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER')
    expectConfigError({ ...ep, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL')
    expectConfigError({ ...ep, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
  })
})
