/**
 * Confluence Cloud + Atlassian OAuth simulator, for tests, benchmarks and the sandbox.
 *
 * One Fastify process serves both Atlassian hosts, so ATLASSIAN_AUTH_URL and ATLASSIAN_API_URL both point
 * at `sim.url`:
 * - auth host: `GET /authorize` (consent page, or auto-consent), `POST /oauth/token`
 *   (authorization_code, rotating refresh_token with reuse leeway, client_credentials; JSON or form);
 * - API host: `GET /oauth/token/accessible-resources`, `GET /me`, `/admin/v1/orgs[/{orgId}[/users]]`
 *   (org admin API key), and the gateway `/ex/confluence/{cloudId}/wiki/...`.
 *
 * Every gateway request is validated against the official specs in contracts/ (method, path, path and
 * query parameters, body); a violation is a 400 with the reason and is recorded (`invalidRequests()`).
 * Removed v1 endpoints answer 410 GoneException. The gateway enforces tokens (401), each operation's
 * `x-atlassian-oauth2-scopes` (401 "scope does not match"), and optional points/burst rate limits.
 * Faults (5xx, 429, latency, resets) are injected through `sim.faults` or `/__sim/faults`.
 *
 * Data is seeded deterministically from `seed` and `size`; `sim.data` is the ground truth (including the
 * effective read access of every item). See simulator/README.md for options, control routes and the
 * known deviations from real Confluence.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { registerAdminApi } from './admin-api'
import { InvalidJson } from './contract'
import { registerControlApi } from './control-api'
import type { CountersSnapshot, TracedRequest } from './counters'
import type { Faults } from './faults'
import { registerGateway } from './gateway'
import { GroundTruth } from './ground-truth'
import { registerOAuthServer } from './oauth-server'
import { registerPrivacyApi } from './privacy-api'
import { registerUploads } from './uploads'
import { OrgActivity, type LicenceUsageTruth, type OrgAccount } from './org-activity'
import type { RateLimitOptions } from './rate-limit'
import { ADMIN_ACCOUNT_ID, SERVICE_ACCOUNT_ID, type SizeOption } from './seed'
import { DEFAULT_CLOUD_ID, SimState, type GatewayExpiryMode, type InvalidRequest, type ResponseViolation, type SimulatorOptions } from './state'

export type { SimulatorOptions, GatewayExpiryMode, InvalidRequest, ResponseViolation } from './state'
export type { FaultConfig, Fault, FaultTarget } from './faults'
export type { RateLimitOptions } from './rate-limit'
export type { ReadAccess } from './permissions'
export type { ContentSummary } from './ground-truth'
export type { CountersSnapshot, TracedRequest } from './counters'
export type { LicenceUsageTruth, OrgAccount, ActivityBucket, AccountStatus } from './org-activity'
export { bucketOf } from './org-activity'
export { DEFAULTS, DEFAULT_CLOUD_ID, cloudIdFor } from './state'
export { ADMIN_ACCOUNT_ID, SERVICE_ACCOUNT_ID } from './seed'
export { writesOf, storageProblem, type SiteWrites, type WrittenDoc, type WrittenComment } from './writes'
export { privacyOf, type PrivacyReporting, type PrivacyStats } from './privacy-api'

export interface SiteInfo { cloudId: string, name: string, url: string }

export interface IssueTokenOptions {
  /** default: every scope the client-credentials client may hold */
  scopes?: string[]
  /** default: the site admin */
  accountId?: string
  /** default: every site */
  cloudIds?: string[]
  ttlSeconds?: number
  clientId?: string
  /** also issue a rotating refresh token */
  withRefreshToken?: boolean
}

export interface IssuedToken { accessToken: string, refreshToken?: string, expiresAt: string, scopes: string[] }

export interface Simulator {
  /** http://127.0.0.1:<port>; both ATLASSIAN_AUTH_URL and ATLASSIAN_API_URL */
  readonly url: string
  readonly port: number
  readonly defaultCloudId: string
  readonly adminAccountId: string
  readonly serviceAccountId: string
  readonly clientId: string
  readonly clientSecret: string
  readonly orgId: string
  readonly adminApiKey: string
  /** ground truth and scenario mutations */
  readonly data: GroundTruth
  /** the Organizations API's licence view (status, billing, product activity) and its ground truth */
  readonly org: {
    /** the clock the seeded activity dates are relative to (ms) */
    readonly now: number
    /** undefined: the org does not manage the account (not listed, no activity known) */
    account: (accountId: string) => OrgAccount | undefined
    /** seats and activity of a site's Confluence as of `asOf` (ms, default now) */
    usage: (options?: { cloudId?: string, asOf?: number }) => LicenceUsageTruth
  }
  readonly faults: Faults
  /** the whole state, for what the methods below do not cover */
  readonly state: SimState
  counters: () => CountersSnapshot
  invalidRequests: () => InvalidRequest[]
  /** requests that carried a W3C traceparent header (last 1000; cleared by reset) */
  tracedRequests: () => TracedRequest[]
  responseViolations: () => ResponseViolation[]
  /** clears counters, faults, rate-limit windows and recorded violations */
  reset: () => void
  /** expires every access token issued so far; returns how many */
  expireAllTokens: () => number
  revokeRefreshTokens: () => void
  setGatewayExpiryMode: (mode: GatewayExpiryMode) => void
  setRateLimits: (options: RateLimitOptions) => void
  issueToken: (options?: IssueTokenOptions) => IssuedToken
  addSite: (options?: { size?: SizeOption }) => SiteInfo
  /** The app loses a site (uninstalled, or the grant no longer reaches it): accessible-resources stops listing it and its gateway answers 401 (`true` gives it back) */
  setSiteReachable: (cloudId: string, reachable: boolean) => void
  sites: () => SiteInfo[]
  info: () => Record<string, unknown>
  close: () => Promise<void>
}

