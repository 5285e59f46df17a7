// The action engine: validate the input → resolve the alias (once; the client gets the resolved connection)
// → render → call (with the retry rules of http/retry.ts) → map → check the output. The HTTP route and the
// job worker both call `execute`; nothing here knows about Fastify.
import type { Logger } from 'pino'
import { AppError } from '../errors/app-error'
import {
  InputInvalidError, InternalError, UpstreamScopeMissingError, UpstreamUnavailableError
} from '../errors/errors'
import type { CallOptions, ConfluenceClient, ConfluenceRequest, ConfluenceResponse, ConfluenceSite } from '../confluence/types'
import { DEFAULT_ALIAS } from '../connections/alias-id'
import type { ConnectionResolver, ResolvedConnection } from '../connections/types'
import { ChildCache, type UpstreamMetrics } from '../lib/metrics-spoke'
import type { TraceSpan, Tracing } from '../lib/tracing'
import { abortableSleep, withRetries, type RetryDeps, type RetryOptions } from '../http/retry'
import type { ActionRegistry } from './action-registry'
import { StreamedFile, type Transfer } from './file-transfer'
import { toSchemaErrors } from './ajv'
import type { HandlerServices, JobRun, ProgressUpdate } from './handlers/types'
import type { CompiledAction, CompiledRequest } from './load-actions'
import {
  BadCursorError, BadNextLinkError, decodeCursor, encodeCursor, nextPage, pageKey, type PageRequest, type Query
} from './paginate'
import { TemplateValueError, type TemplateScope } from './template'

export interface ExecuteParams {
  actionId: string
  /** The action when the caller looked it up already (the route does); else it is looked up by actionId. */
  action?: CompiledAction
  /** Alias as requested; defaults to `confluence_cloud`. */
  connection?: string
  input: unknown
  requestId: string
  signal?: AbortSignal
  onProgress?: (update: ProgressUpdate) => void
  /** Longest Retry-After to wait out in this run (default: config.syncRetryAfterMaxSeconds; a worker may pass its own). */
  maxRetryAfterSeconds?: number
  /** Set when a job runs the action: its requests are paced by the site's shared budget, and handlers may checkpoint. */
  job?: JobRun
  /** The caller's W3C traceparent (lib/trace-context.ts), sent on every upstream request of this run. */
  traceparent?: string
  /** Who asked (the API key's fingerprint, lib/api-keys): named on the audit lines of content writes. */
  actor?: string
  /** A file the caller sent (multipart), or a wish for raw bytes back: for handlers that take or give files. */
  transfer?: Transfer
}

export interface ExecuteMeta {
  action: string
  actionVersion: string
  connection: { requested: string, resolved: string }
  /** Attempts the most-retried upstream call needed (1 = no call was retried). */
  attempts: number
  durationMs: number
  requestId: string
  /** Content writes: where the version they wrote over came from (`expectedVersion`, or read by the spoke). */
  write?: Record<string, unknown>
}

export interface ExecuteResult { output: unknown, meta: ExecuteMeta }

export interface ActionEngine {
  execute: (params: ExecuteParams) => Promise<ExecuteResult>
  /** Validate without running (e.g. before queuing a job): the input with schema defaults applied, or INPUT_INVALID. */
  validateInput: (actionId: string, input: unknown) => Record<string, unknown>
}

export interface EngineDeps {
  registry: ActionRegistry
  client: ConfluenceClient
  connections: ConnectionResolver
  config: { syncRetryAfterMaxSeconds: number, validateOutput: boolean }
  log?: Logger
  /** Backoff tuning (tests shorten it). */
  retry?: { baseDelayMs?: number, maxDelayMs?: number, maxAttempts?: number }
  sleep?: RetryDeps['sleep']
  random?: () => number
  /** Given to built-in handlers (the crawl keeps its state in Redis). */
  services?: HandlerServices
  /** Given instead when the run is a job's: the same services on a Redis connection that waits through a failover. */
  jobServices?: HandlerServices
  /** Upstream metrics: the engine counts its per-call retries (lib/metrics-spoke.ts). */
  metrics?: Pick<UpstreamMetrics, 'retries'>
  /** An internal span per run when tracing is on (lib/tracing.ts): its retries as events, its traceparent sent upstream. */
  tracing?: Tracing
}

