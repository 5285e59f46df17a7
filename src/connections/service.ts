// The connection layer as one service on the Core: alias CRUD (files and admin API), parent → active child
// resolution, an in-memory cache (alias, token, site) kept coherent across processes by pub/sub and a short
// revalidation interval, the token provider, and the OAuth consent. The Confluence client sits on top of
// `session()` / `cachedSession()` / `renew()`.
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Agent } from 'undici'
import type { Config } from '../config/env'
import type { ConnectionResolver, ResolvedConnection } from '../confluence/types'
import {
  ConnectionNotAuthorizedError, ConnectionNotFoundError, RequestInvalidError, UpstreamUnavailableError
} from '../errors/errors'
import { AppError } from '../errors/app-error'
import type { Keyring } from '../lib/crypto'
import { accessibleResources, clientCredentialsGrant, exchangeCode, refreshGrant, sameSite, TokenEndpointError, type GrantContext, type TokenResponse } from './grants'
import { loadAliasFiles, type LoadedAlias } from './loader'
import { ConnectionStore, STATE_TTL_MS, type TokenState } from './store'
import type {
  AliasDocument, AliasRecord, BoundSite, EffectiveAlias, GrantType, PublicAliasDocument, SiteChoice, TokenMeta, TokenSet, TokenStatus, Unresolved
} from './types'
import { validateAlias, type ValidationIssue } from './validate'

export const DEFAULT_ALIAS = 'confluence_cloud'
export const DEFAULT_RETRY_POLICY: ResolvedConnection['retryPolicy'] = { strategy: 'retry_after', maxAttempts: 4, maxElapsedSeconds: 600 }

/** How long a cached alias is trusted without asking Redis (pub/sub usually invalidates sooner). */
const REVALIDATE_MS = 5_000
const LOCK_TTL_MS = 15_000
const LOCK_POLL_MS = 25
const LOCK_WAIT_MS = 30_000
const MAX_TOKEN_TIMEOUT_MS = 10_000

/** What the client needs for one call: everything in memory. */
export interface Session {
  alias: string
  accessToken: string
  /** Stored expiry of the access token (ms). */
  expiresAt: number
  /** Refresh ahead: the token is used only until this instant (ms). */
  freshUntil: number
  site: BoundSite
  /** `{connectionUrl}` (ends with '/'). */
  connectionUrl: string
  /** `{connectionUrl}ex/confluence/{cloudId}` */
  confluenceBase: string
  /** The origin of connectionUrl (the only origin calls may go to). */
  origin: string
}

interface Entry {
  id: string
  record?: AliasRecord
  alias?: EffectiveAlias
  activeChild?: string
  tokens: TokenState
  loadedAt: number
  session?: Session
}

export interface TokenView {
  status: TokenStatus
  expiresAt: string | null
  grantedScopes: string[]
  lastRefreshAt: string | null
  error?: string
}

export interface AliasView extends PublicAliasDocument {
  id: string
  secrets: { clientSecret: boolean, orgAdminApiKey: boolean }
  source: 'file' | 'api'
  file?: string
  createdAt: string
  updatedAt: string
  children: string[]
  /** The alias a request naming this one is served by (itself, or its active child). */
  resolvesTo: string
  token: TokenView
  boundSite: BoundSite | null
  siteChoices?: SiteChoice[]
  ready: boolean
  /** What an admin must still do. */
  problems: string[]
}

export interface ConsentResult {
  ok: boolean
  alias?: string
  title: string
  message: string
  site?: BoundSite
  choices?: SiteChoice[]
}

export interface ConnectionServiceOptions {
  config: Config
  redis: Redis
  log: Logger
  keyring: Keyring
  agent: Agent
}

/** Test seams (never set in production). */
export interface ConnectionTestHooks {
  /** Runs under the refresh lock right before a refresh_token request, with the refresh token about to be sent. */
  beforeRefreshRequest?: (alias: string) => Promise<void>
}

export class ConnectionService implements ConnectionResolver {
  readonly store: ConnectionStore
  readonly testHooks: ConnectionTestHooks = {}
  private readonly config: Config
  private readonly redis: Redis
  private readonly log: Logger
  private readonly agent: Agent
  private readonly cache = new Map<string, Entry>()
  private readonly loading = new Map<string, Promise<Entry>>()
  private readonly versions = new Map<string, number>()
  private readonly inflight = new Map<string, Promise<TokenState>>()
  private subscriber?: Redis
  private closed = false
  /** The alias files are in Redis (false while a start without Redis waits for it). */
  filesApplied = false

  constructor (opts: ConnectionServiceOptions) {
    this.config = opts.config
    this.redis = opts.redis
    this.log = opts.log.child({ component: 'connections' })
    this.agent = opts.agent
    this.store = new ConnectionStore(opts.redis, opts.config.keyPrefix, opts.keyring)
  }

  // ================================================================================================
  // start / stop
  // ================================================================================================

