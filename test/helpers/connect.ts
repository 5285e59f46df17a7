// Test helpers of the connection layer: real HTTP to a listening spoke (no inject), and
// `connectSimulatorAlias`, which registers an alias pointing at a running simulator and makes it active.
import { request } from 'undici'
import type { TestSpoke } from './spoke'

export interface HttpAnswer {
  status: number
  headers: Record<string, string>
  text: string
  json: () => any
}

const listening = new WeakMap<TestSpoke, string>()

/** Start the spoke's HTTP listener on an ephemeral port (once) and answer its base URL. */
export async function listen (spoke: TestSpoke): Promise<string> {
  const known = listening.get(spoke)
  if (known) return known
  await spoke.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = spoke.app.server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address')
  const base = `http://127.0.0.1:${addr.port}`
  listening.set(spoke, base)
  return base
}

/** One HTTP request to the spoke. `key` sends `Authorization: Bearer <key>`; `body` is sent as JSON. */
export async function http (spoke: TestSpoke, method: string, path: string, opts: { key?: string, body?: unknown, raw?: string, headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const base = await listen(spoke)
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  if (opts.key) headers.authorization = `Bearer ${opts.key}`
  let body: string | undefined
  if (opts.raw !== undefined) { body = opts.raw; headers['content-type'] ??= 'application/json' } else if (opts.body !== undefined) { body = JSON.stringify(opts.body); headers['content-type'] = 'application/json' }
  const res = await request(base + path, { method: method as 'GET', headers, body })
  const text = await res.body.text()
  const flat: Record<string, string> = {}
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v
  return { status: res.statusCode, headers: flat, text, json: () => JSON.parse(text) }
}

// ---------------------------------------------------------------------------------------------------
// connectSimulatorAlias
// ---------------------------------------------------------------------------------------------------

/** What connectSimulatorAlias needs of a simulator (`Simulator` of confluence-cloud-simulator). */
export interface SimulatorLike {
  url: string
  clientId: string
  clientSecret: string
  defaultCloudId: string
  state?: { knownScopes?: Set<string> }
}

export interface ConnectOptions {
  /** default `confluence_cloud` */
  alias?: string
  /** default `authorization_code` (a full consent round trip over HTTP); `client_credentials` is quicker */
  grant?: 'authorization_code' | 'client_credentials'
  /** default: every scope the simulator knows (so every action works); pass a list to test missing scopes */
  scopes?: string[]
  managedGroups?: Array<{ groupId: string, name?: string }>
  /** cloudId (or site URL) to bind; default: the simulator's default site */
  site?: string
  /** extra alias document fields (parent, active, retryPolicy, orgAdmin, ...) */
  doc?: Record<string, unknown>
}

export interface Connected {
  alias: string
  /** GET /v1/connections/{alias} after connecting */
  view: any
}

/** Buildtime env for buildTestSpoke so the spoke talks to the simulator (and allows its host). */
export function simulatorEnv (sim: Pick<SimulatorLike, 'url'>): Record<string, string> {
  return { ATLASSIAN_AUTH_URL: sim.url, ATLASSIAN_API_URL: sim.url }
}

/**
 * Registers an alias pointing at a running simulator and makes it active: client credentials
 * (POST /token) or a full consent round trip (authorize → simulator consent page → Approve → callback).
 * The spoke must have been built with `simulatorEnv(sim)` (and SPOKE_PUBLIC_URL under the simulator's
 * redirect prefix, which the defaults satisfy).
 */
export async function connectSimulatorAlias (spoke: TestSpoke, sim: SimulatorLike, opts: ConnectOptions = {}): Promise<Connected> {
  const alias = opts.alias ?? 'confluence_cloud'
  const grant = opts.grant ?? 'authorization_code'
  const scopes = opts.scopes ?? [...(sim.state?.knownScopes ?? new Set(DEFAULT_SCOPES))]
  const site = opts.site ?? sim.defaultCloudId
  const isUrl = /^https?:\/\//.test(site)
  const doc = {
    name: `Simulator (${grant})`,
    connectionUrl: `${sim.url}/`,
    credential: {
      type: grant === 'client_credentials' ? 'oauth2_client_credentials' : 'oauth2_authorization_code',
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      scopes: grant === 'client_credentials' ? scopes.filter(s => s !== 'offline_access') : scopes,
      ...(grant === 'client_credentials' ? {} : { authorizeUrl: `${sim.url}/authorize` }),
      tokenUrl: `${sim.url}/oauth/token`
    },
    site: isUrl ? { url: site } : { cloudId: site },
    ...(opts.managedGroups ? { managedGroups: opts.managedGroups } : {}),
    ...(opts.doc ?? {})
  }
  const put = await http(spoke, 'PUT', `/v1/connections/${alias}`, { key: spoke.keys.admin, body: doc })
  if (put.status !== 200 && put.status !== 201) throw new Error(`PUT alias ${alias}: ${put.status} ${put.text}`)
  if (grant === 'client_credentials') {
    const tok = await http(spoke, 'POST', `/v1/connections/${alias}/token`, { key: spoke.keys.admin })
    if (tok.status !== 200) throw new Error(`POST token ${alias}: ${tok.status} ${tok.text}`)
  } else {
    const done = await consent(spoke, sim, alias)
    if (done.status !== 200) throw new Error(`consent ${alias}: ${done.status} ${done.text}`)
  }
  const view = (await http(spoke, 'GET', `/v1/connections/${alias}`, { key: spoke.keys.admin })).json()
  return { alias, view }
}

/**
 * The consent round trip over HTTP: the spoke's authorize redirect, the simulator's consent page (or its
 * auto-consent redirect), Approve, then the spoke's callback. Answers the callback's HTTP answer.
 * `site` is passed as `?site=`; `decision: 'deny'` declines.
 */
export async function consent (spoke: TestSpoke, sim: Pick<SimulatorLike, 'url'>, alias: string, opts: { site?: string, decision?: 'approve' | 'deny' } = {}): Promise<HttpAnswer & { callbackPath: string }> {
  const callbackPath = await consentUntilCallback(spoke, sim, alias, opts)
  const res = await http(spoke, 'GET', callbackPath)
  return { ...res, callbackPath }
}

/** The consent round trip up to the spoke's callback: the path (with code and state) the browser would open next. */
export async function consentUntilCallback (spoke: TestSpoke, sim: Pick<SimulatorLike, 'url'>, alias: string, opts: { site?: string, decision?: 'approve' | 'deny' } = {}): Promise<string> {
  const authorize = await http(spoke, 'GET', `/v1/connections/${alias}/authorize${opts.site ? `?site=${encodeURIComponent(opts.site)}` : ''}`, { key: spoke.keys.admin })
  if (authorize.status !== 302) throw new Error(`authorize ${alias}: ${authorize.status} ${authorize.text}`)
  const page = await request(authorize.headers.location, { method: 'GET' })
  let location: string | undefined
  if (page.statusCode === 302) {
    await page.body.dump()
    location = String(page.headers.location)
  } else {
    const html = await page.body.text()
    const id = /name="request" value="([^"]+)"/.exec(html)?.[1]
    if (page.statusCode !== 200 || !id) throw new Error(`simulator consent page: ${page.statusCode} ${html.slice(0, 300)}`)
    const answer = await request(`${sim.url}/authorize/consent`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ request: id, decision: opts.decision ?? 'approve' }).toString()
    })
    await answer.body.dump()
    if (answer.statusCode !== 302) throw new Error(`simulator consent: ${answer.statusCode}`)
    location = String(answer.headers.location)
  }
  const back = new URL(location)
  return `${back.pathname}${back.search}`
}

const DEFAULT_SCOPES = ['ace:confluence', 'read:page:confluence', 'search:confluence', 'read:confluence-groups', 'write:confluence-groups', 'read:confluence-user', 'read:me', 'read:account', 'offline_access']