/** Hard stop for `all: true`, whatever maxResults says: a run of mostly empty pages must end. */
const MAX_PAGES_PER_RUN = 500
const DEFAULT_MAX_ATTEMPTS = 3

export function createActionEngine (deps: EngineDeps): ActionEngine {
  const retryDeps: RetryDeps = { sleep: deps.sleep ?? abortableSleep, random: deps.random ?? Math.random }
  const retries = deps.metrics?.retries
  if (retries !== undefined) {
    const byReason = new ChildCache((reason) => retries.labels(reason))
    retryDeps.onRetry = (reason) => byReason.get(reason, '').inc()
  }
  const baseDelayMs = deps.retry?.baseDelayMs ?? 250
  const maxDelayMs = deps.retry?.maxDelayMs ?? 4_000
  const tracing = deps.tracing?.enabled === true ? deps.tracing : undefined

  function validateInput (actionId: string, input: unknown): Record<string, unknown> {
    return checkInput(deps.registry.get(actionId), input)
  }

  // Tracing off: `run` itself, no wrapper on the path. On: the run inside its span.
  const execute = tracing === undefined ? (params: ExecuteParams) => run(params, retryDeps) : tracedExecute

  async function tracedExecute (params: ExecuteParams): Promise<ExecuteResult> {
    const span = tracing!.start(`execute ${params.actionId}`, 'internal', params.traceparent, { 'spoke.action': params.actionId, 'spoke.mode': params.job === undefined ? 'sync' : 'job' })
    try {
      const result = await run({ ...params, traceparent: span.traceparent }, tracedRetries(span))
      span.setAttributes({ 'spoke.attempts': result.meta.attempts })
      span.end()
      return result
    } catch (err) {
      span.end(err)
      throw err
    }
  }

  /** Each retry of the run's upstream calls as an event of its span (and counted, as always). */
  function tracedRetries (span: TraceSpan): RetryDeps {
    return { ...retryDeps, onRetry: (reason) => { retryDeps.onRetry?.(reason); span.addEvent('retry', { 'spoke.retry_reason': reason }) } }
  }

  async function run (params: ExecuteParams, retryDeps: RetryDeps): Promise<ExecuteResult> {
    const started = performance.now()
    const action = params.action ?? deps.registry.get(params.actionId)
    const input = checkInput(action, params.input)
    const connection = await deps.connections.resolve(params.connection ?? DEFAULT_ALIAS)
    assertScopes(action, connection)

    let attempts = 1
    const retry: RetryOptions = {
      maxAttempts: Math.max(1, Math.min(connection.retryPolicy?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, deps.retry?.maxAttempts ?? 4)),
      maxRetryAfterSeconds: params.maxRetryAfterSeconds ?? deps.config.syncRetryAfterMaxSeconds,
      retryTransient: action.definition.annotations.idempotent,
      baseDelayMs,
      maxDelayMs,
      signal: params.signal
    }
    // A job's requests wait for tokens of the site's shared budget (ConfluenceRequest.paced).
    const paced = params.job !== undefined
    const call = (req: ConfluenceRequest, opts?: CallOptions): Promise<ConfluenceResponse> => {
      const tp = params.traceparent
      let sent = req
      if (params.signal !== undefined || paced || tp !== undefined) {
        sent = { ...req, signal: params.signal, paced }
        if (tp !== undefined) sent.headers = { ...req.headers, traceparent: tp }
      }
      // The action id labels the request's metrics unless a handler named a finer operation.
      return withRetries(() => deps.client.call(connection, sent, opts, action.id),
        req.method === 'GET' ? { ...retry, retryTransient: true } : retry,
        retryDeps, (n) => { if (n > attempts) attempts = n })
    }
    let site: ConfluenceSite | undefined
    const getSite = async (): Promise<ConfluenceSite> => (site ??= await deps.client.site(connection))

    let output: unknown
    let write: Record<string, unknown> | undefined
    try {
      if (action.handler !== undefined) {
        const ctx = {
          action: action.definition, input, params: action.handler.params, connection, call, site: getSite, signal: params.signal, onProgress: params.onProgress, job: params.job, services: params.job !== undefined ? deps.jobServices ?? deps.services : deps.services, traceparent: params.traceparent, transfer: params.transfer,
          setWriteMeta: (m: Record<string, unknown>) => { write = m },
          audit: (event: string, fields: Record<string, unknown>) => {
            deps.log?.info({ audit: event, action: action.id, key: params.actor ?? null, alias: connection.resolved, requestId: params.requestId, ...(params.job !== undefined ? { jobId: params.job.jobId } : {}), ...fields }, `audit: ${event}`)
          }
        }
        if (action.handler.precheck !== undefined) await action.handler.precheck(ctx)
        output = await action.handler.run(ctx)
      } else {
        const scope: TemplateScope = { input, connection: { alias: connection.resolved } }
        if (action.needsSite) scope.connection.site = await getSite()
        output = action.pagination === undefined
          ? await runSingle(action, scope, call)
          : await runPaginated(action, scope, input, call, params.onProgress)
      }
    } catch (err) {
      throw translate(err)
    }

    // (bytes streamed to the caller have no JSON to check)
    if (deps.config.validateOutput && !(output instanceof StreamedFile) && !action.validateOutput(output)) {
      deps.log?.error({ action: action.id, errors: action.validateOutput.errors }, 'action output does not match its schema')
      throw new InternalError(`The output of ${action.id} does not match its schema`, { errors: toSchemaErrors(action.validateOutput.errors, '/output') })
    }
    return {
      output,
      meta: {
        action: action.id,
        actionVersion: action.definition.version,
        connection: { requested: connection.requested, resolved: connection.resolved },
        attempts,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        requestId: params.requestId,
        ...(write !== undefined ? { write } : {})
      }
    }
  }

  return { execute, validateInput }
}

