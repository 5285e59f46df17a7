// Obtains and refreshes access tokens, one refresh at a time per alias across every process: in-process
// promise sharing, then a Redis lock, and a re-read of the store under the lock (another process may have
// refreshed already). The new set is persisted before anything can forget the old refresh token.
import type { Logger } from 'pino'
import { UpstreamUnavailableError } from '../errors/errors'
import { clientRejected, needsConsent, refreshFailed } from './errors'
import { TokenEndpointError, type OAuthClient, type TokenEndpoint, type TokenResponse } from './oauth-client'
import type { TokenState, TokenStore } from './token-store'
import type { EffectiveAlias, TokenMeta, TokenSet } from './types'
import type { TokenMetrics } from '../lib/metrics-spoke'

export type RefreshOutcome = 'success' | 'refused' | 'client_rejected' | 'needs_consent' | 'error'

const LOCK_TTL_MS = 15_000
const LOCK_POLL_MS = 25
const LOCK_WAIT_MS = 30_000

export interface RefreshOptions {
  /** Refresh even a fresh token, unless one newer than `sinceGen` is stored ("Get OAuth Token"). */
  force?: boolean
  sinceGen?: number
  /** The token the upstream refused: anything but it will do. */
  stale?: string
  /** What caused the refresh (the engine's span): the token request's client span goes under it (tracing on). */
  traceparent?: string
}

/** Refresh ahead: 10% of the token's life, at most 60 s. */
export function skewMs (set: TokenSet): number {
  return Math.min(60_000, Math.max(0, (set.expiresAt - set.obtainedAt) * 0.1))
}

export function isFresh (set: TokenSet | undefined): set is TokenSet {
  return set !== undefined && set.expiresAt - skewMs(set) > Date.now()
}

function usable (t: TokenState, opts: RefreshOptions): boolean {
  if (!isFresh(t.set) || t.meta.status === 'refresh_failed') return false
  if (opts.stale !== undefined && t.set.accessToken === opts.stale) return false
  if (opts.force && t.set.gen <= (opts.sinceGen ?? 0)) return false
  return true
}

export function oauthClientOf (a: EffectiveAlias): OAuthClient {
  return { alias: a.id, tokenUrl: a.tokenUrl, clientId: a.clientId as string, clientSecret: a.clientSecret as string }
}

export class TokenRefresher {
  private readonly inflight = new Map<string, Promise<TokenState>>()

  constructor (private readonly store: TokenStore, private readonly endpoint: TokenEndpoint, private readonly log: Logger,
    private readonly metrics?: Pick<TokenMetrics, 'refreshes'>) {}

  /** The alias's tokens, refreshed unless a usable set is stored; callers in this process share one refresh. */
  refresh (a: EffectiveAlias, opts: RefreshOptions): Promise<TokenState> {
    let p = this.inflight.get(a.id)
    if (!p) {
      p = this.refreshAcrossProcesses(a, opts).finally(() => this.inflight.delete(a.id))
      this.inflight.set(a.id, p)
    }
    return p
  }

  private async refreshAcrossProcesses (a: EffectiveAlias, opts: RefreshOptions): Promise<TokenState> {
    const id = a.id
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
          return await this.obtainCounted(a, cur, opts.traceparent)
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

  /** obtain(), counted by outcome (spoke_token_refreshes_total): only the lock holder asks, so each request counts once. */
  private async obtainCounted (a: EffectiveAlias, cur: TokenState, traceparent: string | undefined): Promise<TokenState> {
    let outcome: RefreshOutcome = 'error'
    try {
      const got = await this.obtain(a, cur, traceparent)
      outcome = 'success'
      return got
    } catch (err) {
      if (err instanceof TokenEndpointError) outcome = err.kind === 'client_rejected' ? 'client_rejected' : 'refused'
      else if (err instanceof RefusedAs) outcome = err.outcome
      throw err instanceof RefusedAs ? err.cause : err
    } finally {
      this.metrics?.refreshes.labels(a.id, outcome).inc()
    }
  }

  /** Under the lock: ask the token endpoint, persist the new set before anything else forgets the old one. */
  private async obtain (a: EffectiveAlias, cur: TokenState, traceparent: string | undefined): Promise<TokenState> {
    const client = oauthClientOf(a)
    let base = cur
    let resp: TokenResponse
    try {
      if (a.grant === 'oauth2_client_credentials') {
        resp = await this.endpoint.clientCredentials(client, traceparent)
      } else {
        const rt = cur.set?.refreshToken
        if (!rt) throw new RefusedAs('needs_consent', needsConsent(a.id))
        try {
          resp = await this.endpoint.refresh(client, rt, traceparent)
        } catch (err) {
          if (!(err instanceof TokenEndpointError) || err.kind !== 'invalid_grant') throw err
          // Not a wait-and-retry (http/retry.ts): a sibling may have rotated the refresh token (it answered
          // invalid_grant to the old one), so re-read once and go on with the stored one.
          const again = await this.store.readTokens(a.id)
          const rt2 = again.set?.refreshToken
          if (!rt2 || rt2 === rt) throw err
          this.log.info({ alias: a.id }, 'refresh token was rotated by another process; using the stored one')
          if (isFresh(again.set)) return again
          base = again
          resp = await this.endpoint.refresh(client, rt2, traceparent)
        }
      }
    } catch (err) {
      if (err instanceof TokenEndpointError) {
        const error = `${err.oauthError ?? err.kind}${err.description ? `: ${err.description}` : ''} (HTTP ${err.status})`
        await this.store.writeMeta(a.id, { ...base.meta, status: 'refresh_failed', error })
        this.log.warn({ alias: a.id, status: err.status, error: err.oauthError, kind: err.kind }, 'token request refused; alias marked refresh_failed')
        if (err.kind === 'client_rejected') throw new RefusedAs('client_rejected', clientRejected(a.id, error))
        throw new RefusedAs('refused', refreshFailed(a.id, error))
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
}

/** Carries the metrics outcome of an error obtain() throws; obtainCounted() unwraps it. */
class RefusedAs {
  constructor (readonly outcome: RefreshOutcome, readonly cause: unknown) {}
}

function sleep (ms: number): Promise<void> { return new Promise(resolve => setTimeout(resolve, ms)) }