export async function startSimulator (options: SimulatorOptions = {}): Promise<Simulator> {
  const state = new SimState(options)
  const activity = new OrgActivity(state)
  const app = buildApp(state, activity)
  const data = new GroundTruth(state)
  const siteInfo = (cloudId: string): SiteInfo => {
    const site = data.site(cloudId)
    return { cloudId: site.cloudId, name: site.name, url: site.url }
  }
  const sim: Simulator = {
    url: '',
    port: 0,
    defaultCloudId: DEFAULT_CLOUD_ID,
    adminAccountId: ADMIN_ACCOUNT_ID,
    serviceAccountId: SERVICE_ACCOUNT_ID,
    clientId: state.options.clientId,
    clientSecret: state.options.clientSecret,
    orgId: state.options.orgId,
    adminApiKey: state.options.adminApiKey,
    data,
    org: {
      now: activity.now,
      account: (accountId) => {
        const user = state.userByAccountId(accountId)
        return user === undefined ? undefined : activity.account(user)
      },
      usage: (opts = {}) => activity.usage(data.site(opts.cloudId).url, opts.asOf)
    },
    faults: state.faults,
    state,
    counters: () => state.counters.snapshot(),
    invalidRequests: () => [...state.invalidRequests],
    tracedRequests: () => state.counters.tracedRequests(),
    responseViolations: () => [...state.responseViolations],
    reset: () => state.reset(),
    expireAllTokens: () => state.tokens.expireAllAccessTokens(),
    revokeRefreshTokens: () => state.tokens.revokeRefreshTokens(),
    setGatewayExpiryMode: (mode) => { state.gatewayExpiryMode = mode },
    setRateLimits: (limits) => state.rateLimiter.configure(limits),
    issueToken: (opts = {}) => {
      const grant = {
        accountId: opts.accountId ?? ADMIN_ACCOUNT_ID,
        clientId: opts.clientId ?? state.options.clientId,
        scopes: opts.scopes ?? state.options.clientCredentialsScopes,
        cloudIds: opts.cloudIds ?? [...state.sites.keys()]
      }
      const access = state.tokens.issueAccessToken(grant, 'test', opts.ttlSeconds)
      state.counters.tokenGranted('test')
      return {
        accessToken: access.token,
        refreshToken: opts.withRefreshToken ? state.tokens.issueRefreshToken(grant) : undefined,
        expiresAt: new Date(access.expiresAt).toISOString(),
        scopes: grant.scopes
      }
    },
    addSite: (opts = {}) => siteInfo(state.addSite(opts.size).cloudId),
    setSiteReachable: (cloudId, reachable) => { if (reachable) state.lostSites.delete(cloudId); else state.lostSites.add(data.site(cloudId).cloudId) },
    sites: () => [...state.sites.keys()].map(siteInfo),
    info: () => ({
      url: sim.url,
      defaultCloudId: DEFAULT_CLOUD_ID,
      sites: sim.sites(),
      adminAccountId: ADMIN_ACCOUNT_ID,
      serviceAccountId: SERVICE_ACCOUNT_ID,
      clientId: state.options.clientId,
      orgId: state.options.orgId,
      redirectUriPrefix: state.options.redirectUriPrefix,
      autoConsent: state.options.autoConsent,
      gatewayExpiryMode: state.gatewayExpiryMode,
      rateLimit: state.rateLimiter.settings(),
      sparse: state.options.sparse
    }),
    close: async () => { await app.close() }
  }
  registerControlApi(app, sim)
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`
  state.publicUrl = url
  return Object.assign(sim, { url, port })
}

function buildApp (state: SimState, activity: OrgActivity): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 5 * 1024 * 1024 })
  app.removeContentTypeParser(['application/json', 'text/plain'])
  // a malformed JSON body is a contract violation to record, not a framework error
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') { done(null, undefined); return }
    try { done(null, JSON.parse(body as string)) } catch (err) { done(null, new InvalidJson((err as Error).message)) }
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, (body as Buffer).length > 0 ? body : undefined) })
  app.addHook('onResponse', async (request, reply) => {
    if (request.simOperation) state.counters.request(request.simOperation, reply.statusCode)
    const tp = request.headers.traceparent
    if (typeof tp === 'string') state.counters.tracedRequest(request.simOperation ?? 'unmatched', tp)
  })
  registerOAuthServer(app, state)
  registerAdminApi(app, state, activity)
  registerUploads(app, state)
  registerGateway(app, state)
  registerPrivacyApi(app, state)
  return app
}