function checkInput (action: CompiledAction, input: unknown): Record<string, unknown> {
  if (!action.validateInput(input)) {
    throw new InputInvalidError(`The input does not match the schema of ${action.id}`, { errors: toSchemaErrors(action.validateInput.errors) })
  }
  return input as Record<string, unknown>
}

/** When the granted scopes are known and no declared set is covered, say so before calling Confluence. */
function assertScopes (action: CompiledAction, connection: ResolvedConnection): void {
  const granted = connection.grantedScopes
  if (granted === undefined) return
  const sets = action.definition.scopes
  if (sets.some(set => set.every(s => granted.includes(s)))) return
  const missing = sets.map(set => set.filter(s => !granted.includes(s)).join(' ')).join(' | ')
  throw new UpstreamScopeMissingError(`Connection "${connection.resolved}" lacks the scopes ${action.id} needs (any one set: ${missing})`)
}

type Call = (req: ConfluenceRequest, opts?: CallOptions) => Promise<ConfluenceResponse>

function render (req: CompiledRequest, scope: TemplateScope): ConfluenceRequest & { query: Query } {
  const path = req.path(scope)
  if (typeof path !== 'string') throw new InternalError('The request path rendered to nothing')
  const out: ConfluenceRequest & { query: Query } = { method: req.method, path, base: req.base, query: (req.query?.(scope) ?? {}) as Query }
  if (req.headers !== undefined) out.headers = req.headers(scope) as Record<string, string>
  if (req.body !== undefined) { const body = req.body(scope); if (body !== undefined) out.body = body }
  return out
}

async function runSingle (action: CompiledAction, scope: TemplateScope, call: Call): Promise<unknown> {
  const res = await call(render(action.request!, scope))
  scope.response = { status: res.status, headers: res.headers, body: res.body }
  const mapping = action.mapping!
  if (mapping.kind === 'value') {
    // The spec makes some single objects nullable (User); with nothing to map the answer is unusable, not a bug here.
    if (res.body === null || typeof res.body !== 'object') throw new TemplateValueError('the response has no object to map')
    return mapping.value(scope)
  }
  return { results: mapItems(mapping, scope) }
}

