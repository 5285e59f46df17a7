// The composition root shared by the api and the worker. It builds the layers bottom up, each from the ones
// below: Redis clients → outbound HTTP (one undici agent) → the site rate budget → connections (aliases,
// tokens, consent) → the Confluence client → the action engine → jobs. Route modules and workers receive the
// core; nothing reaches for globals.
import type { Logger } from 'pino'
import type { Redis } from 'ioredis'
import type { Config } from './config/env'
import { createRedis, RedisWatch, retryWhileDisconnected } from './lib/redis'
import { closeRedis } from './lib/redis-close'
import { createMetrics, type Metrics } from './lib/metrics'
import { createReplicationWait } from './lib/replication'
import { readAliasWatermarks } from './crawl/state'
import { createTracing, type Tracing } from './lib/tracing'
import { createAgent } from './http/send'
import { SiteBudget } from './budget/site-budget'
import { createConnectionLayer, type ConnectionLayer, type ConnectionLayerOptions } from './connections'
import { SpokeConfluenceClient } from './confluence/client'
import { loadActions } from './actions/load-actions'
import { createActionRegistry, type ActionRegistry } from './actions/action-registry'
import { createActionEngine, type ActionEngine } from './actions/execute-action'
import { DEFAULT_FILE_LIMITS } from './actions/file-transfer'
import type { HandlerServices, OrgAdminAccess } from './actions/handlers/types'
import { callbackPolicy } from './http/signed-post'
import { createIdempotencyStore, type IdempotencyStore } from './actions/idempotency'
import { JobService } from './jobs/job-service'
import { ScheduleService } from './schedules/schedule-service'
import { TriggerService } from './triggers/service'
import { Preflight } from './preflight/preflight'
import { privacySchedules } from './schedules/privacy-schedule'
import { PersonalDataIndex } from './privacy/personal-data-index'
import { erasureKeys } from './jobs/queues'

export type ReadinessCheck = () => Promise<boolean>

export interface Core {
  config: Config
  log: Logger
  metrics: Metrics
  /** OpenTelemetry spans (lib/tracing.ts): NO_TRACING unless OTEL_* turns it on; flushed last on close. */
  tracing: Tracing
  redis: {
    /** Aliases, sealed secrets, locks, idempotency records: fails fast while Redis is away. */
    store: Redis
    /** BullMQ producers on the HTTP path: fails fast too. */
    producer: Redis
    /**
     * What runs inside a job (crawl state, personal-data index, licence plans, checkpoints) and the workers'
     * BullMQ connection: waits for Redis through an outage or failover instead of failing the attempt.
     * Connects on first use, so an api-only process never opens it.
     */
    job: Redis
    /** Logs Redis outages once per change of state, for every client of this process. */
    watch: RedisWatch
  }
  /** Aliases, tokens, OAuth consent; `connections.sessions` is the ConnectionResolver and SessionProvider. */
  connections: ConnectionLayer
  /** The ConfluenceClient of confluence/types (`call`, `site`), built with the site rate budget. */
  confluence: SpokeConfluenceClient
  /** The loaded action definitions (actions/*.json). */
  actions: ActionRegistry
  /** Runs actions: the HTTP route and the job worker both call `engine.execute`. */
  engine: ActionEngine
  /** Idempotency-Key records (sync results and async job acceptances). */
  idempotency: IdempotencyStore
  /** The job queues as the api uses them: enqueue, read, retry, cancel (workers: src/worker.ts). */
  jobs: JobService
  /** Schedules of any action (BullMQ job schedulers); their ticks are dispatched by the worker. */
  schedules: ScheduleService
  /** Triggers: subscriptions to changes in Confluence, polled per site and delivered signed (docs/triggers.md). */
  triggers: TriggerService
  /** Production checks: run at start by server.ts, reported on /readyz and the console (`current()`). */
  preflight: Preflight
  /** An alias's Organizations API key with the process's agent for that API (licences, crawl emails, setup checks). */
  orgAdmin: HandlerServices['orgAdmin']
  /** The index of the accounts whose personal data the spoke stores (docs/privacy.md), on the store connection. */
  privacy: PersonalDataIndex
  /** What a handler gets when it runs inside a job: the same services on the `redis.job` connection. */
  jobServices: HandlerServices
  /** Named readiness checks, each answering within its timeout. */
  addReadinessCheck: (name: string, check: ReadinessCheck) => void
  readiness: () => Promise<Record<string, 'ok' | 'failed'>>
  /** Closers run in reverse registration order: workers before queues before Redis. */
  onClose: (fn: () => Promise<void>) => void
  close: () => Promise<void>
}

