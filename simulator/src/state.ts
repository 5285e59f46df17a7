// Everything one simulator instance knows: options, the seeded sites, tokens, counters, faults, the rate
// limiter and the record of contract violations. The HTTP layer and the JS API both work on this object.
import { loadContract, type Contract } from './contract'
import { Counters } from './counters'
import { Faults } from './faults'
import { RateLimiter, type RateLimitOptions } from './rate-limit'
import { seedFromString, hash32 } from './random'
import { buildDirectory, SiteData, sizeSpec, SITE_ADMINS_GROUP, type SizeOption, type User } from './seed'
import { TokenStore } from './tokens'
import { applyNestedProfile, type PermissionProfile } from './seed-nested'
import { Comments } from './comments'

export interface SimulatorOptions {
  /** 0 = a random free port (default) */
  port?: number
  host?: string
  seed?: number | string
  /** pages per site, or each count */
  size?: SizeOption
  /** number of sites (cloudIds), default 1 */
  sites?: number
  clientId?: string
  clientSecret?: string
  /** `/authorize` redirects straight back with a code instead of showing the consent page */
  autoConsent?: boolean
  /** the account that consents (default: the site admin) */
  consentAccountId?: string
  /** redirect URIs must start with this (default http://localhost:3000) */
  redirectUriPrefix?: string
  accessTokenTtlSeconds?: number
  refreshTokenTtlSeconds?: number
  refreshLeewaySeconds?: number
  /** scopes a client-credentials token may hold (default: every scope the specs name, plus read:me) */
  clientCredentialsScopes?: string[]
  rateLimit?: RateLimitOptions
  adminApiKey?: string
  orgId?: string
  orgName?: string
  orgUsersPageSize?: number
  /** 'unauthorized' (401, default) or 'atlassian' (expired tokens get 403 on v1, 404 on v2, like the gateway) */
  gatewayExpiryMode?: GatewayExpiryMode
  /** check the simulator's own responses against the specs and record mismatches (for its tests) */
  validateResponses?: boolean
  /** `nested` (crawl tests): nested mixed read restrictions, folders, long lists, access classes, drafts, inline comments, a non-UTC zone */
  permissions?: PermissionProfile
  /** answer with only the fields the spec marks required (see sparse.ts); pagination links stay */
  sparse?: boolean
}

export type GatewayExpiryMode = 'unauthorized' | 'atlassian'

export interface InvalidRequest {
  at: string
  method: string
  url: string
  cloudId: string
  operationId?: string
  status: number
  reason: string
}

export interface ResponseViolation { operationId: string, status: number, reason: string }

export const DEFAULTS = {
  seed: 1,
  size: 100,
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-secret',
  redirectUriPrefix: 'http://localhost:3000',
  adminApiKey: 'sandbox-org-admin-key',
  orgId: '0a1b2c3d-4e5f-4a6b-8c7d-0000000000a1',
  orgName: 'Acme Sandbox',
  accessTokenTtlSeconds: 3600,
  refreshTokenTtlSeconds: 90 * 86400,
  refreshLeewaySeconds: 600,
  orgUsersPageSize: 100
} as const

export function cloudIdFor (siteNumber: number): string {
  return `c10d0000-5173-4e00-9000-${siteNumber.toString(16).padStart(12, '0')}`
}

export const DEFAULT_CLOUD_ID = cloudIdFor(1)
const EXTRA_SCOPES = ['read:me', 'read:account', 'offline_access']

export class SimState {
  readonly contract: Contract = loadContract()
  readonly seed: number
  readonly users: User[]
  readonly sites = new Map<string, SiteData>()
  /** Sites the app lost (uninstalled, access revoked): accessible-resources no longer lists them, the gateway answers 401. */
  readonly lostSites = new Set<string>()
  readonly tokens: TokenStore
  readonly counters = new Counters()
  readonly faults: Faults
  readonly rateLimiter: RateLimiter
  readonly invalidRequests: InvalidRequest[] = []
  readonly responseViolations: ResponseViolation[] = []
  readonly knownScopes: Set<string>
  readonly options: Required<Omit<SimulatorOptions, 'port' | 'host' | 'rateLimit' | 'size' | 'seed' | 'permissions'>> & { size: SizeOption }
  gatewayExpiryMode: GatewayExpiryMode
  readonly permissionProfile: PermissionProfile
  /** public base URL, known once listening (used in absolute links of the admin API) */
  publicUrl = ''
  private readonly userIndex: Map<string, User>

