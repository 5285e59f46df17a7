// The in-memory view of aliases that every call goes through: alias, tokens and session per alias, trusted
// for REVALIDATE_MS and dropped sooner on a change (pub/sub, see index.ts). It resolves a requested alias
// to the one that serves it (itself, or its parent's active child) and hands the Confluence client sessions
// (SessionProvider): from memory when fresh, else refreshing the token and binding the site.
import type { Logger } from 'pino'
import { isConnectionError } from '../lib/redis'
import { AppError } from '../errors/app-error'
import { DEFAULT_ALIAS } from './alias-id'
import type { AliasStore } from './alias-store'
import { tokenView, type TokenView } from './alias-view'
import { effectiveAlias, type AliasDefaults } from './effective-alias'
import { aliasNotFound, needsConsent, notConfigured, refreshFailed } from './errors'
import type { TokenEndpoint } from './oauth-client'
import { bindSite } from './site-binding'
import { isFresh, skewMs, type RefreshOptions, type TokenRefresher } from './token-refresher'
import type { TokenState, TokenStore } from './token-store'
import type { AliasRecord, ConnectionResolver, EffectiveAlias, ResolvedConnection, Session, SessionProvider } from './types'

/** How long a cached alias is trusted without asking Redis (pub/sub usually invalidates sooner). */
const REVALIDATE_MS = 5_000
/**
 * While Redis cannot be reached, a cached alias keeps serving this much longer: nothing can change it
 * meanwhile (every change goes through Redis, and a change before the outage already dropped it from the
 * cache), and a failover of a few seconds should not fail the calls and jobs in flight.
 */
const STALE_ON_OUTAGE_MS = 60_000

interface Entry {
  id: string
  record?: AliasRecord
  alias?: EffectiveAlias
  activeChild?: string
  tokens: TokenState
  loadedAt: number
  session?: Session
}

export interface SessionCacheDeps {
  aliases: AliasStore
  tokens: TokenStore
  refresher: TokenRefresher
  endpoint: TokenEndpoint
  defaults: AliasDefaults
  log: Logger
}

export class SessionCache implements ConnectionResolver, SessionProvider {
  private readonly cache = new Map<string, Entry>()
  private readonly loading = new Map<string, Promise<Entry>>()
  private readonly versions = new Map<string, number>()
  private closed = false

  constructor (private readonly deps: SessionCacheDeps) {}

  /** Forget `id` and every entry that depends on it (its children, a parent it is the active child of). */
  invalidate (id: string): void {
    this.versions.set(id, (this.versions.get(id) ?? 0) + 1)
    this.cache.delete(id)
    for (const [k, e] of this.cache) if (e.record?.doc.parent === id || e.activeChild === id) this.cache.delete(k)
  }

  close (): void { this.closed = true }

  /** The effective alias (secrets opened), or undefined when there is no such alias. */
  async alias (id: string): Promise<EffectiveAlias | undefined> {
    return (await this.entry(id)).alias
  }

  // ---- ConnectionResolver -------------------------------------------------------------------------