const READINESS_TIMEOUT_MS = 1_000
/** The Organizations API client's per-request timeout (licence/org-users waits out 429s and 5xx itself). */
const ORG_API_TIMEOUT_MS = 30_000

/** Seams for tests (never set in production). */
export type CoreOptions = ConnectionLayerOptions

export async function createCore (config: Config, log: Logger, opts: CoreOptions = {}): Promise<Core> {
  // First, before any connection is opened: a bad action file stops the start, naming the file.
  const actions = createActionRegistry(loadActions(config.actionsDir))
  const watch = new RedisWatch(log)
  const store = createRedis(config.redis, 'store', {}, watch)
  const producer = createRedis(config.redis, 'producer', {}, watch)
  const job = createRedis(config.redis, 'worker', { lazyConnect: true }, watch)
  const closers: Array<() => Promise<void>> = []
  const checks = new Map<string, ReadinessCheck>()

  const metrics = createMetrics()
  const tracing = createTracing(config.tracing)
  const replication = createReplicationWait({ timeoutMs: config.redisWaitMs, replicas: config.redisWaitReplicas, expectReplicas: config.redis.mode !== 'single' }, log, metrics.replication)
  const agent = createAgent({ timeoutMs: config.upstreamTimeoutMs })
  // The Organizations API (admin.atlassian.com) is another host with its own timeouts: its own small pool.
  const orgAgent = createAgent({ timeoutMs: ORG_API_TIMEOUT_MS, connections: 8 })
  // Every Confluence call of this process shares its site's rate budget with every other process.
  const budget = new SiteBudget(store, {
    keyPrefix: config.keyPrefix, ratePerSecond: config.siteRatePerSecond, burst: config.siteBurst, syncPatienceMs: config.syncRetryAfterMaxSeconds * 1000, log, metrics: metrics.budget
  })
  let connections: ConnectionLayer
  try {
    connections = await createConnectionLayer(config, store, log, agent, { ...opts, metrics: metrics.tokens, tracing, replication })
  } catch (err) {
    await Promise.all([agent.close(), orgAgent.close()]).catch(() => {})
    await tracing.shutdown().catch(() => {})
    store.disconnect(); producer.disconnect(); job.disconnect()
    throw err
  }
  const confluence = new SpokeConfluenceClient({
    sessions: connections.sessions, resolver: connections.sessions, agent, timeoutMs: config.upstreamTimeoutMs, budget: budget.hooks(), metrics: metrics.upstream, tracing
  })
  metrics.tokens.aliasStates = aliasStateCounts(connections)
  // One HGETALL per scrape (a field per alias), bounded like the readiness checks.
  metrics.crawl.storedWatermarks = async () => await withTimeout(readAliasWatermarks(store, config.keyPrefix), READINESS_TIMEOUT_MS)
  // Personal data: the index, and the default report schedule of an alias (wired once schedules exist).
  const privacyHooks: { current?: ReturnType<typeof privacySchedules> } = {}
  const onNewAlias = (alias: string): void => privacyHooks.current?.onNewAlias(alias)
  const privacy = new PersonalDataIndex(store, config.keyPrefix, onNewAlias)
  const orgAdmin = async (alias: string): Promise<OrgAdminAccess | undefined> => {
    const org = await connections.sessions.orgAdmin(alias)
    return org === undefined ? undefined : { ...org, agent: orgAgent }
  }
  const grantOf = async (alias: string): Promise<string | undefined> => (await connections.sessions.alias(alias))?.grant
  // What a long-running handler (the crawl, licences) needs besides Confluence calls: on the fail-fast store
  // connection for a sync call, on the waiting job connection inside a job.
  const servicesOn = (redis: Redis, index: PersonalDataIndex): HandlerServices => ({
    redis,
    keyPrefix: config.keyPrefix,
    dataDir: config.dataDir,
    callbackSecret: config.callbackSecret,
    callbackPolicy: callbackPolicy(config),
    webhook: { holdMs: config.webhookHoldMs ?? 5_000, giveUpMs: (config.webhookGiveUpSeconds ?? 3_600) * 1000 },
    orgAdmin,
    siteReached: async (alias) => await connections.sessions.reachesSite(alias),
    metrics,
    tracing,
    files: { maxBytes: config.attachmentMaxBytes ?? DEFAULT_FILE_LIMITS.maxBytes, jsonMaxBytes: config.attachmentJsonMaxBytes ?? DEFAULT_FILE_LIMITS.jsonMaxBytes },
    privacy: { index, erasure: erasureKeys(config.keyPrefix), grantOf, metrics: metrics.privacy, onCycle: (alias, period) => privacyHooks.current?.onCycle(alias, period) },
    // A crawl tells the triggers of items whose ACL changed (content.permissions.changed). The trigger service
    // works through the fail-fast connections of the HTTP path, so inside a job a Redis blip is waited out
    // (bounded) rather than failing the crawl's attempt.
    aclChanges: {
      wanted: async (site) => await retryWhileDisconnected(async () => await triggers.aclChanges.wanted(site)),
      publish: async (site, changes) => { await retryWhileDisconnected(async () => { await triggers.aclChanges.publish(site, changes) }) }
    }
  })
  const services = servicesOn(store, privacy)
  const jobServices = servicesOn(job, new PersonalDataIndex(job, config.keyPrefix, onNewAlias))
  const engine = createActionEngine({ registry: actions, client: confluence, connections: connections.sessions, config, log, services, jobServices, metrics: metrics.upstream, tracing })
  const jobs = new JobService({ config, log, producer, actions, engine, connections: connections.sessions, metrics, privacy, replication })
  const schedules = new ScheduleService({ actions, engine, connections: connections.sessions, jobs, log, store, producer, keyPrefix: config.keyPrefix, tracing, replication })
  const triggers = new TriggerService({ config, store, producer, log, connections: connections.sessions, confluence, registry: metrics.registry })
  privacyHooks.current = privacySchedules({ schedules, grantOf, everySeconds: config.privacyReportEverySeconds, log })
  const core: Core = {
    config,
    log,
    metrics,
    tracing,
    redis: { store, producer, job, watch },
    connections,
    confluence,
    actions,
    engine,
    idempotency: createIdempotencyStore(store, { keyPrefix: config.keyPrefix, replication }),
    jobs,
    schedules,
    triggers,
    privacy,
    jobServices,
    preflight: new Preflight({ config, redis: store }),
    orgAdmin,
    addReadinessCheck: (name, check) => { checks.set(name, check) },
    readiness: async () => {
      const entries = await Promise.all([...checks].map(async ([name, check]) =>
        [name, await withTimeout(check(), READINESS_TIMEOUT_MS).catch(() => false) ? 'ok' : 'failed'] as const))
      return Object.fromEntries(entries)
    },
    onClose: (fn) => { closers.push(fn) },
    close: async () => {
      for (const fn of closers.reverse()) {
        try { await fn() } catch (err) { log.warn({ err }, 'close step failed') }
      }
      // (a job connection never used is still waiting to connect: closeRedis only disconnects it)
      await Promise.all([closeRedis(store), closeRedis(producer), closeRedis(job)])
      // Last: the spans of the requests and jobs that just ended go out too.
      await tracing.shutdown().catch((err: unknown) => log.warn({ err }, 'trace export at close failed'))
    }
  }
  core.onClose(async () => { await connections.close(); await agent.close(); await orgAgent.close() })
  core.onClose(() => core.jobs.close())
  core.onClose(() => core.schedules.close())
  core.onClose(() => core.triggers.close())
  // A command on a key of the spoke, not PING: on a Cluster PING goes to any node, while the spoke needs the
  // primary serving its one hash slot (the key names the slot, so this reaches that primary in every mode).
  core.addReadinessCheck('redis', async () => typeof await store.exists(`${config.keyPrefix}:readyz`) === 'number')
  core.addReadinessCheck('actions', async () => actions.size > 0)
  // Started while Redis was away: the alias files are written once it answers; until then, not ready.
  core.addReadinessCheck('connections', async () => connections.filesApplied())
  return core
}

const ALIAS_STATES_TTL_MS = 5_000

/** Aliases by token state for the spoke_aliases gauge: the alias views, read at most every 5 s per process. */
function aliasStateCounts (connections: ConnectionLayer): () => Promise<Record<string, number>> {
  let cached: { at: number, counts: Promise<Record<string, number>> } | undefined
  return async () => {
    if (cached === undefined || Date.now() - cached.at > ALIAS_STATES_TTL_MS) {
      const counts = connections.aliases.list().then((views) => {
        const c: Record<string, number> = {}
        for (const v of views) c[v.token.status] = (c[v.token.status] ?? 0) + 1
        return c
      })
      cached = { at: Date.now(), counts }
      counts.catch(() => { cached = undefined })
    }
    return await withTimeout(cached.counts, READINESS_TIMEOUT_MS)
  }
}

function withTimeout<T> (p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms)
    p.then(v => { clearTimeout(t); resolve(v) }, e => { clearTimeout(t); reject(e) })
  })
}