  constructor (options: SimulatorOptions = {}) {
    this.seed = seedFromString(options.seed ?? DEFAULTS.seed)
    this.knownScopes = new Set(EXTRA_SCOPES)
    for (const op of this.contract.operations.values()) for (const set of op.scopeSets) for (const s of set) this.knownScopes.add(s)
    const size = options.size ?? DEFAULTS.size
    this.users = buildDirectory(this.seed, sizeSpec(size).users)
    this.userIndex = new Map(this.users.map((u) => [u.accountId, u]))
    this.options = {
      size,
      sites: options.sites ?? 1,
      clientId: options.clientId ?? DEFAULTS.clientId,
      clientSecret: options.clientSecret ?? DEFAULTS.clientSecret,
      autoConsent: options.autoConsent ?? false,
      consentAccountId: options.consentAccountId ?? this.users[0].accountId,
      redirectUriPrefix: options.redirectUriPrefix ?? DEFAULTS.redirectUriPrefix,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? DEFAULTS.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? DEFAULTS.refreshTokenTtlSeconds,
      refreshLeewaySeconds: options.refreshLeewaySeconds ?? DEFAULTS.refreshLeewaySeconds,
      clientCredentialsScopes: options.clientCredentialsScopes ?? [...this.knownScopes].filter((s) => s !== 'offline_access'),
      adminApiKey: options.adminApiKey ?? DEFAULTS.adminApiKey,
      orgId: options.orgId ?? DEFAULTS.orgId,
      orgName: options.orgName ?? DEFAULTS.orgName,
      orgUsersPageSize: options.orgUsersPageSize ?? DEFAULTS.orgUsersPageSize,
      gatewayExpiryMode: options.gatewayExpiryMode ?? 'unauthorized',
      validateResponses: options.validateResponses ?? false,
      sparse: options.sparse ?? false
    }
    this.gatewayExpiryMode = this.options.gatewayExpiryMode
    this.permissionProfile = options.permissions ?? 'default'
    this.tokens = new TokenStore(this.options)
    this.faults = new Faults(this.seed)
    this.rateLimiter = new RateLimiter(options.rateLimit)
    for (let n = 1; n <= this.options.sites; n++) this.addSite()
  }

  /** Adds a site seeded from (seed, site number); tokens granted afterwards include it. */
  addSite (size: SizeOption = this.options.size): SiteData {
    const number = this.sites.size + 1
    const spec = sizeSpec(size)
    const site = new SiteData(number, cloudIdFor(number), hash32(this.seed, number), this.users, spec)
    if (this.permissionProfile === 'nested') applyNestedProfile(site)
    site.comments = new Comments(site, spec.comments ?? (this.permissionProfile === 'nested' ? Math.ceil(spec.pages / 4) : 0))
    site.inlineComments = new Comments(site, spec.inlineComments ?? (this.permissionProfile === 'nested' ? Math.ceil(spec.pages / 5) : 0),
      { inline: true, idBase: site.comments.idBase + site.comments.count })
    site.attachmentComments = new Comments(site, spec.attachmentComments ?? (this.permissionProfile === 'nested' ? Math.ceil(spec.attachments * 3 / 5) : 0),
      { onAttachments: true, idBase: site.inlineComments.idBase + site.inlineComments.count })
    this.sites.set(site.cloudId, site)
    return site
  }

  userByAccountId (accountId: string): User | undefined { return this.userIndex.get(accountId) }

  isSiteAdmin (site: SiteData, user: User): boolean {
    return site.groups.some((g) => g.name === SITE_ADMINS_GROUP && g.members.has(user.index))
  }

  recordInvalid (entry: Omit<InvalidRequest, 'at'>): void {
    this.invalidRequests.push({ at: new Date().toISOString(), ...entry })
  }

  /** Clears counters, faults, rate-limit windows and recorded violations (data and tokens stay). */
  reset (): void {
    this.counters.clear()
    this.faults.clear()
    this.rateLimiter.clear()
    this.invalidRequests.length = 0
    this.responseViolations.length = 0
  }
}