  /** Validate the alias files (throws on a bad file), subscribe to changes, write the files to Redis. */
  async start (): Promise<void> {
    const files = loadAliasFiles(this.config.connectionsDir, this.config.allowedHosts)
    this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'confluence-spoke:conn-events' })
    this.subscriber.on('error', () => {})
    this.subscriber.on('message', (_ch: string, id: string) => { this.invalidate(id) })
    const subscribed = this.subscriber.subscribe(this.store.channel).catch((err: unknown) => this.log.warn({ err: String(err) }, 'alias change subscription failed; caches revalidate every 5 s'))
    await this.firstConnectAttempt()
    if (this.redis.status !== 'ready') {
      // Redis is away: start anyway (readiness reports it) and apply the files once it answers.
      this.log.warn({ files: files.length }, 'Redis not reachable yet: connection files will be applied when it is')
      const apply = (): void => {
        this.applyFiles(files).catch((err: unknown) => {
          this.log.warn({ err: String(err) }, 'applying connection files failed; trying again when Redis is back')
          if (!this.closed) this.redis.once('ready', apply)
        })
      }
      this.redis.once('ready', apply)
      return
    }
    await subscribed
    await this.applyFiles(files)
  }

  private async applyFiles (files: LoadedAlias[]): Promise<void> {
    for (const f of files) await this.applyFile(f)
    this.filesApplied = true
    if (files.length > 0) this.log.info({ aliases: files.map(f => f.id) }, 'connection files loaded')
  }

  async close (): Promise<void> {
    this.closed = true
    if (this.subscriber) {
      await this.subscriber.quit().catch(() => {})
      this.subscriber.disconnect()
    }
  }

  /** Until Redis answers or refuses the first connection (at most 2 s for a host that never answers), so a start without Redis goes on at once. */
  private async firstConnectAttempt (): Promise<void> {
    if (this.redis.status === 'ready') return
    const redis = this.redis
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, 2_000)
      redis.once('ready', done)
      redis.once('error', done)
      function done (): void { clearTimeout(t); redis.off('ready', done); redis.off('error', done); resolve() }
    })
  }

  private async applyFile (f: LoadedAlias): Promise<void> {
    const existing = await this.store.getRecord(f.id)
    if (existing && existing.source === 'api') {
      this.log.info({ alias: f.id, file: f.file }, 'alias was edited through the admin API; its file is not applied (delete the alias to return to the file)')
      return
    }
    const issues: ValidationIssue[] = []
    const rec = await this.buildRecord(f.id, f.doc, existing, 'file', f.unresolved, issues)
    if (issues.length > 0) {
      this.log.error({ alias: f.id, file: f.file, issues: issues.map(i => `${i.path} ${i.message}`) }, 'connection file not applied')
      return
    }
    rec.file = f.file
    await this.save(rec, existing)
    for (const u of f.unresolved) this.log.warn({ alias: f.id, field: u.field, variable: u.variable }, 'connection file placeholder has no value: the alias needs configuration')
  }

  // ================================================================================================
  // alias CRUD
  // ================================================================================================

  async list (): Promise<AliasView[]> {
    const records = await this.store.listRecords()
    return Promise.all(records.map(r => this.view(r.id, records)))
  }

  async get (id: string): Promise<AliasView> {
    const records = await this.store.listRecords()
    if (!records.some(r => r.id === id)) throw notFound(id)
    return this.view(id, records)
  }

  /** Create or replace from the admin API. Throws REQUEST_INVALID with every issue. */
  async put (id: string, doc: unknown): Promise<{ view: AliasView, created: boolean }> {
    const issues = validateAlias(id, doc, this.config.allowedHosts)
    if (issues.length > 0) throw invalid(`The alias document for "${id}" is invalid`, issues)
    const existing = await this.store.getRecord(id)
    const rec = await this.buildRecord(id, doc as AliasDocument, existing, 'api', [], issues)
    if (issues.length > 0) throw invalid(`The alias document for "${id}" is invalid`, issues)
    await this.save(rec, existing)
    return { view: await this.get(id), created: existing === undefined }
  }

  async delete (id: string): Promise<void> {
    const records = await this.store.listRecords()
    const rec = records.find(r => r.id === id)
    if (!rec) throw notFound(id)
    const children = records.filter(r => r.doc.parent === id).map(r => r.id)
    if (children.length > 0) {
      throw new RequestInvalidError(`Alias "${id}" is the parent of ${children.join(', ')}: delete or re-parent its children first`)
    }
    if (rec.doc.parent && await this.redis.get(this.activeKey(rec.doc.parent)) === id) await this.redis.del(this.activeKey(rec.doc.parent))
    await this.redis.del(this.activeKey(id))
    await this.store.deleteAlias(id)
    this.invalidate(id)
    this.log.info({ alias: id }, 'alias deleted')
  }

  /** Replace the managed groups (keeps everything else, secrets included). */
  async setManagedGroups (id: string, groups: Array<{ groupId: string, name?: string }>): Promise<void> {
    const rec = await this.store.getRecord(id)
    if (!rec) throw notFound(id)
    rec.doc = { ...rec.doc, managedGroups: groups }
    rec.source = 'api'
    rec.updatedAt = new Date().toISOString()
    await this.store.putRecord(rec)
    this.invalidate(id)
  }

  private activeKey (parent: string): string { return `${this.store.base}active:${parent}` }

  /** Build the stored record: secrets sealed (kept from the existing record when not re-sent). */
  private async buildRecord (id: string, doc: AliasDocument, existing: AliasRecord | undefined, source: 'file' | 'api', unresolved: Unresolved[], issues: ValidationIssue[]): Promise<AliasRecord> {
    if (doc.parent !== undefined) {
      const parent = await this.store.getRecord(doc.parent)
      if (source === 'api' && !parent) issues.push({ path: '/parent', message: `parent alias "${doc.parent}" does not exist` })
      if (parent?.doc.parent !== undefined) issues.push({ path: '/parent', message: `"${doc.parent}" is itself a child alias (one level of children only)` })
      const hasChildren = (await this.store.listRecords()).some(r => r.doc.parent === id)
      if (hasChildren) issues.push({ path: '/parent', message: `"${id}" has children of its own and cannot become a child` })
    }
    const { $schema: _schema, id: _id, credential, orgAdmin, ...rest } = doc
    const pub: PublicAliasDocument = { ...rest }
    const sealed: AliasRecord['sealed'] = {}
    if (credential) {
      const { clientSecret, ...c } = credential
      pub.credential = c
      if (clientSecret !== undefined) sealed.clientSecret = this.store.seal(id, 'clientSecret', clientSecret)
      else if (source === 'api' && existing?.sealed.clientSecret && sameClient(existing.doc.credential, c)) sealed.clientSecret = existing.sealed.clientSecret
    }
    if (orgAdmin) {
      const { apiKey, ...o } = orgAdmin
      pub.orgAdmin = o
      if (apiKey !== undefined) sealed.orgApiKey = this.store.seal(id, 'orgApiKey', apiKey)
      else if (source === 'api' && existing?.sealed.orgApiKey && existing.doc.orgAdmin?.orgId === o.orgId) sealed.orgApiKey = existing.sealed.orgApiKey
    }
    const now = new Date().toISOString()
    return { v: 1, id, doc: pub, sealed, source, unresolved, createdAt: existing?.createdAt ?? now, updatedAt: now }
  }

  private async save (rec: AliasRecord, existing: AliasRecord | undefined): Promise<void> {
    const dropTokens = existing !== undefined && credentialIdentity(existing.doc, this.config) !== credentialIdentity(rec.doc, this.config)
    await this.store.putRecord(rec, { dropTokens })
    if (existing && !dropTokens && existing.sealed.clientSecret !== rec.sealed.clientSecret) {
      // A new client secret deserves a new try: clear a refusal recorded under the old one.
      const t = await this.store.readTokens(rec.id).catch((): TokenState => ({ meta: {} }))
      if (t.meta.status === 'refresh_failed') await this.store.writeMeta(rec.id, { ...t.meta, status: undefined, error: undefined })
    }
    if (existing && !dropTokens && (existing.doc.site?.cloudId !== rec.doc.site?.cloudId || existing.doc.site?.url !== rec.doc.site?.url)) {
      await this.store.clearSite(rec.id)
    }
    const parent = rec.doc.parent
    if (existing?.doc.parent && existing.doc.parent !== parent && await this.redis.get(this.activeKey(existing.doc.parent)) === rec.id) {
      await this.redis.del(this.activeKey(existing.doc.parent))
    }
    if (parent) {
      const current = await this.redis.get(this.activeKey(parent))
      if (rec.doc.active === true && current !== rec.id) {
        await this.redis.set(this.activeKey(parent), rec.id)
        if (current) await this.deactivate(current)
      } else if (rec.doc.active !== true && current === rec.id) {
        await this.redis.del(this.activeKey(parent))
      }
      this.invalidate(parent)
      await this.redis.publish(this.store.channel, parent).catch(() => {})
    }
    this.invalidate(rec.id)
    this.log.info({ alias: rec.id, source: rec.source, tokensDropped: dropTokens }, 'alias saved')
  }

  private async deactivate (id: string): Promise<void> {
    const rec = await this.store.getRecord(id)
    if (!rec || rec.doc.active !== true) return
    const { active: _a, ...doc } = rec.doc
    rec.doc = doc
    await this.store.putRecord(rec)
  }

  // ================================================================================================
  // views
  // ================================================================================================

  private async view (id: string, records: AliasRecord[]): Promise<AliasView> {
    const rec = records.find(r => r.id === id) as AliasRecord
    const parent = rec.doc.parent ? records.find(r => r.id === rec.doc.parent) : undefined
    const alias = this.effective(rec, parent)
    const tokens = await this.store.readTokens(id).catch((): TokenState => ({ meta: {} }))
    const activeChild = await this.redis.get(this.activeKey(id))
    const children = records.filter(r => r.doc.parent === id).map(r => r.id)
    const token = tokenView(alias, tokens)
    const problems = [...alias.problems]
    if (problems.length === 0) {
      if (tokens.unreadable) problems.push('the stored tokens do not open with the current SPOKE_MASTER_KEY (set SPOKE_MASTER_KEY_PREVIOUS, or obtain new tokens)')
      if (token.status === 'needs_consent') problems.push(`consent needed: GET /v1/connections/${id}/authorize`)
      if (token.status === 'refresh_failed') problems.push(`the refresh token was refused (${tokens.meta.error ?? 'invalid_grant'}): run the consent again, GET /v1/connections/${id}/authorize`)
      if (tokens.choices && !tokens.site) problems.push(`several sites are reachable: choose one with PUT /v1/connections/${id} (site.cloudId) or GET /v1/connections/${id}/authorize?site=<url>`)
    }
    const { active: _active, ...doc } = rec.doc
    return {
      id,
      ...doc,
      ...(rec.doc.parent ? { active: parent !== undefined && (await this.redis.get(this.activeKey(rec.doc.parent))) === id } : {}),
      secrets: { clientSecret: rec.sealed.clientSecret !== undefined, orgAdminApiKey: rec.sealed.orgApiKey !== undefined },
      source: rec.source,
      ...(rec.file ? { file: rec.file } : {}),
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      children,
      resolvesTo: activeChild && children.includes(activeChild) ? activeChild : id,
      token,
      boundSite: tokens.site ?? null,
      ...(tokens.choices && !tokens.site ? { siteChoices: tokens.choices } : {}),
      ready: problems.length === 0 && (token.status === 'active' || token.status === 'expired'),
      problems
    }
  }

  /** The alias after inheritance from its parent, secrets opened (memory only). */
  private effective (rec: AliasRecord, parent: AliasRecord | undefined): EffectiveAlias {
    const d = rec.doc
    const p = parent?.doc
    const owner = d.credential ? rec : (p?.credential ? parent : undefined)
    const cred = owner?.doc.credential
    const problems: string[] = []
    if (d.parent && !parent) problems.push(`parent alias "${d.parent}" does not exist`)
    if (!cred) problems.push('credential: not set (give the alias a credential, or a parent that has one)')
    const unresolvedOf = (field: string): Unresolved | undefined => owner?.unresolved.find(u => u.field === field)
    let clientSecret: string | undefined
    if (owner?.sealed.clientSecret) {
      try { clientSecret = this.store.open(owner.id, 'clientSecret', owner.sealed.clientSecret) } catch {
        problems.push('credential.clientSecret: cannot be opened with the current SPOKE_MASTER_KEY; set it again')
      }
    }
    if (cred && !cred.clientId) {
      const u = unresolvedOf('credential.clientId')
      problems.push(u ? `credential.clientId: environment variable ${u.variable} is not set` : 'credential.clientId: not set')
    }
    if (cred && !owner?.sealed.clientSecret) {
      const u = unresolvedOf('credential.clientSecret')
      problems.push(u ? `credential.clientSecret: environment variable ${u.variable} is not set` : 'credential.clientSecret: not set')
    }
    for (const u of rec.unresolved) {
      if (u.field !== 'credential.clientId' && u.field !== 'credential.clientSecret') problems.push(`${u.field}: environment variable ${u.variable} is not set`)
    }
    const orgOwner = d.orgAdmin ? rec : (p?.orgAdmin ? parent : undefined)
    let orgApiKey: string | undefined
    if (orgOwner?.sealed.orgApiKey) {
      try { orgApiKey = this.store.open(orgOwner.id, 'orgApiKey', orgOwner.sealed.orgApiKey) } catch { /* reported as unset */ }
    }
    const authBase = this.config.atlassianAuthUrl
    return {
      id: rec.id,
      parent: d.parent,
      name: d.name ?? rec.id,
      grant: cred?.type,
      clientId: cred?.clientId,
      clientSecret,
      scopes: cred?.scopes ?? [],
      authorizeUrl: cred?.authorizeUrl ?? `${authBase}/authorize`,
      tokenUrl: cred?.tokenUrl ?? `${authBase}/oauth/token`,
      connectionUrl: withSlash(d.connectionUrl ?? p?.connectionUrl ?? this.config.atlassianApiUrl),
      site: d.site,
      retryPolicy: { ...DEFAULT_RETRY_POLICY, ...(p?.retryPolicy ?? {}), ...(d.retryPolicy ?? {}) },
      managedGroups: d.managedGroups ?? p?.managedGroups ?? [],
      orgAdmin: orgOwner ? { orgId: orgOwner.doc.orgAdmin?.orgId, apiKey: orgApiKey } : undefined,
      problems
    }
  }

  // ================================================================================================
  // cache
  // ================================================================================================

  private invalidate (id: string): void {
    this.versions.set(id, (this.versions.get(id) ?? 0) + 1)
    this.cache.delete(id)
    for (const [k, e] of this.cache) if (e.record?.doc.parent === id || e.activeChild === id) this.cache.delete(k)
  }

  private async entry (id: string): Promise<Entry> {
    const cached = this.cache.get(id)
    if (cached && Date.now() - cached.loadedAt < REVALIDATE_MS) return cached
    let p = this.loading.get(id)
    if (!p) {
      p = this.load(id).finally(() => this.loading.delete(id))
      this.loading.set(id, p)
    }
    return p
  }

  private async load (id: string): Promise<Entry> {
    const version = this.versions.get(id) ?? 0
    const res = await this.redis.multi()
      .get(`${this.store.base}alias:${id}`)
      .get(this.activeKey(id))
      .exec()
    const raw = res?.[0]?.[1] as string | null
    const activeChild = (res?.[1]?.[1] as string | null) ?? undefined
    const entry: Entry = { id, tokens: { meta: {} }, loadedAt: Date.now(), activeChild }
    if (raw) {
      entry.record = JSON.parse(raw) as AliasRecord
      const parent = entry.record.doc.parent ? await this.store.getRecord(entry.record.doc.parent) : undefined
      entry.alias = this.effective(entry.record, parent)
      entry.tokens = await this.store.readTokens(id)
      entry.session = this.sessionOf(entry)
    }
    if ((this.versions.get(id) ?? 0) === version && !this.closed) this.cache.set(id, entry)
    return entry
  }

  private sessionOf (e: Entry): Session | undefined {
    const set = e.tokens.set
    const site = e.tokens.site
    if (!e.alias || !set || !site || e.alias.problems.length > 0 || e.tokens.meta.status === 'refresh_failed') return undefined
    if (e.alias.site?.cloudId && e.alias.site.cloudId !== site.cloudId) return undefined
    return {
      alias: e.id,
      accessToken: set.accessToken,
      expiresAt: set.expiresAt,
      freshUntil: set.expiresAt - skewMs(set),
      site,
      connectionUrl: e.alias.connectionUrl,
      confluenceBase: `${e.alias.connectionUrl}ex/confluence/${site.cloudId}`,
      origin: new URL(e.alias.connectionUrl).origin
    }
  }

  // ================================================================================================
  // resolver (ConnectionResolver)
  // ================================================================================================

  async resolve (requested: string = DEFAULT_ALIAS): Promise<ResolvedConnection> {
    const target = await this.target(requested)
    const a = target.alias as EffectiveAlias
    const granted = target.tokens.set?.scopes ?? target.tokens.meta.grantedScopes
    return {
      requested,
      resolved: target.id,
      managedGroups: a.managedGroups.map(g => ({ ...g })),
      retryPolicy: { ...a.retryPolicy },
      scopes: [...a.scopes],
      ...(granted ? { grantedScopes: [...granted] } : {})
    }
  }

  /** The org admin key of the alias that serves `requested` (or its parent's), for the Organizations API; never logged. */
  async orgAdmin (requested: string = DEFAULT_ALIAS): Promise<{ orgId?: string, apiKey: string, connectionUrl: string } | undefined> {
    const a = (await this.target(requested)).alias as EffectiveAlias
    return a.orgAdmin?.apiKey ? { orgId: a.orgAdmin.orgId, apiKey: a.orgAdmin.apiKey, connectionUrl: a.connectionUrl } : undefined
  }

  /** The entry that serves `requested`: itself, or its parent's active child. */
  private async target (requested: string): Promise<Entry> {
    const e = await this.entry(requested)
    if (!e.alias) throw notFound(requested)
    if (e.activeChild) {
      const c = await this.entry(e.activeChild)
      if (c.alias && c.record?.doc.parent === requested) return c
    }
    return e
  }

  // ================================================================================================
  // sessions (the client's hot path)
  // ================================================================================================

  /** A usable session straight from memory, or undefined (then call `session`). No I/O. */
  cachedSession (alias: string): Session | undefined {
    let e = this.cache.get(alias)
    const now = Date.now()
    if (!e || now - e.loadedAt >= REVALIDATE_MS) return undefined
    if (e.activeChild) {
      e = this.cache.get(e.activeChild)
      if (!e || now - e.loadedAt >= REVALIDATE_MS) return undefined
    }
    const s = e.session
    return s && s.freshUntil > now ? s : undefined
  }

  /** A session with a fresh token and a bound site, refreshing or binding as needed. */
  async session (alias: string): Promise<Session> {
    const e = await this.target(alias)
    if (e.session && e.session.freshUntil > Date.now()) return e.session
    return this.prepare(e, {})
  }

  /** After a 401 (or 403/404 past expiry) with `staleToken`: one refresh, then the new session. */
  async renew (alias: string, staleToken: string): Promise<Session> {
    const e = await this.target(alias)
    if (e.session && e.session.accessToken !== staleToken && e.session.freshUntil > Date.now()) return e.session
    return this.prepare(e, { stale: staleToken })
  }

  private async prepare (e: Entry, opts: RefreshOptions): Promise<Session> {
    const a = e.alias as EffectiveAlias
    if (a.problems.length > 0) throw notConfigured(e.id, a.problems)
    if (e.tokens.meta.status === 'refresh_failed') throw refreshFailed(e.id, e.tokens.meta.error)
    let tokens = e.tokens
    if (opts.stale !== undefined || !isFresh(tokens.set)) tokens = await this.refresh(e, opts)
    let site = tokens.site
    if (!site || (a.site?.cloudId && site.cloudId !== a.site.cloudId)) site = await this.bindSiteFor(e, tokens)
    e.tokens = { ...tokens, site }
    const session = this.sessionOf(e)
    if (!session) throw needsConsent(e.id)
    e.session = session
    return session
  }

  /** Binds the site of an alias whose token has none yet (client credentials, or a changed site). */
  private async bindSiteFor (e: Entry, tokens: TokenState): Promise<BoundSite> {
    const a = e.alias as EffectiveAlias
    const token = tokens.set?.accessToken as string
    const want = a.site?.cloudId ?? a.site?.url
    if (!want && tokens.choices && tokens.choices.length > 1) throw needsSite(e.id, tokens.choices)
    let choices: SiteChoice[]
    try {
      choices = await accessibleResources(this.agent, a.connectionUrl, token, this.tokenTimeout())
    } catch (err) {
      if (a.site?.cloudId) {
        const site: BoundSite = { cloudId: a.site.cloudId, url: a.site.url ? a.site.url.replace(/\/+$/, '') : '' }
        await this.store.bindSite(e.id, site)
        return site
      }
      throw err
    }
    const pick = pickSite(choices, want)
    if (pick) {
      await this.store.bindSite(e.id, pick)
      this.log.info({ alias: e.id, cloudId: pick.cloudId }, 'site bound')
      return pick
    }
    if (a.site?.cloudId) {
      const site: BoundSite = { cloudId: a.site.cloudId, url: a.site.url ? a.site.url.replace(/\/+$/, '') : '' }
      await this.store.bindSite(e.id, site)
      return site
    }
    if (want) throw new ConnectionNotAuthorizedError(`Alias "${e.id}" names the site ${want}, but its token reaches ${describeChoices(choices)}. An admin must fix site in PUT /v1/connections/${e.id}.`)
    if (choices.length === 0) throw new ConnectionNotAuthorizedError(`The token of alias "${e.id}" reaches no Confluence site. An admin must grant it access to a site.`)
    await this.redis.hset(`${this.store.base}tok:${e.id}`, 'choices', JSON.stringify(choices))
    throw needsSite(e.id, choices)
  }

  private tokenTimeout (): number { return Math.min(this.config.upstreamTimeoutMs, MAX_TOKEN_TIMEOUT_MS) }

  // ================================================================================================
  // token provider
  // ================================================================================================

  /** "Get OAuth Token": obtain (client credentials) or refresh (authorization code) now. */
  async obtainNow (id: string): Promise<TokenView> {
    const e = await this.entry(id)
    if (!e.alias) throw notFound(id)
    if (e.alias.problems.length > 0) throw notConfigured(id, e.alias.problems)
    const before = await this.store.readTokens(id)
    const tokens = await this.refresh(e, { force: true, sinceGen: before.set?.gen ?? 0 })
    this.invalidate(id)
    try { await this.prepare(await this.entry(id), {}) } catch (err) {
      if (!(err instanceof AppError)) throw err // a site still to choose is reported by GET
    }
    return tokenView(e.alias, await this.store.readTokens(id).catch(() => tokens))
  }

  /**
   * One refresh at a time per alias: in-process promise sharing, then a Redis lock, and a re-read of the
   * store after the lock (another process may have refreshed already).
   */
  private refresh (e: Entry, opts: RefreshOptions): Promise<TokenState> {
    let p = this.inflight.get(e.id)
    if (!p) {
      p = this.refreshAcrossProcesses(e, opts).then((tokens) => {
        e.tokens = { ...e.tokens, ...tokens }
        e.session = this.sessionOf(e)
        return tokens
      }).finally(() => this.inflight.delete(e.id))
      this.inflight.set(e.id, p)
    }
    return p
  }

  private async refreshAcrossProcesses (e: Entry, opts: RefreshOptions): Promise<TokenState> {
    const id = e.id
    const deadline = Date.now() + LOCK_WAIT_MS
    const first = await this.store.readTokens(id)
    if (usable(first, opts)) return first
    if (first.meta.status === 'refresh_failed' && !opts.force) throw refreshFailed(id, first.meta.error)
    for (;;) {
      const lock = await this.store.tryLock(id, LOCK_TTL_MS)
      if (lock) {
        try {
          const cur = await this.store.readTokens(id) // re-read after the lock
          if (usable(cur, opts)) return cur
          return await this.obtain(e.alias as EffectiveAlias, cur)
        } finally {
          await this.store.unlock(id, lock).catch(() => {})
        }
      }
      await sleep(LOCK_POLL_MS)
      const cur = await this.store.readTokens(id)
      if (usable(cur, opts)) return cur
      // The lock holder failed for good: do not try again with the same refresh token.
      if (cur.meta.status === 'refresh_failed' && first.meta.status !== 'refresh_failed') throw refreshFailed(id, cur.meta.error)
      if (Date.now() > deadline) throw new UpstreamUnavailableError(`Another process has held the token refresh of alias "${id}" for too long; try again`)
    }
  }

  /** Under the lock: ask the token endpoint, persist the new set before anything else forgets the old one. */
  private async obtain (a: EffectiveAlias, cur: TokenState): Promise<TokenState> {
    const ctx: GrantContext = { agent: this.agent, tokenUrl: a.tokenUrl, clientId: a.clientId as string, clientSecret: a.clientSecret as string, timeoutMs: this.tokenTimeout() }
    let base = cur
    let resp: TokenResponse
    try {
      if (a.grant === 'oauth2_client_credentials') {
        resp = await clientCredentialsGrant(ctx)
      } else {
        const rt = cur.set?.refreshToken
        if (!rt) throw needsConsent(a.id)
        try {
          await this.testHooks.beforeRefreshRequest?.(a.id)
          resp = await refreshGrant(ctx, rt)
        } catch (err) {
          if (!(err instanceof TokenEndpointError) || err.kind !== 'invalid_grant') throw err
          // A sibling may have rotated the refresh token (it answered invalid_grant to the old one): re-read once.
          const again = await this.store.readTokens(a.id)
          const rt2 = again.set?.refreshToken
          if (!rt2 || rt2 === rt) throw err
          this.log.info({ alias: a.id }, 'refresh token was rotated by another process; using the stored one')
          if (isFresh(again.set)) return again
          base = again
          resp = await refreshGrant(ctx, rt2)
        }
      }
    } catch (err) {
      if (err instanceof TokenEndpointError) {
        const error = `${err.oauthError ?? err.kind}${err.description ? `: ${err.description}` : ''} (HTTP ${err.status})`
        await this.store.writeMeta(a.id, { ...base.meta, status: 'refresh_failed', error })
        this.log.warn({ alias: a.id, status: err.status, error: err.oauthError, kind: err.kind }, 'token request refused; alias marked refresh_failed')
        if (err.kind === 'client_rejected') throw clientRejected(a.id, error)
        throw refreshFailed(a.id, error)
      }
      throw err
    }
    const now = Date.now()
    const set: TokenSet = {
      accessToken: resp.accessToken,
      refreshToken: a.grant === 'oauth2_client_credentials' ? undefined : (resp.refreshToken ?? base.set?.refreshToken),
      expiresAt: now + resp.expiresInSeconds * 1000,
      obtainedAt: now,
      scopes: resp.scopes ?? base.set?.scopes ?? a.scopes,
      gen: Math.max(base.set?.gen ?? 0, cur.set?.gen ?? 0) + 1
    }
    const meta: TokenMeta = { status: 'active', expiresAt: set.expiresAt, grantedScopes: set.scopes, lastRefreshAt: now, gen: set.gen }
    await this.store.writeTokens(a.id, set, meta)
    this.log.info({ alias: a.id, grant: a.grant, gen: set.gen, expiresAt: new Date(set.expiresAt).toISOString() }, 'token obtained')
    return { ...base, set, meta }
  }

  // ================================================================================================
  // OAuth 2.0 authorization code (3LO)
  // ================================================================================================

  redirectUri (): string { return `${this.config.publicUrl}/v1/oauth/callback` }

  /** The consent URL with a fresh single-use state bound to the alias (10 minutes). */
  async beginConsent (id: string, site?: string): Promise<{ url: string, expiresAt: string }> {
    const e = await this.entry(id)
    if (!e.alias) throw notFound(id)
    const a = e.alias
    if (a.grant !== 'oauth2_authorization_code') {
      throw new RequestInvalidError(`Alias "${id}" uses client credentials; it needs no consent (use POST /v1/connections/${id}/token)`)
    }
    if (a.problems.length > 0) throw notConfigured(id, a.problems)
    const state = randomBytes(32).toString('base64url')
    const redirectUri = this.redirectUri()
    await this.store.putState(state, { alias: id, ...(site ? { site } : {}), redirectUri, createdAt: Date.now() })
    const scopes = [...new Set([...a.scopes, 'offline_access'])]
    const url = new URL(a.authorizeUrl)
    url.searchParams.set('audience', 'api.atlassian.com')
    url.searchParams.set('client_id', a.clientId as string)
    url.searchParams.set('scope', scopes.join(' '))
    url.searchParams.set('redirect_uri', redirectUri)
    url.searchParams.set('state', state)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('prompt', 'consent')
    this.log.info({ alias: id }, 'consent started')
    return { url: url.toString(), expiresAt: new Date(Date.now() + STATE_TTL_MS).toISOString() }
  }

  /** The callback: take the state (once), exchange the code, store the tokens, bind the site. */
  async completeConsent (q: { code?: string, state?: string, error?: string, error_description?: string }): Promise<ConsentResult & { status: number }> {
    if (!q.state || !/^[A-Za-z0-9_-]{16,128}$/.test(q.state)) {
      return { ok: false, status: 400, title: 'Invalid sign-in link', message: 'The callback carries no valid state. Start again from "Get OAuth Token".' }
    }
    const st = await this.store.takeState(q.state)
    if (!st) {
      return { ok: false, status: 400, title: 'Sign-in link already used or expired', message: 'This consent was already completed, or it is older than 10 minutes. Start again from "Get OAuth Token" (GET /v1/connections/{alias}/authorize).' }
    }
    const id = st.alias
    if (q.error) {
      this.log.info({ alias: id, error: q.error }, 'consent declined')
      return { ok: false, status: 400, alias: id, title: 'Consent not given', message: `Atlassian answered "${q.error}"${q.error_description ? `: ${q.error_description}` : ''}. Nothing was changed.` }
    }
    if (!q.code) return { ok: false, status: 400, alias: id, title: 'No authorization code', message: 'The callback carries no code. Start again.' }
    const e = await this.entry(id)
    if (!e.alias) return { ok: false, status: 404, alias: id, title: 'Alias not found', message: `Alias "${id}" was deleted during the consent.` }
    const a = e.alias
    if (a.problems.length > 0 || a.grant !== 'oauth2_authorization_code') {
      return { ok: false, status: 409, alias: id, title: 'Alias not ready', message: `Alias "${id}" changed during the consent: ${a.problems.join('; ') || 'it no longer uses the authorization code grant'}.` }
    }
    const ctx: GrantContext = { agent: this.agent, tokenUrl: a.tokenUrl, clientId: a.clientId as string, clientSecret: a.clientSecret as string, timeoutMs: this.tokenTimeout() }
    let resp: TokenResponse
    try {
      resp = await exchangeCode(ctx, q.code, st.redirectUri)
    } catch (err) {
      const why = err instanceof TokenEndpointError ? `${err.oauthError ?? err.kind} (HTTP ${err.status})` : (err as Error).message
      this.log.warn({ alias: id, reason: why }, 'code exchange failed')
      return { ok: false, status: 502, alias: id, title: 'Code exchange failed', message: `The token endpoint refused the authorization code: ${why}. Start again.` }
    }
    let choices: SiteChoice[] = []
    let listed = true
    try {
      choices = await accessibleResources(this.agent, a.connectionUrl, resp.accessToken, this.tokenTimeout())
    } catch (err) {
      listed = false
      this.log.warn({ alias: id, reason: (err as Error).message }, 'accessible-resources failed after consent')
    }
    const want = st.site ?? a.site?.cloudId ?? a.site?.url
    const site = listed ? pickSite(choices, want) : undefined
    const now = Date.now()
    const prev = await this.store.readTokens(id)
    const set: TokenSet = {
      accessToken: resp.accessToken,
      refreshToken: resp.refreshToken,
      expiresAt: now + resp.expiresInSeconds * 1000,
      obtainedAt: now,
      scopes: resp.scopes ?? a.scopes,
      gen: (prev.set?.gen ?? 0) + 1
    }
    const meta: TokenMeta = { status: 'active', expiresAt: set.expiresAt, grantedScopes: set.scopes, lastRefreshAt: now, gen: set.gen }
    await this.store.writeTokens(id, set, meta, site ? { site, choices: null } : { site: null, choices: listed ? choices : null })
    this.invalidate(id)
    this.log.info({ alias: id, cloudId: site?.cloudId, sites: choices.length, refreshToken: resp.refreshToken !== undefined }, 'consent completed')
    const noRefresh = resp.refreshToken ? '' : ' Atlassian returned no refresh token (was offline_access granted?): the alias will need a new consent when this token expires.'
    if (site) {
      return { ok: true, status: 200, alias: id, site, title: 'Connected', message: `Alias "${id}" is connected to ${site.url || site.cloudId}.${noRefresh}` }
    }
    if (want && listed) {
      return { ok: false, status: 409, alias: id, choices, title: 'Site not in the grant', message: `The grant does not reach ${want}. It reaches ${describeChoices(choices)}. Choose one with PUT /v1/connections/${id} (site.cloudId) or start again with GET /v1/connections/${id}/authorize?site=<url>.` }
    }
    if (!listed) {
      return { ok: false, status: 502, alias: id, title: 'Tokens stored, site unknown', message: `The tokens are stored, but the list of sites could not be read. The site is bound on the first call, or set site.cloudId with PUT /v1/connections/${id}.` }
    }
    if (choices.length === 0) {
      return { ok: false, status: 409, alias: id, title: 'No Confluence site', message: 'The grant reaches no Confluence site. Approve the consent for a site with Confluence.' }
    }
    return { ok: true, status: 200, alias: id, choices, title: 'Choose a site', message: `The grant reaches several Confluence sites: ${describeChoices(choices)}. Choose one with PUT /v1/connections/${id} (site.cloudId), or start again with GET /v1/connections/${id}/authorize?site=<url>.${noRefresh}` }
  }
}