  async resolve (requested: string = DEFAULT_ALIAS): Promise<ResolvedConnection> {
    const target = await this.target(requested)
    const a = target.alias as EffectiveAlias
    const granted = target.tokens.set?.scopes ?? target.tokens.meta.grantedScopes
    return {
      requested,
      resolved: target.id,
      managedGroups: a.managedGroups.map(g => ({ ...g })),
      managedSpaces: a.managedSpaces.map(s => ({ ...s })),
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
    if (!e.alias) throw aliasNotFound(requested)
    if (e.activeChild) {
      const c = await this.entry(e.activeChild)
      if (c.alias && c.record?.doc.parent === requested) return c
    }
    return e
  }

  // ---- SessionProvider (the client's hot path), for an alias already resolved -----------------------

  current (resolvedAlias: string): Session | undefined {
    const e = this.cache.get(resolvedAlias)
    const now = Date.now()
    if (!e || now - e.loadedAt >= REVALIDATE_MS) return undefined
    const s = e.session
    return s && s.freshUntil > now ? s : undefined
  }

  async get (resolvedAlias: string, traceparent?: string): Promise<Session> {
    const e = await this.served(resolvedAlias)
    if (e.session && e.session.freshUntil > Date.now()) return e.session
    return this.prepare(e, traceparent === undefined ? {} : { traceparent })
  }

  /**
   * Whether the alias's token still reaches its bound site, as accessible-resources answers now: `false` only on
   * a complete answer that does not list the site (proof the app lost it); any failure throws (not proven).
   */
  async reachesSite (resolvedAlias: string, traceparent?: string): Promise<boolean> {
    const s = await this.get(resolvedAlias, traceparent)
    const sites = await this.deps.endpoint.accessibleResources(s.connectionUrl, s.accessToken, traceparent)
    return sites.some((site) => site.cloudId === s.site.cloudId)
  }

  async renew (resolvedAlias: string, staleToken: string, traceparent?: string): Promise<Session> {
    const e = await this.served(resolvedAlias)
    if (e.session && e.session.accessToken !== staleToken && e.session.freshUntil > Date.now()) return e.session
    return this.prepare(e, { stale: staleToken, traceparent })
  }

  /** "Get OAuth Token": obtain (client credentials) or refresh (authorization code) now. */
  async obtainNow (id: string, traceparent?: string): Promise<TokenView> {
    const e = await this.entry(id)
    if (!e.alias) throw aliasNotFound(id)
    if (e.alias.problems.length > 0) throw notConfigured(id, e.alias.problems)
    const before = await this.deps.tokens.readTokens(id)
    const tokens = await this.refresh(e, { force: true, sinceGen: before.set?.gen ?? 0, traceparent })
    this.invalidate(id)
    try { await this.prepare(await this.entry(id), { traceparent }) } catch (err) {
      if (!(err instanceof AppError)) throw err // a site still to choose is reported by GET
    }
    return tokenView(e.alias, await this.deps.tokens.readTokens(id).catch(() => tokens))
  }

  private async served (resolvedAlias: string): Promise<Entry> {
    const e = await this.entry(resolvedAlias)
    if (!e.alias) throw aliasNotFound(resolvedAlias)
    return e
  }

  private async prepare (e: Entry, opts: RefreshOptions): Promise<Session> {
    const a = e.alias as EffectiveAlias
    if (a.problems.length > 0) throw notConfigured(e.id, a.problems)
    if (e.tokens.meta.status === 'refresh_failed') throw refreshFailed(e.id, e.tokens.meta.error)
    let tokens = e.tokens
    if (opts.stale !== undefined || !isFresh(tokens.set)) tokens = await this.refresh(e, opts)
    let site = tokens.site
    if (!site || (a.site?.cloudId && site.cloudId !== a.site.cloudId)) site = await bindSite({ store: this.deps.tokens, endpoint: this.deps.endpoint, log: this.deps.log }, a, tokens, opts.traceparent)
    e.tokens = { ...tokens, site }
    const session = sessionOf(e)
    if (!session) throw needsConsent(e.id)
    e.session = session
    return session
  }

  private async refresh (e: Entry, opts: RefreshOptions): Promise<TokenState> {
    const tokens = await this.deps.refresher.refresh(e.alias as EffectiveAlias, opts)
    e.tokens = { ...e.tokens, ...tokens }
    e.session = sessionOf(e)
    return tokens
  }

  // ---- loading ------------------------------------------------------------------------------------

  private async entry (id: string): Promise<Entry> {
    const cached = this.cache.get(id)
    if (cached && Date.now() - cached.loadedAt < REVALIDATE_MS) return cached
    let p = this.loading.get(id)
    if (!p) {
      p = this.load(id).finally(() => this.loading.delete(id))
      this.loading.set(id, p)
    }
    if (cached === undefined) return await p
    try {
      return await p
    } catch (err) {
      if (!isConnectionError(err) || Date.now() - cached.loadedAt >= REVALIDATE_MS + STALE_ON_OUTAGE_MS) throw err
      return cached
    }
  }

  private async load (id: string): Promise<Entry> {
    const version = this.versions.get(id) ?? 0
    const { record, activeChild } = await this.deps.aliases.getWithActiveChild(id)
    const entry: Entry = { id, tokens: { meta: {} }, loadedAt: Date.now(), activeChild }
    if (record) {
      entry.record = record
      const parent = record.doc.parent ? await this.deps.aliases.getRecord(record.doc.parent) : undefined
      entry.alias = effectiveAlias(record, parent, (owner, name, sealed) => this.deps.aliases.open(owner, name, sealed), this.deps.defaults)
      entry.tokens = await this.deps.tokens.readTokens(id)
      entry.session = sessionOf(entry)
    }
    if ((this.versions.get(id) ?? 0) === version && !this.closed) this.cache.set(id, entry)
    return entry
  }
}

function sessionOf (e: Entry): Session | undefined {
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
    origin: new URL(e.alias.connectionUrl).origin
  }
}
