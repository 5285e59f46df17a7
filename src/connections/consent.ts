// OAuth 2.0 authorization code (3LO): the consent URL with a single-use state, and the callback that
// exchanges the code, stores the tokens and binds the site. The callback answers a typed outcome; the words
// an admin reads are the route's (routes/oauth.ts).
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { aliasNotFound, notConfigured, usesClientCredentials } from './errors'
import { TokenEndpointError, type TokenEndpoint, type TokenResponse } from './oauth-client'
import { pickSite } from './site-binding'
import { oauthClientOf } from './token-refresher'
import { STATE_TTL_MS, type TokenStore } from './token-store'
import type { BoundSite, EffectiveAlias, SiteChoice, TokenMeta, TokenSet } from './types'

export interface CallbackQuery { code?: string, state?: string, error?: string, error_description?: string }

/** How a callback ended. `refreshToken: false` means Atlassian sent none (offline_access not granted?). */
export type ConsentOutcome =
  | { kind: 'invalid_state' }
  | { kind: 'state_used_or_expired' }
  | { kind: 'declined', alias: string, error: string, description?: string }
  | { kind: 'no_code', alias: string }
  | { kind: 'alias_gone', alias: string }
  | { kind: 'alias_changed', alias: string, problems: string[] }
  | { kind: 'exchange_failed', alias: string, reason: string, clientRefused: boolean }
  | { kind: 'connected', alias: string, site: BoundSite, refreshToken: boolean }
  | { kind: 'choose_site', alias: string, choices: SiteChoice[], refreshToken: boolean }
  | { kind: 'site_not_in_grant', alias: string, want: string, choices: SiteChoice[] }
  | { kind: 'sites_unknown', alias: string }
  | { kind: 'no_site', alias: string }

export interface ConsentDeps {
  /** The effective alias, or undefined when it does not exist. */
  alias: (id: string) => Promise<EffectiveAlias | undefined>
  /** Tokens of `id` changed: drop what is cached. */
  invalidate: (id: string) => void
  tokens: TokenStore
  endpoint: TokenEndpoint
  publicUrl: string
  log: Logger
}

export const INVALID_SCOPE = 'Atlassian refused the requested scopes (invalid_scope): remove the scopes the app was not given from the alias, or add them to the app in the developer console (Permissions), then Get OAuth Token again'
export const CLIENT_REFUSED = 'the token endpoint refused the client id or client secret: check the client secret of the alias, save it, then Get OAuth Token again'

/** A 401, or an OAuth error naming the client: the client id/secret pair is wrong, not the user's consent. */
function refusesClient (err: unknown): boolean {
  if (!(err instanceof TokenEndpointError)) return false
  return err.status === 401 || err.oauthError === 'invalid_client' || err.oauthError === 'unauthorized_client'
}

export class ConsentFlow {
  constructor (private readonly deps: ConsentDeps) {}

  redirectUri (): string { return `${this.deps.publicUrl}/v1/oauth/callback` }

  /** The consent URL with a fresh single-use state bound to the alias (10 minutes). */
  async begin (id: string, site?: string): Promise<{ url: string, expiresAt: string }> {
    const a = await this.deps.alias(id)
    if (!a) throw aliasNotFound(id)
    if (a.grant !== 'oauth2_authorization_code') throw usesClientCredentials(id)
    if (a.problems.length > 0) throw notConfigured(id, a.problems)
    const state = randomBytes(32).toString('base64url')
    const redirectUri = this.redirectUri()
    await this.deps.tokens.putState(state, { alias: id, ...(site ? { site } : {}), redirectUri, createdAt: Date.now() })
    const scopes = [...new Set([...a.scopes, 'offline_access'])]
    const url = new URL(a.authorizeUrl)
    url.searchParams.set('audience', 'api.atlassian.com')
    url.searchParams.set('client_id', a.clientId as string)
    url.searchParams.set('scope', scopes.join(' '))
    url.searchParams.set('redirect_uri', redirectUri)
    url.searchParams.set('state', state)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('prompt', 'consent')
    this.deps.log.info({ alias: id }, 'consent started')
    return { url: url.toString(), expiresAt: new Date(Date.now() + STATE_TTL_MS).toISOString() }
  }

