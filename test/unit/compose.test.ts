// docker-compose.yml stays true to the code (there is no Docker engine here to run it): Redis keeps its keys
// (AOF, noeviction, a memory ceiling); every spoke service runs the image's entry point in a role the config
// knows, with only variables the spoke reads; the scale profile is 2 api and 3 worker processes on one Redis.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadConfig } from '../../src/config/env'

const root = join(__dirname, '..', '..')

interface Service { image?: string, build?: string, command?: string[], environment?: Record<string, string>, profiles?: string[], ports?: string[], deploy?: { replicas?: number }, volumes?: string[], healthcheck?: { test?: string[] } }
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>, volumes?: Record<string, unknown> }
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
const services = Object.entries(compose.services)
const spokes = services.filter(([, s]) => s.image?.startsWith('confluence-cloud-spoke') === true)

/** Every environment variable the spoke reads: the configuration (recorded as loadConfig reads it), the
 * previous master key, and the `${NAME}` placeholders of the shipped alias files. */
function variablesRead (): Set<string> {
  const read = new Set<string>(['NODE_ENV', 'SPOKE_MASTER_KEY_PREVIOUS'])
  loadConfig(new Proxy({}, { get: (_t, name) => { if (typeof name === 'string') read.add(name); return undefined } }))
  for (const file of readdirSync(join(root, 'connections')).filter(f => f.endsWith('.json'))) {
    for (const m of readFileSync(join(root, 'connections', file), 'utf8').matchAll(/\$\{([A-Z0-9_]+)\}/g)) read.add(m[1])
  }
  return read
}

it('runs Redis with AOF (fsync every second), noeviction and a maxmemory', () => {
  const args = compose.services.redis.command ?? []
  const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1]
  expect(args[0]).toBe('redis-server')
  expect(value('--appendonly')).toBe('yes')
  expect(value('--appendfsync')).toBe('everysec')
  expect(value('--maxmemory-policy')).toBe('noeviction')
  expect(value('--maxmemory')).toMatch(/^(\d+(kb|mb|gb)?|\$\{REDIS_MAXMEMORY:-\d+(kb|mb|gb)\})$/)
})

it('runs the image entry point (dist/server.js, built from src/server.ts) in a known role with variables the spoke reads', () => {
  expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(/CMD \["node", "dist\/server\.js"\]/)
  expect(existsSync(join(root, 'src', 'server.ts'))).toBe(true)
  const known = variablesRead()
  expect(spokes.length).toBeGreaterThanOrEqual(4)
  for (const [name, s] of spokes) {
    expect([name, s.command]).toEqual([name, undefined]) // the image's CMD, the one entry point
    const env = s.environment ?? {}
    expect([name, Object.keys(env).filter(v => !known.has(v))]).toEqual([name, []])
    expect([name, ['api', 'worker'].includes(env.SPOKE_ROLE)]).toEqual([name, true])
    // One Redis and one key prefix for all: the same REDIS_URL, no per-service SPOKE_KEY_PREFIX.
    expect([name, env.REDIS_URL, env.SPOKE_KEY_PREFIX]).toEqual([name, 'redis://redis:6379', undefined])
    // The master key, API keys and the site's rate budget must be the same in every process.
    for (const shared of ['SPOKE_MASTER_KEY', 'SPOKE_API_KEYS', 'SPOKE_SITE_RATE_PER_SECOND']) expect([name, env[shared]]).toEqual([name, spokes[0][1].environment?.[shared]])
    // The config would refuse a bad value: each default of a ${NAME:-default} is valid.
    const defaults = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, /^\$\{[A-Z0-9_]+:-(.*)\}$/.exec(v)?.[1] ?? (v.startsWith('${') ? undefined : v)]))
    expect(() => loadConfig({ ...defaults, SPOKE_MASTER_KEY: undefined, SPOKE_API_KEYS: undefined })).not.toThrow()
  }
})

it('has a scale profile of 2 api and 3 worker processes on the one Redis, each api on its own host port', () => {
  const count = (profile: string | undefined, role: string): number => spokes
    .filter(([, s]) => s.profiles === undefined || (profile !== undefined && s.profiles.includes(profile)))
    .filter(([, s]) => s.environment?.SPOKE_ROLE === role)
    .reduce((n, [, s]) => n + (s.deploy?.replicas ?? 1), 0)
  expect([count(undefined, 'api'), count(undefined, 'worker')]).toEqual([1, 1])
  expect([count('scale', 'api'), count('scale', 'worker')]).toEqual([2, 3])
  const hostPorts = spokes.filter(([, s]) => s.environment?.SPOKE_ROLE === 'api').map(([, s]) => (s.ports ?? [])[0]?.split(':')[0])
  expect(new Set(hostPorts).size).toBe(hostPorts.length)
  // An api service is published once (replicas of one service would fight over its host port).
  for (const [, s] of spokes) if (s.environment?.SPOKE_ROLE === 'api') expect(s.deploy?.replicas ?? 1).toBe(1)
  // Exactly one service builds the image the others run.
  expect(spokes.filter(([, s]) => s.build !== undefined)).toHaveLength(1)
  expect(services.filter(([n]) => n.startsWith('redis'))).toHaveLength(1)
})

it('gives every spoke process (api and worker) the one named volume at the image\'s SPOKE_DATA_DIR', () => {
  const dataDir = /ENV .*SPOKE_DATA_DIR=(\S+)/.exec(dockerfile)?.[1]
  expect(dataDir).toBe('/data')
  const mounts = spokes.map(([name, s]) => [name, (s.volumes ?? []).filter(v => v.split(':')[1] === dataDir)])
  // One mount each, of a named volume (not a path: the api must read what the workers write, on any host).
  const volume = (s: Service): string | undefined => (s.volumes ?? []).find(v => v.split(':')[1] === dataDir)?.split(':')[0]
  for (const [name, found] of mounts) expect([name, (found as string[]).length]).toEqual([name, 1])
  const names = new Set(spokes.map(([, s]) => volume(s)))
  expect(names.size).toBe(1)
  const [name] = [...names] as string[]
  expect(name).toMatch(/^[a-z][a-z0-9_-]*$/)
  expect(Object.keys(compose.volumes ?? {})).toContain(name)
  // The image hands /data to the user it runs as, so a new named volume is writable.
  expect(dockerfile).toMatch(/chown node:node \/data/)
  expect(dockerfile).toMatch(/^USER node$/m)
})

it('checks the health of every spoke process, api and worker alike, on its own PORT', () => {
  const healthz = /fetch\('http:\/\/127\.0\.0\.1:'\+process\.env\.PORT\+'\/healthz'\)/
  expect(dockerfile).toMatch(healthz)
  for (const [name, s] of spokes) {
    expect([name, s.healthcheck?.test?.[0]]).toEqual([name, 'CMD'])
    expect([name, healthz.test((s.healthcheck?.test ?? []).join(' '))]).toEqual([name, true])
  }
  // Workers answer it: src/server.ts listens in every role (test/integration/worker-http.test.ts runs one).
  expect(spokes.filter(([, s]) => s.environment?.SPOKE_ROLE === 'worker').length).toBeGreaterThanOrEqual(2)
})
