// OpenTelemetry tracing (docs/observability.md), end to end: the spoke runs as a real process (api and
// worker roles, src/server.ts) with the standard OTEL_* variables pointing at a local OTLP/HTTP receiver
// (JSON). A caller's traceparent is continued by the server span, the engine's span, the job's consumer
// span and a client span per upstream request, whose own traceparent is the one the simulator recorded.
// The requests outside the Confluence client have theirs too: token and accessible-resources requests, the
// Organizations API, job callbacks and webhook batches (whose in-test receiver checks the traceparent it
// got); a schedule's tick starts a trace of its own.
// The batch delay is longer than the test: every span arrives at SIGTERM, when the spoke flushes on close.
// With the OTEL_* variables unset the SDK is never loaded (a child process checks Node's module cache;
// observability.test.ts checks the explicit propagation that stays as it was).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, consentUntilCallback, http, simulatorEnv } from '../helpers/connect'
import { waitForJob } from '../helpers/jobs'
import { readSink } from '../helpers/crawl'
import { freePort, ROOT, startTsxProcess, type ChildProcessHandle } from '../helpers/child-process'

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes?: Array<{ key: string, value: Record<string, unknown> }>
  events?: Array<{ name: string }>
}
const KIND = { internal: 1, server: 2, client: 3, consumer: 5 }

let sim: Simulator
/** Sets up the alias and reads jobs, in this process (tracing off); the traced spoke shares its Redis prefix. */
let t: TestSpoke
let spoke: ChildProcessHandle
let base: string
let receiver: Server
const invoker = `inv_${randomUUID()}`
const admin = `adm_${randomUUID()}`
const dataDir = `/tmp/spoke-traced-${randomUUID()}`
const spans: OtlpSpan[] = []
const resources: Array<Record<string, unknown>> = []

const callerTrace = (n: string): { traceId: string, callerSpan: string, traceparent: string } => {
  const traceId = `4bf92f3577b34da6a3ce929d0e0e47${n}`
  const callerSpan = `00f067aa0ba902${n}`
  return { traceId, callerSpan, traceparent: `00-${traceId}-${callerSpan}-01` }
}
const SYNC = callerTrace('01')
const LIMITED = callerTrace('02')
const ASYNC = callerTrace('03')
const PROBE = callerTrace('04')
const CALLBACK = callerTrace('05')
const TOKEN = callerTrace('06')
const ORG = callerTrace('07')
const FIRST_USE = callerTrace('08')
const WEBHOOK = callerTrace('09')
// The admin routes that call Atlassian themselves, outside the engine or with it.
const OBTAIN = callerTrace('10')
const CONN_TEST = callerTrace('11')
const SETUP = callerTrace('12')
const CONSENT = callerTrace('13')
const CALLBACK_SECRET = 'tracing-callback-secret'
/** In the callback URL's query: the span may name the host, never the path or the query. */
const HOOK_QUERY_SECRET = 'hook-query-secret-7f3a'
const seen: {
  sync: string[], limited: string[], async: string[], jobId: string, tokens: string[]
  callback?: { traceparent?: string }, callbackJobId?: string, orgJobId?: string, schedule?: { jobId: string }
  /** The traceparent of each webhook batch the crawl POSTed. */
  webhook: Array<string | undefined>
} = { sync: [], limited: [], async: [], jobId: '', tokens: [], webhook: [] }
let hooks: Server
/** The authorization code the consent callback carried (no span may hold it). */
let consentCode = ''