function mapItems (mapping: { items: (s: TemplateScope) => unknown, item: (s: TemplateScope) => unknown }, scope: TemplateScope): unknown[] {
  const items = mapping.items(scope)
  if (!Array.isArray(items)) throw new TemplateValueError('the response has no result list')
  const out: unknown[] = []
  for (let i = 0; i < items.length; i++) {
    // The spec allows null entries in some lists (UserArray's User is nullable): nothing to map, so nothing to return.
    if (items[i] === null) continue
    scope.item = items[i]; scope.index = i; out.push(mapping.item(scope))
  }
  scope.item = undefined; scope.index = undefined
  return out
}

interface PagingInput { limit?: number, cursor?: string, all?: boolean, maxResults?: number }

async function runPaginated (
  action: CompiledAction, scope: TemplateScope, input: Record<string, unknown>, call: Call, onProgress?: (u: ProgressUpdate) => void
): Promise<{ results: unknown[], nextCursor?: string }> {
  const spec = action.pagination!
  const mapping = action.mapping as { kind: 'list', items: (s: TemplateScope) => unknown, item: (s: TemplateScope) => unknown }
  const { limit, cursor, all = false, maxResults = Number.POSITIVE_INFINITY } = input as PagingInput
  const first = render(action.request!, scope)
  let page: PageRequest
  let skip = 0
  if (cursor !== undefined) {
    try {
      ({ page, skip } = decodeCursor(cursor, first.path, spec))
    } catch (err) {
      if (!(err instanceof BadCursorError)) throw err
      throw new InputInvalidError(`The cursor ${err.message}`, { errors: [{ path: '/cursor', message: err.message, keyword: 'cursor', params: {} }] })
    }
  } else {
    // The page size is fixed here for the whole walk (and carried inside every cursor handed out).
    const size = Math.min(spec.maxLimit, limit ?? (all ? spec.maxLimit : spec.defaultLimit))
    page = { path: first.path, query: { ...first.query, [spec.limitParam]: size } }
  }

  const results: unknown[] = []
  const seen = new Set<string>([pageKey(page)])
  for (let pages = 1; ; pages++) {
    const res = await call({ ...first, path: page.path, query: page.query })
    scope.response = { status: res.status, headers: res.headers, body: res.body }
    const mapped = mapItems(mapping, scope)
    const fresh = skip > 0 ? mapped.slice(skip) : mapped
    const next = nextPage(spec, page, res.body, res.headers)
    if (next !== undefined && seen.has(pageKey(next))) throw new BadNextLinkError('Confluence returned a cursor it had already returned')

    if (!all) return withCursor(fresh, next === undefined ? undefined : encodeCursor({ page: next, skip: 0 }))

    const room = maxResults - results.length
    if (fresh.length > room) {
      results.push(...fresh.slice(0, room))
      // Stopped inside a page: resume on the same page, past the items already returned.
      return withCursor(results, encodeCursor({ page, skip: skip + room }))
    }
    results.push(...fresh)
    onProgress?.({ done: results.length })
    if (next === undefined) return withCursor(results, undefined)
    if (results.length >= maxResults || pages >= MAX_PAGES_PER_RUN) return withCursor(results, encodeCursor({ page: next, skip: 0 }))
    seen.add(pageKey(next))
    page = next
    skip = 0
  }
}

function withCursor (results: unknown[], nextCursor: string | undefined): { results: unknown[], nextCursor?: string } {
  return nextCursor === undefined ? { results } : { results, nextCursor }
}

/** Engine-level failures as AppErrors: an unusable upstream answer is a 502, never a crash. */
function translate (err: unknown): unknown {
  if (err instanceof AppError) return err
  if (err instanceof BadNextLinkError) return new UpstreamUnavailableError(`Confluence returned an unusable page link: ${err.message}`, { retryable: false, cause: err })
  if (err instanceof TemplateValueError) return new UpstreamUnavailableError(`Confluence returned an unexpected response: ${err.message}`, { retryable: false, cause: err })
  return err
}