  /** The callback: take the state (once), exchange the code, store the tokens, bind the site. `traceparent`: the callback request's span, the token and accessible-resources requests' parent. */
  async complete (q: CallbackQuery, traceparent?: string): Promise<ConsentOutcome> {
    const { tokens, endpoint, log } = this.deps
    if (!q.state || !/^[A-Za-z0-9_-]{16,128}$/.test(q.state)) return { kind: 'invalid_state' }
    const st = await tokens.takeState(q.state)
    if (!st) return { kind: 'state_used_or_expired' }
    const id = st.alias
    if (q.error) {
      log.info({ alias: id, error: q.error }, 'consent declined')
      if (q.error === 'invalid_scope') {
        // Kept for the alias's status: the console names the refusal and the next step on the alias's page.
        const prev = await tokens.readTokens(id).catch(() => undefined)
        if (prev) await tokens.writeMeta(id, { ...prev.meta, consentError: `${INVALID_SCOPE}${q.error_description ? ` (${q.error_description})` : ''}` })
      }
      return { kind: 'declined', alias: id, error: q.error, ...(q.error_description ? { description: q.error_description } : {}) }
    }
    if (!q.code) return { kind: 'no_code', alias: id }
    const a = await this.deps.alias(id)
    if (!a) return { kind: 'alias_gone', alias: id }
    if (a.problems.length > 0 || a.grant !== 'oauth2_authorization_code') return { kind: 'alias_changed', alias: id, problems: a.problems }
    let resp: TokenResponse
    try {
      resp = await endpoint.exchangeCode(oauthClientOf(a), q.code, st.redirectUri, traceparent)
    } catch (err) {
      const reason = err instanceof TokenEndpointError ? `${err.oauthError ?? err.kind} (HTTP ${err.status})` : (err as Error).message
      const clientRefused = refusesClient(err)
      log.warn({ alias: id, reason, clientRefused }, 'code exchange failed')
      // Kept for the alias's status, so the console can say why the consent did not stick.
      const prev = await tokens.readTokens(id).catch(() => undefined)
      if (prev) await tokens.writeMeta(id, { ...prev.meta, consentError: clientRefused ? `${CLIENT_REFUSED} (${reason})` : `the code exchange failed: ${reason}` })
      return { kind: 'exchange_failed', alias: id, reason, clientRefused }
    }
    let choices: SiteChoice[] = []
    let listed = true
    try {
      choices = await endpoint.accessibleResources(a.connectionUrl, resp.accessToken, traceparent)
    } catch (err) {
      listed = false
      log.warn({ alias: id, reason: (err as Error).message }, 'accessible-resources failed after consent')
    }
    const want = st.site ?? a.site?.cloudId ?? a.site?.url
    const site = listed ? pickSite(choices, want) : undefined
    const now = Date.now()
    const prev = await tokens.readTokens(id)
    const set: TokenSet = {
      accessToken: resp.accessToken,
      refreshToken: resp.refreshToken,
      expiresAt: now + resp.expiresInSeconds * 1000,
      obtainedAt: now,
      scopes: resp.scopes ?? a.scopes,
      gen: (prev.set?.gen ?? 0) + 1
    }
    const meta: TokenMeta = { status: 'active', expiresAt: set.expiresAt, grantedScopes: set.scopes, lastRefreshAt: now, gen: set.gen }
    await tokens.writeTokens(id, set, meta, site ? { site, choices: null } : { site: null, choices: listed ? choices : null })
    this.deps.invalidate(id)
    log.info({ alias: id, cloudId: site?.cloudId, sites: choices.length, refreshToken: resp.refreshToken !== undefined }, 'consent completed')
    const refreshToken = resp.refreshToken !== undefined
    if (site) return { kind: 'connected', alias: id, site, refreshToken }
    if (want && listed) return { kind: 'site_not_in_grant', alias: id, want, choices }
    if (!listed) return { kind: 'sites_unknown', alias: id }
    if (choices.length === 0) return { kind: 'no_site', alias: id }
    return { kind: 'choose_site', alias: id, choices, refreshToken }
  }
}