// ==================================================================================================
// helpers
// ==================================================================================================

interface RefreshOptions { force?: boolean, sinceGen?: number, stale?: string }

/** Refresh ahead: 10% of the token's life, at most 60 s. */
export function skewMs (set: TokenSet): number {
  return Math.min(60_000, Math.max(0, (set.expiresAt - set.obtainedAt) * 0.1))
}

function isFresh (set: TokenSet | undefined): set is TokenSet {
  return set !== undefined && set.expiresAt - skewMs(set) > Date.now()
}

function usable (t: TokenState, opts: RefreshOptions): boolean {
  if (!isFresh(t.set) || t.meta.status === 'refresh_failed') return false
  if (opts.stale !== undefined && t.set.accessToken === opts.stale) return false
  if (opts.force && t.set.gen <= (opts.sinceGen ?? 0)) return false
  return true
}

function tokenView (a: EffectiveAlias, t: TokenState): TokenView {
  const set = t.set
  let status: TokenStatus
  if (a.problems.length > 0) status = 'needs_configuration'
  else if (t.meta.status === 'refresh_failed') status = 'refresh_failed'
  else if (!set) status = a.grant === 'oauth2_client_credentials' ? 'expired' : 'needs_consent'
  else if (set.expiresAt > Date.now()) status = 'active'
  else if (a.grant === 'oauth2_authorization_code' && !set.refreshToken) status = 'needs_consent'
  else status = 'expired'
  const expiresAt = set?.expiresAt ?? t.meta.expiresAt
  const last = t.meta.lastRefreshAt ?? set?.obtainedAt
  return {
    status,
    expiresAt: expiresAt ? new Date(expiresAt).toISOString() : null,
    grantedScopes: set?.scopes ?? t.meta.grantedScopes ?? [],
    lastRefreshAt: last ? new Date(last).toISOString() : null,
    ...(t.meta.error && status === 'refresh_failed' ? { error: t.meta.error } : {})
  }
}

