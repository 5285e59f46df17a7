// The OAuth server's state: authorization codes, access tokens and rotating refresh-token families.
import { randomBytes } from 'node:crypto'

export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials' | 'test'

export interface Grant {
  accountId: string
  clientId: string
  scopes: string[]
  cloudIds: string[]
}

export interface AccessToken extends Grant {
  token: string
  grantType: GrantType
  expiresAt: number
  scopeSet: Set<string>
}

interface RefreshToken extends Grant {
  token: string
  familyId: string
  expiresAt: number
  /** when a newer token of the family was issued; reuse is tolerated for the leeway after that */
  supersededAt?: number
}

interface AuthorizationCode extends Grant { redirectUri: string, expiresAt: number }

export interface TokenTimings {
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  refreshLeewaySeconds: number
}

export type RefreshOutcome =
  | { ok: true, grant: Grant, refreshToken: string }
  | { ok: false, error: 'invalid_grant', description: string }

const CODE_TTL_MS = 10 * 60 * 1000
const PRUNE_EVERY = 1000

export class TokenStore {
  private readonly access = new Map<string, AccessToken>()
  private readonly refresh = new Map<string, RefreshToken>()
  private readonly codes = new Map<string, AuthorizationCode>()
  private issued = 0

  constructor (readonly timings: TokenTimings) {}

  issueAccessToken (grant: Grant, grantType: GrantType, ttlSeconds = this.timings.accessTokenTtlSeconds): AccessToken {
    if (++this.issued % PRUNE_EVERY === 0) this.prune()
    const token: AccessToken = { ...grant, token: opaque('at'), grantType, expiresAt: Date.now() + ttlSeconds * 1000, scopeSet: new Set(grant.scopes) }
    this.access.set(token.token, token)
    return token
  }

  accessToken (token: string): AccessToken | undefined { return this.access.get(token) }

  issueRefreshToken (grant: Grant, familyId = opaque('rf')): string {
    const token = opaque('rt')
    this.refresh.set(token, { ...grant, token, familyId, expiresAt: Date.now() + this.timings.refreshTokenTtlSeconds * 1000 })
    return token
  }

  /** Rotation: the presented token is superseded (still usable for the leeway), a new one is issued. */
  rotate (presented: string, clientId: string): RefreshOutcome {
    const now = Date.now()
    const current = this.refresh.get(presented)
    const leewayMs = this.timings.refreshLeewaySeconds * 1000
    if (!current || current.clientId !== clientId || current.expiresAt <= now ||
      (current.supersededAt !== undefined && now - current.supersededAt > leewayMs)) {
      return { ok: false, error: 'invalid_grant', description: 'Unknown or invalid refresh token.' }
    }
    current.supersededAt ??= now
    const grant: Grant = { accountId: current.accountId, clientId: current.clientId, scopes: current.scopes, cloudIds: current.cloudIds }
    return { ok: true, grant, refreshToken: this.issueRefreshToken(grant, current.familyId) }
  }

  createCode (grant: Grant, redirectUri: string): string {
    const code = opaque('ac')
    this.codes.set(code, { ...grant, redirectUri, expiresAt: Date.now() + CODE_TTL_MS })
    return code
  }

  /** Codes are single-use: the first exchange consumes it, whatever its outcome. */
  consumeCode (code: string): AuthorizationCode | undefined {
    const found = this.codes.get(code)
    this.codes.delete(code)
    return found && found.expiresAt > Date.now() ? found : undefined
  }

  /** Forced expiry: every access token issued so far is expired now. */
  expireAllAccessTokens (): number {
    const past = Date.now() - 1
    for (const token of this.access.values()) token.expiresAt = Math.min(token.expiresAt, past)
    return this.access.size
  }

  revokeRefreshTokens (): void { this.refresh.clear() }

  clear (): void {
    this.access.clear()
    this.refresh.clear()
    this.codes.clear()
  }

  /** Drops tokens that expired more than a day ago, so long runs keep a bounded store. */
  private prune (): void {
    const cutoff = Date.now() - 86400_000
    for (const [key, token] of this.access) if (token.expiresAt < cutoff) this.access.delete(key)
    for (const [key, code] of this.codes) if (code.expiresAt < Date.now()) this.codes.delete(key)
  }
}

function opaque (prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`
}