async function execute (actionId: string, body: unknown, traceparent: string): Promise<{ status: number, json: any }> {
  const res = await fetch(`${base}/v1/actions/${actionId}/execute`, { method: 'POST', headers: { authorization: `Bearer ${invoker}`, 'content-type': 'application/json', traceparent }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() }
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json') === true) {
        for (const rs of JSON.parse(body).resourceSpans ?? []) {
          resources.push(Object.fromEntries((rs.resource?.attributes ?? []).map((a: any) => [a.key, Object.values(a.value)[0]])))
          for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans)
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>(resolve => receiver.listen(0, '127.0.0.1', resolve))
  // The job callback's receiver: it records the traceparent the delivery carried.
  let delivered: () => void = () => {}
  const callbackDelivered = new Promise<void>(resolve => { delivered = resolve })
  hooks = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const traceparent = req.headers.traceparent as string | undefined
      res.writeHead(204).end()
      if (req.url?.startsWith('/hooks/crawl') === true) { seen.webhook.push(traceparent); return }
      seen.callback = { traceparent }
      delivered()
    })
  })
  await new Promise<void>(resolve => hooks.listen(0, '127.0.0.1', resolve))
  sim = await startSimulator({ seed: 'tracing', size: 12 })
  t = await buildTestSpoke(simulatorEnv(sim))
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  await connectSimulatorAlias(t, sim, { alias: 'traced_org', grant: 'client_credentials', doc: { orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } } })
  seen.tokens.push((await t.core.connections.sessions.get('confluence_cloud')).accessToken)
  // An alias with no token and no site yet: its first traced call obtains both.
  const scopes = (await t.core.connections.sessions.alias('confluence_cloud'))!.scopes
  const put = await http(t, 'PUT', '/v1/connections/first_use', {
    key: t.keys.admin,
    body: {
      name: 'first use',
      connectionUrl: `${sim.url}/`,
      credential: { type: 'oauth2_client_credentials', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes, tokenUrl: `${sim.url}/oauth/token` },
      site: { cloudId: sim.defaultCloudId }
    }
  })
  expect(put.status).toBe(201)
  // An authorization-code alias whose consent is approved here; the traced spoke answers its callback.
  const threeLo = await http(t, 'PUT', '/v1/connections/traced_3lo', {
    key: t.keys.admin,
    body: {
      name: 'consent',
      connectionUrl: `${sim.url}/`,
      credential: { type: 'oauth2_authorization_code', clientId: sim.clientId, clientSecret: sim.clientSecret, scopes: [...scopes, 'offline_access'], authorizeUrl: `${sim.url}/authorize`, tokenUrl: `${sim.url}/oauth/token` },
      site: { cloudId: sim.defaultCloudId }
    }
  })
  expect(threeLo.status).toBe(201)
  const callbackPath = await consentUntilCallback(t, sim, 'traced_3lo')
  consentCode = new URL(callbackPath, sim.url).searchParams.get('code') ?? ''
  expect(consentCode).not.toBe('')
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  spoke = await startTsxProcess('src/server.ts', {
    ready: 'spoke started',
    env: {
      NODE_ENV: 'test',
      PORT: String(port),
      REDIS_URL: t.config.redisUrl,
      SPOKE_KEY_PREFIX: t.config.keyPrefix,
      SPOKE_MASTER_KEY: (t.config.masterKey as Buffer).toString('base64'),
      SPOKE_API_KEYS: `invoker:${invoker},admin:${admin}`,
      SPOKE_DATA_DIR: dataDir,
      SPOKE_PRIVACY_REPORT_EVERY_SECONDS: '0',
      SPOKE_CALLBACK_SECRET: CALLBACK_SECRET,
      SPOKE_CALLBACK_ALLOW_PRIVATE: 'true',
      ...simulatorEnv(sim),
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      OTEL_SERVICE_NAME: 'spoke-under-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test'
    }
  })

  // Probes and scrapes make no spans (they would drown real traces); a traceparent does not change that.
  for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(`${base}${path}`, { headers: { traceparent: PROBE.traceparent } })).status).toBeLessThan(500)
  sim.reset()
  expect((await execute('confluence.user.current', { input: {} }, SYNC.traceparent)).status).toBe(200)
  seen.sync = sim.tracedRequests().map(r => r.traceparent)
  sim.reset()
  sim.faults.next({ kind: 'rateLimit', retryAfter: 1 }, 1, { operations: ['getCurrentUser'] })
  expect((await execute('confluence.user.current', { input: {} }, LIMITED.traceparent)).status).toBe(200)
  seen.limited = sim.tracedRequests().map(r => r.traceparent)
  sim.reset()
  const submitted = await execute('confluence.content.crawl', { mode: 'async', input: { types: ['page'], sink: { type: 'file', path: 'tracing/traced.ndjson' } } }, ASYNC.traceparent)
  expect(submitted.status).toBe(202)
  seen.jobId = submitted.json.jobId
  expect((await waitForJob(t, seen.jobId, undefined, 30_000)).state).toBe('completed')
  seen.async = sim.tracedRequests().map(r => r.traceparent)

  // A job callback: its delivery is a client span of the job's trace, and the receiver gets its traceparent.
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks/jobs?token=${HOOK_QUERY_SECRET}`
  const withCallback = await execute('confluence.user.current', { mode: 'async', input: {}, callbackUrl: hookUrl }, CALLBACK.traceparent)
  expect(withCallback.status).toBe(202)
  seen.callbackJobId = withCallback.json.jobId
  await callbackDelivered

  // A crawl into a webhook sink: each batch POST is a client span under the engine's span.
  const crawl = await execute('confluence.content.crawl', { mode: 'async', input: { types: ['page'], sink: { type: 'webhook', url: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks/crawl` } } }, WEBHOOK.traceparent)
  expect(crawl.status).toBe(202)
  expect((await waitForJob(t, crawl.json.jobId, undefined, 30_000)).state).toBe('completed')

  // Every access token expired: the sync call's 401 makes the client renew under the engine's span.
  sim.expireAllTokens()
  expect((await execute('confluence.user.current', { input: {} }, TOKEN.traceparent)).status).toBe(200)

  // First use of an alias: the client-credentials token and the site binding, under the engine span.
  expect((await execute('confluence.user.current', { input: {}, connection: 'first_use' }, FIRST_USE.traceparent)).status).toBe(200)

  // The Organizations API, from a licence report of an alias with an org admin key.
  const org = await execute('confluence.license.usage', { mode: 'async', connection: 'traced_org', input: {} }, ORG.traceparent)
  expect(org.status).toBe(202)
  seen.orgJobId = org.json.jobId
  expect((await waitForJob(t, org.json.jobId, undefined, 60_000)).state).toBe('completed')

  // The admin routes that reach Atlassian: Get OAuth Token, the connection test, the setup's Organizations
  // API check, and the consent callback (the browser sends no traceparent; a test client may).
  const adminCall = async (method: string, path: string, traceparent: string): Promise<number> =>
    (await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${admin}`, traceparent } })).status
  expect(await adminCall('POST', '/v1/connections/confluence_cloud/token', OBTAIN.traceparent)).toBe(200)
  expect(await adminCall('POST', '/v1/connections/confluence_cloud/test', CONN_TEST.traceparent)).toBe(200)
  expect(await adminCall('GET', '/v1/connections/traced_org/setup', SETUP.traceparent)).toBe(200)
  expect((await fetch(`${base}${callbackPath}`, { headers: { traceparent: CONSENT.traceparent } })).status).toBe(200)

  // A schedule's tick starts a trace of its own (no caller): the job it queues is in it.
  await t.core.schedules.put('traced-tick', { action: 'confluence.user.current', every: 1 })
  for (let i = 0; i < 100 && seen.schedule === undefined; i++) {
    const jobId = (await t.core.schedules.get('traced-tick')).lastRun?.jobId
    if (jobId !== undefined) seen.schedule = { jobId }
    else await new Promise(resolve => setTimeout(resolve, 100))
  }
  await t.core.schedules.delete('traced-tick')
  expect(seen.schedule).toBeDefined()
  expect((await waitForJob(t, seen.schedule!.jobId, undefined, 30_000)).state).toBe('completed')
  for (const alias of ['confluence_cloud', 'traced_org', 'first_use', 'traced_3lo']) {
    const set = (await t.core.connections.tokens.readTokens(alias)).set
    for (const token of [set?.accessToken, set?.refreshToken]) if (token !== undefined) seen.tokens.push(token)
  }
  // Graceful close: the api and the worker flush what the batch still holds.
  await spoke.kill('SIGTERM')
}, 90_000)
afterAll(async () => {
  await spoke?.kill('SIGKILL')
  await t?.close()
  await sim?.close()
  await new Promise(resolve => receiver?.close(resolve))
  await new Promise(resolve => hooks?.close(resolve))
})

const of = (traceId: string): OtlpSpan[] => spans.filter(s => s.traceId === traceId)
const attr = (s: OtlpSpan, key: string): unknown => {
  const a = s.attributes?.find(x => x.key === key)
  return a === undefined ? undefined : Object.values(a.value)[0]
}
const parentIdOf = (traceparent: string): string => traceparent.slice(36, 52)

/** Every attribute value of every span, as text: none may hold a secret or an identifier of content or people. */
function attributeText (list: OtlpSpan[]): string {
  return JSON.stringify(list.map(s => [s.name, s.attributes, s.events]))
}

it('sync: server → engine → client spans under the caller\'s span; the client span is the upstream request\'s parent', () => {
  expect(spoke.proc.exitCode).toBe(0)
  expect(seen.sync).toHaveLength(1)
  const mine = of(SYNC.traceId)
  const server = mine.filter(s => s.kind === KIND.server)
  const engine = mine.filter(s => s.kind === KIND.internal)
  const client = mine.filter(s => s.kind === KIND.client)
  expect([server.length, engine.length, client.length]).toEqual([1, 1, 1])
  expect(server[0].parentSpanId).toBe(SYNC.callerSpan)
  // Each action has its route (the action id is no secret); never a raw path of ids.
  expect(server[0].name).toBe('POST /v1/actions/confluence.user.current/execute')
  expect(attr(server[0], 'http.route')).toBe('/v1/actions/confluence.user.current/execute')
  expect(attr(server[0], 'http.response.status_code')).toBe(200)
  expect(engine[0].parentSpanId).toBe(server[0].spanId)
  expect(attr(engine[0], 'spoke.action')).toBe('confluence.user.current')
  expect(client[0].parentSpanId).toBe(engine[0].spanId)
  // The traceparent Confluence received: same trace, the client span as its parent.
  expect(seen.sync[0].slice(3, 35)).toBe(SYNC.traceId)
  expect(client[0].spanId).toBe(parentIdOf(seen.sync[0]))
  expect(attr(client[0], 'http.request.method')).toBe('GET')
  expect(attr(client[0], 'http.response.status_code')).toBe(200)
  expect(attr(client[0], 'spoke.operation')).toBe('confluence.user.current')
  expect(String(attr(client[0], 'url.template'))).toMatch(/^\/wiki\//)
  // The request's log lines carry the caller's trace id, as with tracing off.
  const lines = spoke.output().split('\n').filter(l => l.includes(SYNC.traceId))
  expect(lines.length).toBeGreaterThan(0)
  expect(lines.every(l => JSON.parse(l).traceId === SYNC.traceId)).toBe(true)
  expect(resources.some(r => r['service.name'] === 'spoke-under-test' && r['deployment.environment.name'] === 'test')).toBe(true)
})

it('a 429 and its retry: the rate_limited event on the client span, a retry event on the engine span', () => {
  const mine = of(LIMITED.traceId)
  const client = mine.filter(s => s.kind === KIND.client)
  expect(client.map(c => attr(c, 'http.response.status_code')).sort()).toEqual([200, 429])
  const limited = client.find(c => attr(c, 'http.response.status_code') === 429)!
  expect(limited.events?.map(e => e.name)).toEqual(['rate_limited'])
  const engine = mine.filter(s => s.kind === KIND.internal)
  expect(engine).toHaveLength(1)
  expect(engine[0].events?.map(e => e.name)).toEqual(['retry'])
  expect(attr(engine[0], 'spoke.attempts')).toBe(2)
  // Each upstream request was the child of its own client span.
  expect(seen.limited).toHaveLength(2)
  expect(new Set(seen.limited.map(parentIdOf))).toEqual(new Set(client.map(c => c.spanId)))
})

it('async: the job\'s consumer span under the server span, every upstream request under a client span of that trace', () => {
  const mine = of(ASYNC.traceId)
  const server = mine.filter(s => s.kind === KIND.server)
  expect(server).toHaveLength(1)
  expect(server[0].parentSpanId).toBe(ASYNC.callerSpan)
  const consumer = mine.filter(s => s.kind === KIND.consumer)
  expect(consumer).toHaveLength(1)
  expect(consumer[0].parentSpanId).toBe(server[0].spanId)
  expect(attr(consumer[0], 'messaging.message.id')).toBe(seen.jobId)
  const engine = mine.filter(s => s.kind === KIND.internal)
  expect(engine).toHaveLength(1)
  expect(engine[0].parentSpanId).toBe(consumer[0].spanId)
  expect(attr(engine[0], 'spoke.mode')).toBe('job')
  const client = mine.filter(s => s.kind === KIND.client)
  expect(client.every(c => c.parentSpanId === engine[0].spanId)).toBe(true)
  expect(seen.async.length).toBeGreaterThan(2)
  expect(seen.async.map(parentIdOf).sort()).toEqual(client.map(c => c.spanId).sort())
  for (const tp of seen.async) expect(tp.slice(3, 35)).toBe(ASYNC.traceId)
  // The job's log lines carry the trace id.
  expect(spoke.output().split('\n').some(l => l.includes(`"jobId":"${seen.jobId}"`) && JSON.parse(l).msg === 'job completed' && JSON.parse(l).traceId === ASYNC.traceId)).toBe(true)
})

it('a job callback: a client span of the job\'s trace, whose traceparent the receiver got; host only, never the path or query', () => {
  const mine = of(CALLBACK.traceId)
  const server = mine.find(s => s.kind === KIND.server)!
  const delivery = mine.filter(s => s.kind === KIND.client && attr(s, 'spoke.operation') === 'callback')
  expect(delivery).toHaveLength(1)
  // Under the span that queued the job (its traceparent is in the job data, as the consumer span's parent).
  expect(delivery[0].parentSpanId).toBe(server.spanId)
  expect(delivery[0].name).toBe('POST')
  expect(attr(delivery[0], 'server.address')).toBe('127.0.0.1')
  expect(attr(delivery[0], 'http.response.status_code')).toBe(204)
  expect(seen.callback?.traceparent).toBeDefined()
  expect(seen.callback!.traceparent!.slice(3, 35)).toBe(CALLBACK.traceId)
  expect(parentIdOf(seen.callback!.traceparent!)).toBe(delivery[0].spanId)
  expect(attributeText(delivery)).not.toMatch(/hooks|token=/)
})

it('a crawl\'s webhook batches: one client span per POST under the engine span, each the parent the receiver got', () => {
  const mine = of(WEBHOOK.traceId)
  const engine = mine.filter(s => s.kind === KIND.internal)
  expect(engine).toHaveLength(1)
  const posts = mine.filter(s => s.kind === KIND.client && attr(s, 'spoke.operation') === 'webhook')
  expect(posts.length).toBeGreaterThan(0)
  expect(posts.every(s => s.parentSpanId === engine[0].spanId && attr(s, 'http.response.status_code') === 204)).toBe(true)
  expect(seen.webhook).toHaveLength(posts.length)
  for (const tp of seen.webhook) expect(tp?.slice(3, 35)).toBe(WEBHOOK.traceId)
  expect(seen.webhook.map(tp => parentIdOf(tp!)).sort()).toEqual(posts.map(s => s.spanId).sort())
})

it('a token renewed inside a traced call: a token client span under the engine span, then the re-sent request', () => {
  const mine = of(TOKEN.traceId)
  const engine = mine.filter(s => s.kind === KIND.internal)
  expect(engine).toHaveLength(1)
  const token = mine.filter(s => s.kind === KIND.client && attr(s, 'spoke.operation') === 'oauth.token')
  expect(token).toHaveLength(1)
  expect(token[0].parentSpanId).toBe(engine[0].spanId)
  expect(attr(token[0], 'oauth.grant_type')).toBe('client_credentials')
  expect(attr(token[0], 'http.response.status_code')).toBe(200)
  const confluence = mine.filter(s => s.kind === KIND.client && attr(s, 'spoke.operation') === 'confluence.user.current')
  expect(confluence.map(c => attr(c, 'http.response.status_code'))).toEqual([401, 200])
})

it('first use of an alias: the token request and the accessible-resources request under the engine span, beside the Confluence request', () => {
  const mine = of(FIRST_USE.traceId)
  const engine = mine.filter(s => s.kind === KIND.internal)
  expect(engine).toHaveLength(1)
  const client = mine.filter(s => s.kind === KIND.client)
  expect(client.map(s => attr(s, 'spoke.operation')).sort()).toEqual(['confluence.user.current', 'oauth.accessible_resources', 'oauth.token'])
  expect(client.every(s => s.parentSpanId === engine[0].spanId)).toBe(true)
  expect(client.find(s => attr(s, 'spoke.operation') === 'oauth.accessible_resources')!.name).toBe('GET /oauth/token/accessible-resources')
})

it('the Organizations API: client spans under the licence job\'s engine span, the org id templated out', () => {
  const mine = of(ORG.traceId)
  const engine = mine.filter(s => s.kind === KIND.internal)
  expect(engine).toHaveLength(1)
  const org = mine.filter(s => s.kind === KIND.client && String(attr(s, 'spoke.operation')).startsWith('organizations.'))
  expect(org.length).toBeGreaterThan(0)
  expect(org.every(s => s.parentSpanId === engine[0].spanId)).toBe(true)
  expect(org.map(s => s.name)).toContain('GET /admin/v1/orgs/{orgId}/users')
  expect(attributeText(org)).not.toContain(sim.orgId)
})

it('the admin routes that call Atlassian: their token, accessible-resources, Confluence and Organizations API requests are client spans under the route\'s server span', () => {
  /** The trace's one server span, the caller's child; every client span of the trace descends from it. */
  const underServer = (trace: { traceId: string, callerSpan: string }, route: string): OtlpSpan[] => {
    const mine = of(trace.traceId)
    const server = mine.filter(s => s.kind === KIND.server)
    expect(server.map(s => s.name)).toEqual([route])
    expect(server[0].parentSpanId).toBe(trace.callerSpan)
    const byId = new Map(mine.map(s => [s.spanId, s]))
    const client = mine.filter(s => s.kind === KIND.client)
    for (const c of client) {
      let up = byId.get(c.parentSpanId ?? '')
      while (up !== undefined && up !== server[0]) up = byId.get(up.parentSpanId ?? '')
      expect({ client: c.name, underServer: up === server[0] }).toEqual({ client: c.name, underServer: true })
    }
    return client
  }
  const ops = (client: OtlpSpan[]): unknown[] => client.map(s => attr(s, 'spoke.operation')).sort()

  const obtained = underServer(OBTAIN, 'POST /v1/connections/:alias/token')
  expect(ops(obtained)).toContain('oauth.token')
  expect(obtained.find(s => attr(s, 'spoke.operation') === 'oauth.token')!.parentSpanId).toBe(of(OBTAIN.traceId).find(s => s.kind === KIND.server)!.spanId)

  const tested = underServer(CONN_TEST, 'POST /v1/connections/:alias/test')
  expect(ops(tested)).toContain('confluence.user.current')

  const setup = underServer(SETUP, 'GET /v1/connections/:alias/setup')
  expect(setup.some(s => s.name === 'GET /admin/v1/orgs/{orgId}/users')).toBe(true)
  expect(attributeText(setup)).not.toContain(sim.orgId)

  const consented = underServer(CONSENT, 'GET /v1/oauth/callback')
  expect(ops(consented)).toEqual(['oauth.accessible_resources', 'oauth.token'])
  const token = consented.find(s => attr(s, 'spoke.operation') === 'oauth.token')!
  expect(attr(token, 'oauth.grant_type')).toBe('authorization_code')
  // The callback's URL carries the code and the state: its span names the route only.
  expect(attributeText(of(CONSENT.traceId))).not.toMatch(/code=|state=/)
})

it('a scheduled job: a root consumer span per tick, the job under it, its log lines with that trace id', () => {
  const consumers = spans.filter(s => s.kind === KIND.consumer && attr(s, 'messaging.message.id') === seen.schedule!.jobId)
  expect(consumers).toHaveLength(1)
  const traceId = consumers[0].traceId
  const tick = spans.find(s => s.spanId === consumers[0].parentSpanId)!
  expect(tick).toBeDefined()
  expect(tick.parentSpanId === undefined || tick.parentSpanId === '').toBe(true)
  expect(tick.kind).toBe(KIND.consumer)
  expect(tick.name).toBe('schedule confluence.user.current')
  expect(attr(tick, 'spoke.job_id')).toBe(seen.schedule!.jobId)
  expect(spoke.output().split('\n').some(l => l.includes(`"jobId":"${seen.schedule!.jobId}"`) && JSON.parse(l).msg === 'job completed' && JSON.parse(l).traceId === traceId)).toBe(true)
})

it('health probes and metric scrapes make no spans', () => {
  expect(spans.filter(s => /\/(healthz|readyz|metrics)$/.test(s.name))).toEqual([])
  expect(of(PROBE.traceId)).toEqual([])
})

it('no attribute or event holds a token, the client secret, an account id or a page id', () => {
  expect(spans.length).toBeGreaterThan(10)
  const text = attributeText(spans)
  // The first token and those renewed since (the token spans must not carry them), the refresh tokens,
  // the client secret, the org admin key, the callback secret, what the callback URL's query held and the
  // consent's authorization code.
  expect(seen.tokens.length).toBeGreaterThan(1)
  for (const token of seen.tokens) expect(text).not.toContain(token)
  expect(text).not.toContain(sim.clientSecret)
  expect(text).not.toContain(sim.adminApiKey)
  expect(text).not.toContain(CALLBACK_SECRET)
  expect(text).not.toContain(HOOK_QUERY_SECRET)
  expect(text).not.toContain(consentCode)
  expect(text).not.toMatch(/Bearer|712020:/)
  const pages = readSink(dataDir, 'tracing/traced.ndjson').filter(r => r.kind === 'page')
  expect(pages.length).toBeGreaterThan(0)
  for (const p of pages) {
    const id = String(p.id ?? p.recordId.split(':').pop())
    expect(text).not.toMatch(new RegExp(`[/"]${id}["/?]`))
  }
})

describe('tracing off', () => {
  const run = (env: Record<string, string>): Promise<{ tracing: boolean, loaded: string[] }> => new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/otel-modules.ts')], { cwd: ROOT, env: { PATH: process.env.PATH, REDIS_URL: process.env.REDIS_URL, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) { reject(new Error(`${err.message}\n${stderr}`)); return }
      resolve(JSON.parse(stdout.trim().split('\n').pop()!))
    })
  })

  it('with no OTEL_* variable the SDK is never loaded; with an endpoint it is', async () => {
    const off = await run({})
    expect(off.tracing).toBe(false)
    // prom-client loads the API package (a no-op without an SDK); nothing of the SDK or the exporters.
    expect(off.loaded.filter(m => m !== '@opentelemetry/api')).toEqual([])
    const on = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/' })
    expect(on.tracing).toBe(true)
    expect(on.loaded).toEqual(expect.arrayContaining(['@opentelemetry/sdk-trace-base', '@opentelemetry/exporter-trace-otlp-proto', '@opentelemetry/resources']))
    const disabled = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/', OTEL_SDK_DISABLED: 'true' })
    expect(disabled.tracing).toBe(false)
    expect(disabled.loaded.filter(m => m !== '@opentelemetry/api')).toEqual([])
  }, 120_000)
})