function pickSite (choices: SiteChoice[], want: string | undefined): SiteChoice | undefined {
  if (want) return choices.find(c => sameSite(want, c))
  return choices.length === 1 ? choices[0] : undefined
}

function describeChoices (choices: SiteChoice[]): string {
  return choices.length === 0 ? 'no Confluence site' : choices.map(c => `${c.url} (cloudId ${c.cloudId})`).join(', ')
}

function sameClient (a: PublicAliasDocument['credential'] | undefined, b: PublicAliasDocument['credential'] | undefined): boolean {
  return a?.type === b?.type && a?.clientId === b?.clientId && a?.tokenUrl === b?.tokenUrl
}

/** Tokens survive a replace only while the credential identity is the same. */
function credentialIdentity (d: PublicAliasDocument, config: Config): string {
  const c = d.credential
  return JSON.stringify([
    c?.type, c?.clientId, c?.tokenUrl ?? '', withSlash(d.connectionUrl ?? config.atlassianApiUrl),
    c?.type === 'oauth2_client_credentials' ? [...(c.scopes ?? [])].sort() : []
  ])
}

function withSlash (u: string): string { return u.endsWith('/') ? u : `${u}/` }

function sleep (ms: number): Promise<void> { return new Promise(resolve => setTimeout(resolve, ms)) }

