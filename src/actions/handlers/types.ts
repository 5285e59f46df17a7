// What a built-in handler receives: the validated input, the resolved connection, and a `call` that already
// applies the engine's retry rules. Handlers hold the few action rules that cannot be data.
import type { Redis } from 'ioredis'
import type { Agent } from 'undici'
import type { CallOptions, ConfluenceRequest, ConfluenceResponse, ConfluenceSite } from '../../confluence/types'
import type { ResolvedConnection } from '../../connections/types'
import type { AddressPolicy } from '../../lib/address-policy'
import type { ActionDefinition } from '../action-definition'
import type { Metrics } from '../../lib/metrics'
import type { Tracing } from '../../lib/tracing'

/** Process services a long-running handler (the crawl) needs besides Confluence calls. */
export interface HandlerServices {
  /** crawl state, watermarks: the fail-fast store connection in a sync call, the waiting job connection in a job */
  redis: Redis
  keyPrefix: string
  dataDir: string
  callbackSecret?: string
  /** where a webhook sink may deliver (the operator's callback address policy) */
  callbackPolicy: AddressPolicy
  /** how long a job retries a down webhook receiver inline before giving its slot back, and in all before it fails */
  webhook?: { holdMs: number, giveUpMs: number }
  /** whether the alias's token still reaches its bound site (accessible-resources); throws when that cannot be told */
  siteReached?: (alias: string) => Promise<boolean>
  /** the Organizations API key of an alias, when it has one, and the process's agent for that API */
  orgAdmin: (alias: string) => Promise<OrgAdminAccess | undefined>
  /** the licence gauges and counters (seats in use, seats reclaimed), and the crawl's counters */
  metrics?: Pick<Metrics, 'licenceSeatsInUse' | 'licenceSeatsReclaimed'> & Partial<Pick<Metrics, 'crawl'>>
  /** the personal-data index, erasure keys and metrics (confluence.privacy.report; crawl state registers accounts) */
  privacy?: import('../../privacy/services').PrivacyServices
  /** Client spans for requests that do not go through the Confluence client (webhook sink, Organizations API), when tracing is on. */
  tracing?: Tracing
  /** Size limits of attachment uploads and downloads (config); the defaults when absent. */
  files?: import('../file-transfer').FileLimits
  /** Where a crawl run tells of items whose effective ACL changed (triggers: content.permissions.changed). */
  aclChanges?: import('../../crawl/types').AclChangePort
}

/** An alias's org admin key, with the agent (owned by the composition root) its calls go through. */
export interface OrgAdminAccess { orgId?: string, apiKey: string, connectionUrl: string, agent: Agent }

export interface ProgressUpdate { done?: number, total?: number, message?: string }

/** Outcomes saved during a job run, so a resumed run skips what was done (field → value). */
export interface Checkpoint {
  load: () => Promise<Map<string, string>>
  save: (field: string, value: string) => Promise<void>
}

/** What a run knows about the job running it; absent in sync runs. */
export interface JobRun {
  jobId: string
  /** No attempt follows this one: record failures instead of leaving them for a retry. */
  finalAttempt: boolean
  checkpoint: Checkpoint
}

export interface HandlerContext {
  action: ActionDefinition
  input: Record<string, unknown>
  params: Record<string, unknown>
  connection: ResolvedConnection
  call: (req: ConfluenceRequest, opts?: CallOptions) => Promise<ConfluenceResponse>
  site: () => Promise<ConfluenceSite>
  signal?: AbortSignal
  onProgress?: (update: ProgressUpdate) => void
  job?: JobRun
  services?: HandlerServices
  /** The run's traceparent (the engine's span when tracing is on): what the handler's own requests go under. */
  traceparent?: string
  /** Content writes: say in `meta.write` where the version written over came from. */
  setWriteMeta?: (meta: Record<string, unknown>) => void
  /** An audit line (info) naming the API key, the alias and the request, with the fields given (space, content id). */
  audit?: (event: string, fields: Record<string, unknown>) => void
  /** The caller's file (a multipart execute request), or a wish for raw bytes back (Accept: application/octet-stream). */
  transfer?: import('../file-transfer').Transfer
}

export type ActionHandler = (ctx: HandlerContext) => Promise<unknown>

/** What a precheck sees: no calls to Confluence, only the request itself. */
export type PrecheckContext = Pick<HandlerContext, 'input' | 'params' | 'connection'>

/**
 * A built-in handler as the loader and the job service know it. `precheck` holds the checks that need no
 * Confluence call: the job service runs it before queuing (a 400/403 now rather than a failed job later), and
 * the engine runs it before every `run`, so `run` may assume it passed.
 */
export interface HandlerModule {
  run: ActionHandler
  /** JSON Schema of the `handler.params` an action file may give (checked at load). */
  params: Record<string, unknown>
  precheck?: (ctx: PrecheckContext) => void | Promise<void>
}
