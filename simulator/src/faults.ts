// Fault injection: probabilistic faults (a standing configuration) and queued one-shot faults (exactly the
// next N matching requests), both limited to chosen targets, operations and request paths.
import { Rng } from './random'

export type FaultTarget = 'api' | 'oauth' | 'admin'

export interface FaultConfig {
  /** probability of a 5xx answer */
  errorRate?: number
  /** status of injected errors (default 503) */
  errorStatus?: number
  /** statuses of injected errors, one picked at random per error (instead of `errorStatus`) */
  errorStatuses?: number[]
  /** probability that a matching 2xx answer is rewritten into a spec-valid oddity (oddities.ts) */
  oddityRate?: number
  /** probability of an injected 429 */
  rateLimitRate?: number
  /** Retry-After seconds on injected 429s; null sends a 429 without Retry-After (default 1) */
  rateLimitRetryAfter?: number | null
  /** probability of a connection reset (socket destroyed, no response) */
  resetRate?: number
  /** added latency in ms on every matching request */
  latencyMs?: number
  /** up to this many ms more, uniformly at random (latencyMs 100 + latencyJitterMs 100: 100–200 ms) */
  latencyJitterMs?: number
  /** only these operationIds (Confluence operationIds, or e.g. `oauth.token`); default all */
  operations?: string[]
  /** which parts of the simulator the faults hit (default ['api'], the Confluence gateway) */
  targets?: FaultTarget[]
  /** only requests whose path (without its query) contains one of these strings, e.g. `/content/123/`; default all */
  paths?: string[]
}

export interface FaultMatch { operations?: string[], targets?: FaultTarget[], paths?: string[] }

export type Fault =
  | { kind: 'error', status?: number, retryAfter?: number }
  | { kind: 'rateLimit', retryAfter?: number | null }
  | { kind: 'reset' }
  | { kind: 'latency', ms: number }

export interface QueuedFault { fault: Fault, remaining: number, operations?: string[], targets: FaultTarget[], paths?: string[] }

/** What to do with a request: delay it, then possibly answer with a fault instead of running it. */
export interface FaultDecision { delayMs: number, fault?: Exclude<Fault, { kind: 'latency' }> }

export class Faults {
  private config: FaultConfig = {}
  private readonly queue: QueuedFault[] = []
  private readonly rng: Rng

  constructor (seed: number) { this.rng = new Rng(seed ^ 0xfa017) }

  /** Replaces the standing configuration. */
  set (config: FaultConfig): void { this.config = { ...config } }
  get (): { config: FaultConfig, queued: QueuedFault[] } { return { config: { ...this.config }, queued: this.queue.map((q) => ({ ...q })) } }

  /** Injects `fault` into the next `times` matching requests. */
  next (fault: Fault, times = 1, match: FaultMatch = {}): void {
    this.queue.push({ fault, remaining: times, operations: match.operations, targets: match.targets ?? ['api'], paths: match.paths })
  }

  /** Whether this answer (already computed, 2xx) is to be rewritten into an oddity, and the generator to do it with. */
  oddity (operationId: string, path = ''): Rng | undefined {
    const c = this.config
    if (c.oddityRate === undefined || c.oddityRate <= 0) return undefined
    if (c.operations && !c.operations.includes(operationId)) return undefined
    if (c.paths !== undefined && !c.paths.some((p) => path.includes(p))) return undefined
    return this.rng.chance(c.oddityRate) ? this.rng : undefined
  }

  clear (): void {
    this.config = {}
    this.queue.length = 0
  }

  decide (target: FaultTarget, operationId: string, path = ''): FaultDecision | undefined {
    const onPath = (paths: string[] | undefined): boolean => paths === undefined || paths.some((p) => path.includes(p))
    const queued = this.queue.find((q) => q.targets.includes(target) && (!q.operations || q.operations.includes(operationId)) && onPath(q.paths))
    if (queued) {
      if (--queued.remaining <= 0) this.queue.splice(this.queue.indexOf(queued), 1)
      return queued.fault.kind === 'latency' ? { delayMs: queued.fault.ms } : { delayMs: 0, fault: queued.fault }
    }
    const c = this.config
    if (!(c.targets ?? ['api']).includes(target) || (c.operations && !c.operations.includes(operationId)) || !onPath(c.paths)) return undefined
    const delayMs = (c.latencyMs ?? 0) + (c.latencyJitterMs ? this.rng.int(c.latencyJitterMs + 1) : 0)
    if (c.resetRate && this.rng.chance(c.resetRate)) return { delayMs, fault: { kind: 'reset' } }
    if (c.errorRate && this.rng.chance(c.errorRate)) {
      const status = c.errorStatuses !== undefined && c.errorStatuses.length > 0 ? c.errorStatuses[this.rng.int(c.errorStatuses.length)] : c.errorStatus
      return { delayMs, fault: { kind: 'error', status } }
    }
    if (c.rateLimitRate && this.rng.chance(c.rateLimitRate)) {
      return { delayMs, fault: { kind: 'rateLimit', retryAfter: c.rateLimitRetryAfter === undefined ? 1 : c.rateLimitRetryAfter } }
    }
    return delayMs > 0 ? { delayMs } : undefined
  }
}
