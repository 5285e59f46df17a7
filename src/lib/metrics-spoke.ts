// The operator's metrics (docs/observability.md): upstream requests, 429s, retries, tokens, the site rate
// budget, job durations and the crawl. Defined here, at the bottom layer, so each layer receives only its
// own group through its constructor (core.ts hands them down); nothing reads a global registry.
// Labels are bounded: operation (action id or route template), status class, alias, site cloudId, reason.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

const LATENCY = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const WAIT = [0.005, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const RETRY_AFTER = [1, 2, 5, 10, 30, 60, 300, 900, 3600]
const REPLICATION = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
const JOB = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 14400]

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'timeout', 'network'] as const
export type StatusClass = typeof STATUS_CLASSES[number]

export function statusClass (status: number): StatusClass {
  return STATUS_CLASSES[Math.min(5, Math.max(1, Math.floor(status / 100))) - 1]
}

export interface UpstreamMetrics {
  requests: Counter<'operation' | 'status_class'>
  duration: Histogram<'operation'>
  rateLimited: Counter<'operation' | 'cloud_id'>
  retryAfter: Histogram<'cloud_id'>
  retries: Counter<'reason'>
}

export interface TokenMetrics {
  refreshes: Counter<'alias' | 'outcome'>
  aliases: Gauge<'state'>
  /** Counts of aliases by token state, read when Prometheus scrapes (core.ts sets it; cached there). */
  aliasStates?: () => Promise<Record<string, number>>
}

export interface BudgetMetrics {
  granted: Counter<'cloud_id'>
  wait: Histogram<'cloud_id' | 'mode'>
  pauses: Counter<'cloud_id' | 'reason'>
  pauseRemaining: Gauge<'cloud_id'>
  /** Milliseconds each known site stays paused, read when Prometheus scrapes (the SiteBudget sets it). */
  pausesLeft?: () => Iterable<[string, number]>
}

export interface JobDurationMetrics {
  duration: Histogram<'action' | 'outcome'>
}

export interface CrawlMetrics {
  items: Counter<'kind'>
  errors: Counter<'code'>
  lastProgress: Gauge<'alias'>
  /** Crawl runs in progress in this process (a paused or queued run is not). */
  running: Gauge<'alias'>
  /** Pages and blog posts a full run counted and has not processed yet: its backlog (0 once it ends). */
  pending: Gauge<'alias'>
  /** Upper bound of the last complete run's window: now minus this is how far the export is behind. */
  watermark: Gauge<'alias'>
  /** The watermarks stored in Redis, per alias (core.ts sets it): read on scrape, so a restart or another process does not lose them. */
  storedWatermarks?: () => Promise<Iterable<[string, number]>>
}

export interface ReplicationMetrics {
  writes: Counter<'write' | 'outcome'>
  waitDuration: Histogram<'write'>
}

export interface SpokeMetrics {
  upstream: UpstreamMetrics
  tokens: TokenMetrics
  budget: BudgetMetrics
  jobs: JobDurationMetrics
  crawl: CrawlMetrics
  /** WAIT after the writes a caller relies on (lib/replication.ts). */
  replication: ReplicationMetrics
}

const ALIAS_STATES = ['active', 'expired', 'needs_consent', 'needs_configuration', 'refresh_failed']