function invalid (message: string, issues: ValidationIssue[]): AppError {
  return new RequestInvalidError(`${message}: ${issues.map(i => `${i.path} ${i.message}`).join('; ')}`, {
    errors: issues.map(i => ({ in: 'body', path: i.path, message: i.message, ...(i.params !== undefined ? { params: i.params } : {}) }))
  })
}

function notFound (id: string): AppError {
  return new ConnectionNotFoundError(`No connection alias "${id}" (GET /v1/connections lists them)`)
}

function notConfigured (id: string, problems: string[]): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" is not configured: ${problems.join('; ')}. An admin must complete it (PUT /v1/connections/${id}, or the environment variables of its file).`)
}

function needsConsent (id: string): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" has no authorized token. An admin must run "Get OAuth Token": open GET /v1/connections/${id}/authorize and approve the consent.`)
}

function refreshFailed (id: string, error: string | undefined): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" lost its authorization: Atlassian refused its refresh token (${error ?? 'invalid_grant'}; revoked, unused for 90 days, or the user's password changed). An admin must run the consent again: GET /v1/connections/${id}/authorize.`)
}

function clientRejected (id: string, error: string): AppError {
  return new ConnectionNotAuthorizedError(`The token endpoint refused the client of alias "${id}" (${error}). An admin must check credential.clientId and credential.clientSecret: PUT /v1/connections/${id}.`)
}

function needsSite (id: string, choices: SiteChoice[]): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" reaches several Confluence sites (${describeChoices(choices)}). An admin must choose one: PUT /v1/connections/${id} with site.cloudId, or GET /v1/connections/${id}/authorize?site=<url>.`)
}

export type { GrantType }
