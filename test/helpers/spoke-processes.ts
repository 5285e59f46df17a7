// A deployment of the real spoke as separate OS processes (src/server.ts run by tsx): api processes on
// their own ports and worker processes, all on one Redis key prefix and master key, pointed at a simulator.
// For the many-processes test and the scale benchmark.
import { randomBytes, randomUUID } from 'node:crypto'
import { request } from 'undici'
import { loadConfig, type Config } from '../../src/config/env'
import { freePort, startTsxProcess, type ChildProcessHandle } from './child-process'
import { WORKER_READY } from './worker-process'

export interface Deployment {
  /** As given; `config.keyPrefix` is what the processes use (hash-tagged on a Cluster). */
  keyPrefix: string
  /** The configuration every process loads (its `redis` target and `keyPrefix`, for clients of the test's own). */
  config: Config
  keys: { admin: string, invoker: string, viewer: string }
  /** The environment every process of the deployment shares. */
  env: Record<string, string>
}

export interface ApiProcess extends ChildProcessHandle { base: string }
/** `base`: the worker's own HTTP port (/healthz, /readyz, /metrics only). */
export interface WorkerProc extends ChildProcessHandle { id: string, base: string }

/** The Redis variables of the product (config/redis-target.ts) as this process has them: a single Redis, Sentinel or Cluster. */
const REDIS_VARIABLES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_CLUSTER_NODES', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS']

export function redisEnv (from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const given = Object.fromEntries(REDIS_VARIABLES.flatMap(v => from[v] === undefined || from[v] === '' ? [] : [[v, from[v] as string]]))
  return Object.keys(given).length > 0 ? given : { REDIS_URL: 'redis://127.0.0.1:6379' }
}

/** Shared settings of one deployment on the Redis this process is configured for; `env` adds to (or overrides) them for every process. */
export function newDeployment (simUrl: string, env: Record<string, string> = {}): Deployment {
  const keyPrefix = `mp${randomBytes(5).toString('hex')}`
  const keys = { admin: `adm_${randomUUID()}`, invoker: `inv_${randomUUID()}`, viewer: `vwr_${randomUUID()}` }
  const all: Record<string, string> = {
    NODE_ENV: 'test',
    ...redisEnv(),
    SPOKE_KEY_PREFIX: keyPrefix,
    SPOKE_MASTER_KEY: randomBytes(32).toString('base64'),
    SPOKE_API_KEYS: `admin:${keys.admin},invoker:${keys.invoker},viewer:${keys.viewer}`,
    SPOKE_DATA_DIR: `/tmp/spoke-${keyPrefix}`,
    ATLASSIAN_AUTH_URL: simUrl,
    ATLASSIAN_API_URL: simUrl,
    SPOKE_PRIVACY_REPORT_EVERY_SECONDS: '0',
    LOG_LEVEL: 'warn',
    ...env
  }
  return { keyPrefix, keys, env: all, config: loadConfig(all) }
}

/** An api process on a port of its own; resolves once /readyz answers 200. */
export async function startApiProcess (d: Deployment, env: Record<string, string> = {}): Promise<ApiProcess> {
  const port = await freePort()
  const proc = await startTsxProcess('src/server.ts', { env: { ...d.env, SPOKE_ROLE: 'api', PORT: String(port), ...env } })
  const base = `http://127.0.0.1:${port}`
  // A bound, not a timing: a start on a machine loaded by other suites took over 30 s once.
  const deadline = Date.now() + 90_000
  for (;;) {
    const status = await request(`${base}/readyz`).then(async (r) => { await r.body.dump(); return r.statusCode }, () => 0)
    if (status === 200) return { ...proc, base }
    if (proc.proc.exitCode !== null || Date.now() > deadline) { await proc.kill('SIGKILL'); throw new Error(`api process not ready: ${proc.output().slice(-2000)}`) }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** A worker process; resolves once it logged "workers started", with its worker id (the job view's `worker`). */
export async function startWorkerProc (d: Deployment, env: Record<string, string> = {}): Promise<WorkerProc> {
  const port = await freePort()
  const proc = await startTsxProcess('src/server.ts', { ready: WORKER_READY, env: { ...d.env, SPOKE_ROLE: 'worker', PORT: String(port), LOG_LEVEL: 'info', ...env } })
  const line = proc.output().split('\n').find(l => l.includes('workers started')) ?? ''
  const id = (JSON.parse(line) as { worker?: string }).worker
  if (id === undefined) { await proc.kill('SIGKILL'); throw new Error(`the worker did not name itself: ${line}`) }
  return { ...proc, id, base: `http://127.0.0.1:${port}` }
}

/** One JSON request to an api process; `key` is sent as a bearer token. */
export async function callApi (base: string, method: 'GET' | 'POST' | 'PUT', path: string, key: string, body?: unknown): Promise<{ status: number, json: any }> {
  const res = await request(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.body.text()
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) }
}

/** An alias on client credentials to the simulator's site, with a token (through one api process). */
export async function connectClientCredentials (base: string, d: Deployment, sim: { url: string, clientId: string, clientSecret: string, defaultCloudId: string }, doc: Record<string, unknown> = {}, alias = 'confluence_cloud'): Promise<void> {
  const put = await callApi(base, 'PUT', `/v1/connections/${alias}`, d.keys.admin, {
    name: 'Simulator',
    connectionUrl: `${sim.url}/`,
    credential: { type: 'oauth2_client_credentials', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: CC_SCOPES, tokenUrl: `${sim.url}/oauth/token` },
    site: { cloudId: sim.defaultCloudId },
    ...doc
  })
  if (put.status !== 200 && put.status !== 201) throw new Error(`PUT alias: ${put.status} ${JSON.stringify(put.json)}`)
  const tok = await callApi(base, 'POST', `/v1/connections/${alias}/token`, d.keys.admin)
  if (tok.status !== 200) throw new Error(`POST token: ${tok.status} ${JSON.stringify(tok.json)}`)
}

const CC_SCOPES = ['read:page:confluence', 'search:confluence', 'read:confluence-groups', 'write:confluence-groups', 'read:confluence-user', 'read:me', 'read:account']

/** Polls GET /v1/jobs/{id} on `base` until `until(job)` holds. */
export async function waitForJobAt (base: string, key: string, id: string, until: (job: any) => boolean = j => ['completed', 'failed', 'cancelled'].includes(j.state), timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { status, json } = await callApi(base, 'GET', `/v1/jobs/${id}`, key)
    if (status === 200 && until(json)) return json
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(json).slice(0, 500)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