export function createSpokeMetrics (registry: Registry): SpokeMetrics {
  const r = [registry]
  // The scrape-time gauges read their sources through `m`, set later by whoever owns the data.
  const m: SpokeMetrics = {
    upstream: {
      requests: new Counter({ name: 'spoke_upstream_requests_total', help: 'Requests sent to Confluence / Atlassian, by operation (action id or route template) and status class (2xx..5xx, timeout, network)', labelNames: ['operation', 'status_class'] as const, registers: r }),
      duration: new Histogram({ name: 'spoke_upstream_request_duration_seconds', help: 'Latency of one upstream request (send to body read), by operation', labelNames: ['operation'] as const, buckets: LATENCY, registers: r }),
      rateLimited: new Counter({ name: 'spoke_upstream_rate_limited_total', help: '429 answers received from Confluence, by operation and site', labelNames: ['operation', 'cloud_id'] as const, registers: r }),
      retryAfter: new Histogram({ name: 'spoke_upstream_retry_after_seconds', help: 'The wait Confluence asked for with a 429 (Retry-After / X-RateLimit-Reset), by site', labelNames: ['cloud_id'] as const, buckets: RETRY_AFTER, registers: r }),
      retries: new Counter({ name: 'spoke_upstream_retries_total', help: 'Upstream requests sent again within one call, by reason (rate_limited, unavailable, timeout, token_renewed)', labelNames: ['reason'] as const, registers: r })
    },
    tokens: {
      refreshes: new Counter({ name: 'spoke_token_refreshes_total', help: 'Token endpoint requests (refresh or client credentials), by alias and outcome (success, refused, client_rejected, needs_consent, error)', labelNames: ['alias', 'outcome'] as const, registers: r }),
      // Filled at scrape time by core.ts from the alias views (cached; see aliasStateSource).
      aliases: new Gauge({
        name: 'spoke_aliases',
        help: 'Aliases by token state (active, expired, needs_consent, needs_configuration, refresh_failed)',
        labelNames: ['state'] as const,
        registers: r,
        async collect () {
          const counts = await m.tokens.aliasStates?.().catch(() => undefined)
          if (counts === undefined) return
          for (const state of ALIAS_STATES) this.set({ state }, counts[state] ?? 0)
        }
      })
    },
    budget: {
      granted: new Counter({ name: 'spoke_budget_tokens_granted_total', help: 'Tokens of the shared site rate budget granted to this process (job requests), by site', labelNames: ['cloud_id'] as const, registers: r }),
      wait: new Histogram({ name: 'spoke_budget_wait_seconds', help: 'Time a request waited for the site rate budget (mode job: a token; mode sync: a site pause)', labelNames: ['cloud_id', 'mode'] as const, buckets: WAIT, registers: r }),
      pauses: new Counter({ name: 'spoke_budget_pauses_total', help: 'Site-wide pauses this process started, by site and reason (rate_limited: a 429, quota: X-RateLimit-Remaining 0)', labelNames: ['cloud_id', 'reason'] as const, registers: r }),
      pauseRemaining: new Gauge({
        name: 'spoke_budget_pause_remaining_seconds',
        help: 'Seconds a site stays paused, as this process last saw it (0 when not paused)',
        labelNames: ['cloud_id'] as const,
        registers: r,
        collect () {
          const left = m.budget.pausesLeft?.()
          if (left !== undefined) for (const [cloudId, ms] of left) this.set({ cloud_id: cloudId }, Math.max(0, ms) / 1000)
        }
      })
    },
    jobs: {
      duration: new Histogram({ name: 'spoke_job_duration_seconds', help: 'Duration of one job attempt in the worker, by action and outcome (completed, retry, waiting, failed, cancelled)', labelNames: ['action', 'outcome'] as const, buckets: JOB, registers: r })
    },
    replication: {
      writes: new Counter({ name: 'spoke_redis_acknowledged_writes_total', help: 'Writes a caller relies on (token, alias, job, idempotency, schedule), by whether a Redis replica confirmed them before the answer: replicated; unreplicated (too few replicas, or not within SPOKE_REDIS_WAIT_MS); error (WAIT or INFO failed)', labelNames: ['write', 'outcome'] as const, registers: r }),
      waitDuration: new Histogram({ name: 'spoke_redis_replication_wait_seconds', help: 'Time a WAIT for the replicas took, by kind of write', labelNames: ['write'] as const, buckets: REPLICATION, registers: r })
    },
    crawl: {
      items: new Counter({ name: 'spoke_crawl_items_total', help: 'Records the crawl delivered to its sink, by kind (space, page, blogpost, comment, attachment, deleted, ...)', labelNames: ['kind'] as const, registers: r }),
      errors: new Counter({ name: 'spoke_crawl_errors_total', help: 'Items or listings the crawl skipped, by error code', labelNames: ['code'] as const, registers: r }),
      lastProgress: new Gauge({ name: 'spoke_crawl_last_progress_timestamp_seconds', help: 'When a crawl of the alias last delivered records or started a run (unix seconds); now minus this is the crawl lag', labelNames: ['alias'] as const, registers: r }),
      running: new Gauge({ name: 'spoke_crawl_runs_active', help: 'Crawl runs of the alias in progress in this process', labelNames: ['alias'] as const, registers: r }),
      pending: new Gauge({ name: 'spoke_crawl_pending_items', help: 'Pages and blog posts the last full crawl run of the alias counted and has not processed yet (0 once it ended)', labelNames: ['alias'] as const, registers: r }),
      watermark: new Gauge({
        name: 'spoke_crawl_watermark_timestamp_seconds',
        help: 'Upper bound of the window of the last complete crawl run of the alias (unix seconds, read from Redis at scrape time); now minus this is how far the export is behind',
        labelNames: ['alias'] as const,
        registers: r,
        async collect () {
          const stored = await m.crawl.storedWatermarks?.().catch(() => undefined)
          if (stored !== undefined) for (const [alias, seconds] of stored) this.set({ alias }, seconds)
        }
      })
    }
  }
  return m
}

/**
 * Children of a two-label counter/histogram, cached by first and second value, so the hot path does
 * not build a label object (and hash it) per request.
 */
export class ChildCache<C> {
  private readonly map = new Map<string, Map<string, C>>()
  constructor (private readonly make: (a: string, b: string) => C) {}
  get (a: string, b: string): C {
    let inner = this.map.get(a)
    if (inner === undefined) { inner = new Map(); this.map.set(a, inner) }
    let c = inner.get(b)
    if (c === undefined) { c = this.make(a, b); inner.set(b, c) }
    return c
  }
}
