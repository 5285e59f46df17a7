// The connection layer, assembled: stores → OAuth client → refresher → session cache → alias service and
// consent; and its lifetime: validate the alias files, subscribe to alias changes, write the files to Redis
// (once Redis answers, when the process started without it). The Confluence client is built on top of it
// by the composition root (core.ts), never here.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Agent } from 'undici'
import type { Config } from '../config/env'
import { Keyring, previousKeysFromEnv } from '../lib/crypto'
import { duplicateRedis } from '../lib/redis'
import { closeRedis } from '../lib/redis-close'
import { AliasService } from './alias-service'
import { AliasStore } from './alias-store'
import { ConsentFlow } from './consent'
import { connectionKeys } from './keys'
import { loadAliasFiles } from './loader'
import { resealAll } from './reseal'
import { createTokenEndpoint, type TokenEndpoint } from './oauth-client'
import { SessionCache } from './session-cache'
import { TokenRefresher } from './token-refresher'
import { TokenStore } from './token-store'
import type { TokenMetrics } from '../lib/metrics-spoke'
import type { Tracing } from '../lib/tracing'
import type { ReplicationWait } from '../lib/replication'

export { DEFAULT_ALIAS } from './alias-id'
export type { AliasView, TokenView } from './alias-view'
export type { ConnectionResolver, ResolvedConnection, Session, SessionProvider } from './types'

/** Never more than this for a token-endpoint request, whatever SPOKE_UPSTREAM_TIMEOUT_MS says. */
const MAX_TOKEN_TIMEOUT_MS = 10_000

export interface ConnectionLayerOptions {
  /** Tests wrap the real token endpoint to step in before a request (e.g. a sibling rotating first). */
  wrapTokenEndpoint?: (real: TokenEndpoint) => TokenEndpoint
  /** Token refresh counters (core.ts passes them; lib/metrics-spoke.ts). */
  metrics?: Pick<TokenMetrics, 'refreshes'>
  /** Client spans for token requests when tracing is on (core.ts passes it). */
  tracing?: Tracing
  /** WAIT for the replicas after token and alias writes (core.ts passes it; lib/replication.ts). */
  replication?: ReplicationWait
}

export interface ConnectionLayer {
  /** Alias CRUD and views (admin API, alias files). */
  aliases: AliasService
  /** Resolves requested aliases (ConnectionResolver) and hands out sessions (SessionProvider). */
  sessions: SessionCache
  /** "Get OAuth Token" (authorization code): consent URL and callback. */
  consent: ConsentFlow
  /** Token persistence (tests read it). */
  tokens: TokenStore
  /** The alias files are in Redis (false while a start without Redis waits for it). */
  filesApplied: () => boolean
  close: () => Promise<void>
}

export async function createConnectionLayer (config: Config, redis: Redis, log: Logger, agent: Agent, opts: ConnectionLayerOptions = {}): Promise<ConnectionLayer> {
  if (!config.masterKey) throw new Error('SPOKE_MASTER_KEY is not resolved: call resolveSecrets(config) before createCore')
  const files = loadAliasFiles(config.connectionsDir, config.allowedHosts) // a bad file stops the start here
  const clog = log.child({ component: 'connections' })
  const previousKeys = previousKeysFromEnv()
  const keyring = new Keyring(config.masterKey, previousKeys)
  const keys = connectionKeys(config.keyPrefix)
  const aliasStore = new AliasStore(redis, keys, keyring, opts.replication)
  const tokens = new TokenStore(redis, keys, keyring, opts.replication)
  const real = createTokenEndpoint(agent, Math.min(config.upstreamTimeoutMs, MAX_TOKEN_TIMEOUT_MS), opts.tracing)
  const endpoint = opts.wrapTokenEndpoint ? opts.wrapTokenEndpoint(real) : real
  const defaults = { atlassianAuthUrl: config.atlassianAuthUrl, atlassianApiUrl: config.atlassianApiUrl, allowedHosts: config.allowedHosts }
  const refresher = new TokenRefresher(tokens, endpoint, clog, opts.metrics)
  const sessions = new SessionCache({ aliases: aliasStore, tokens, refresher, endpoint, defaults, log: clog })
  const invalidate = (id: string): void => sessions.invalidate(id)
  const aliases = new AliasService({ aliases: aliasStore, tokens, invalidate, defaults, log: clog })
  const consent = new ConsentFlow({ alias: (id) => sessions.alias(id), invalidate, tokens, endpoint, publicUrl: config.publicUrl, log: clog })

  let applied = false
  let closed = false
  const subscriber = duplicateRedis(redis, { enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'confluence-spoke:conn-events' })
  subscriber.on('error', () => {})
  subscriber.on('message', (_ch: string, id: string) => { invalidate(id) })
  const close = async (): Promise<void> => {
    closed = true
    sessions.close()
    await closeRedis(subscriber)
  }
  // Files first (they are sealed anew as they are written), then whatever an earlier key still holds.
  const applyFiles = async (): Promise<void> => {
    await aliases.applyFiles(files)
    if (previousKeys.length > 0) await reseal()
    applied = true
  }
  const reseal = async (): Promise<void> => {
    try {
      const report = await resealAll(aliasStore, tokens)
      clog.info(report, report.unreadable.length === 0
        ? 'master key rotation: every alias secret and token set is sealed under the current key; SPOKE_MASTER_KEY_PREVIOUS can be dropped'
        : 'master key rotation: some aliases hold values no configured key opens; set their secrets or run their consent again')
    } catch (err) {
      clog.warn({ err: String(err) }, 're-sealing under the current master key failed; the next start tries again')
    }
  }

  try {
    const subscribed = subscriber.subscribe(keys.channel).catch((err: unknown) => clog.warn({ err: String(err) }, 'alias change subscription failed; caches revalidate every 5 s'))
    await firstConnectAttempt(redis)
    if (redis.status === 'ready') {
      await subscribed
      await applyFiles()
    } else {
      // Redis is away: start anyway (readiness reports it) and apply the files once it answers.
      clog.warn({ files: files.length }, 'Redis not reachable yet: connection files will be applied when it is')
      const apply = (): void => {
        applyFiles().catch((err: unknown) => {
          clog.warn({ err: String(err) }, 'applying connection files failed; trying again when Redis is back')
          if (!closed) redis.once('ready', apply)
        })
      }
      redis.once('ready', apply)
    }
  } catch (err) {
    await close()
    throw err
  }
  return { aliases, sessions, consent, tokens, filesApplied: () => applied, close }
}

/** Until Redis answers or refuses the first connection (at most 2 s for a host that never answers), so a start without Redis goes on at once. */
async function firstConnectAttempt (redis: Redis): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, 2_000)
    redis.once('ready', done)
    redis.once('error', done)
    function done (): void { clearTimeout(t); redis.off('ready', done); redis.off('error', done); resolve() }
  })
}
