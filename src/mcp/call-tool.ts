// A tool call IS an execute: the same engine.execute the execute route runs (validation, scopes, the handlers' checks
// such as managed groups, the site's rate budget, retries), the same job queue for async actions, the same idempotency
// records (scope: the action id, so a key used over the JSON API and over MCP for the same request replays),
// and an audit line naming the key and "via MCP". Failures come back as tool results with isError, carrying
// the problem (code, retryable) the JSON API would have answered.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { FastifyBaseLogger } from 'fastify'
import type { Core } from '../core'
import type { ApiKeyRole } from '../config/roles'
import { AppError } from '../errors/app-error'
import { ConfirmationRequiredError, ForbiddenError, RequestInvalidError } from '../errors/errors'
import { fingerprint, IDEMPOTENCY_KEY_PATTERN, type StoredResponse } from '../actions/idempotency'
import type { ProgressUpdate } from '../actions/handlers/types'
import { toProblem } from '../lib/problem'
import { toAppError } from '../plugins/error-handler'
import { allowedBy, type ToolAllowlists } from '../config/mcp-tools'
import type { ActionTool, JobTool, SpokeTool, ToolCatalogue } from './tools'

export interface Caller { role: ApiKeyRole, keyId?: string }

export interface CallContext {
  caller: Caller
  requestId: string
  traceparent?: string
  log: FastifyBaseLogger
  /** Aborted when the client goes away (a run without an idempotency key then stops its upstream calls). */
  signal?: AbortSignal
  /** Set when the client asked for progress (a progressToken): the run's progress updates. */
  onProgress?: (update: ProgressUpdate) => void
  /** An idempotency key given in the request's _meta instead of as an argument. */
  metaIdempotencyKey?: unknown
}

/** What a role may do with a tool, as on the JSON API: viewers read, invokers run, admins also cancel jobs. */
function roleAllows (role: ApiKeyRole, tool: SpokeTool, op: 'list' | 'call'): boolean {
  if (role === 'admin') return true
  if (tool.kind === 'job') return tool.op === 'get'
  if (role === 'invoker') return true
  // A viewer sees the read-only tools (what an agent could be given) but runs none: execute needs admin or invoker.
  return op === 'list' && tool.readOnly
}

export class ToolGate {
  constructor (private readonly catalogue: ToolCatalogue, private readonly allowlists: ToolAllowlists) {}

  private allowed (caller: Caller, tool: SpokeTool): boolean {
    const patterns = caller.keyId === undefined ? undefined : this.allowlists[caller.keyId]
    return allowedBy(patterns, { name: tool.tool.name, readOnly: tool.readOnly })
  }

  /** The tools this key lists: its role's, narrowed by its allowlist. */
  visible (caller: Caller): SpokeTool[] {
    return this.catalogue.all.filter(t => roleAllows(caller.role, t, 'list') && this.allowed(caller, t))
  }

  /** The tool to run, or the reason the key may not (undefined: no such tool at all). */
  callable (caller: Caller, name: string): SpokeTool | AppError | undefined {
    const tool = this.catalogue.byName.get(name)
    if (tool === undefined) return undefined
    if (!this.allowed(caller, tool)) return new ForbiddenError(`The tool ${name} is not in this key's MCP allowlist (SPOKE_MCP_TOOLS)`)
    if (!roleAllows(caller.role, tool, 'call')) {
      return new ForbiddenError(caller.role === 'viewer' ? `A viewer key lists tools but runs none (running an action needs an admin or invoker key): ${name}` : `The tool ${name} needs an admin key`)
    }
    return tool
  }
}

export function errorResult (err: AppError, requestId: string): CallToolResult {
  return problemResult(toProblem(err, requestId))
}

/**
 * The problem as the tool result's text (JSON: code, retryable, detail, errors). Not as structuredContent:
 * clients check that against the tool's outputSchema even on an error (the SDK's does).
 */
function problemResult (problem: object): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(problem) }] }
}

/** The code of an error result (for the audit line). */
function codeOf (result: CallToolResult): string {
  if (result.isError !== true) return 'ok'
  const first = result.content[0]
  try { return first?.type === 'text' ? String((JSON.parse(first.text) as { code?: unknown }).code) : 'error' } catch { return 'error' }
}

function successResult (value: unknown, structured: boolean): CallToolResult {
  const result: CallToolResult = { content: [{ type: 'text', text: JSON.stringify(value) }] }
  if (structured && value !== null && typeof value === 'object' && !Array.isArray(value)) result.structuredContent = value as Record<string, unknown>
  return result
}

function asObject (v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {}
}

interface SplitArgs { input: unknown, connection?: string, idempotencyKey?: unknown, dryRun?: unknown }

/** The tool arguments as an execute request: the action input and the MCP-level arguments (tools.ts). */
function splitArgs (tool: ActionTool, args: Record<string, unknown>): SplitArgs {
  const { connection, idempotencyKey, ...rest } = args
  if (typeof connection !== 'undefined' && typeof connection !== 'string') throw new RequestInvalidError('connection must be a string')
  if (tool.nested) return { input: rest.input ?? {}, connection, idempotencyKey, dryRun: rest.dryRun }
  if (tool.destructive && !tool.nativeDryRun) {
    const { dryRun, ...input } = rest
    return { input, connection, idempotencyKey, dryRun }
  }
  return { input: rest, connection, idempotencyKey }
}

export async function callTool (core: Core, tool: SpokeTool, args: Record<string, unknown>, ctx: CallContext): Promise<CallToolResult> {
  const started = performance.now()
  const audit: Record<string, unknown> = { audit: 'tool called', via: 'MCP', by: ctx.caller, tool: tool.tool.name }
  let result: CallToolResult
  try {
    result = tool.kind === 'job' ? await callJobTool(core, tool, args) : await callActionTool(core, tool, args, ctx, audit)
  } catch (err) {
    const appErr = toAppError(err as Error)
    if (ctx.signal?.aborted === true) {
      // Nobody reads this answer: the client closed the connection and the run's upstream calls were stopped.
      audit.abandoned = true
      ctx.log.info({ tool: tool.tool.name }, 'MCP client went away; its upstream calls were abandoned')
    } else if (appErr.statusCode >= 500) {
      ctx.log.error({ err, code: appErr.code, tool: tool.tool.name }, 'MCP tool call failed')
    }
    result = errorResult(appErr, ctx.requestId)
  }
  ctx.log.info({ ...audit, outcome: codeOf(result), ms: Math.round((performance.now() - started) * 10) / 10 }, `MCP: ${tool.tool.name} called via MCP`)
  return result
}

async function callJobTool (core: Core, tool: JobTool, args: Record<string, unknown>): Promise<CallToolResult> {
  const id = args.jobId
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw new RequestInvalidError('jobId must be a job id (a string of at most 64 characters)')
  const job = tool.op === 'get' ? await core.jobs.get(id) : await core.jobs.cancel(id)
  return successResult(job, true)
}

async function callActionTool (core: Core, tool: ActionTool, rawArgs: Record<string, unknown>, ctx: CallContext, audit: Record<string, unknown>): Promise<CallToolResult> {
  const action = tool.action
  const actionId = action.id
  const split = splitArgs(tool, asObject(rawArgs))
  let input = split.input
  audit.action = actionId
  if (split.connection !== undefined) audit.connection = split.connection

  // Safety for agents: a destructive tool is a dry run unless the call says dryRun: false.
  if (tool.destructive) {
    if (tool.nativeDryRun) {
      const obj = asObject(input)
      if (obj.dryRun === undefined) input = { ...obj, dryRun: true }
      audit.dryRun = asObject(input).dryRun
    } else {
      const dryRun = split.dryRun !== false
      audit.dryRun = dryRun
      if (dryRun) {
        core.engine.validateInput(actionId, input)
        throw new ConfirmationRequiredError(`${actionId} changes data and has no dry run of its own: nothing ran (the input is valid). Call it again with dryRun: false to run it.`)
      }
    }
  }

  const key = split.idempotencyKey ?? ctx.metaIdempotencyKey
  const body = split.connection === undefined ? { input } : { connection: split.connection, input }
  const async = action.definition.mode === 'async'

  const runSync = async (signal?: AbortSignal): Promise<StoredResponse> => {
    try {
      const res = await core.engine.execute({ actionId, action, connection: split.connection, input, requestId: ctx.requestId, signal, onProgress: ctx.onProgress, traceparent: ctx.traceparent })
      return { status: 200, body: res }
    } catch (err) {
      // As the execute route keeps them: final errors are stored (a repeat gets the same answer), retryable ones thrown.
      if (err instanceof AppError && !err.retryable && err.statusCode < 500) return { status: err.statusCode, body: toProblem(err, ctx.requestId) }
      throw err
    }
  }
  const run = (signal?: AbortSignal): Promise<StoredResponse> => async
    ? core.jobs.enqueue({ actionId, body, requestId: ctx.requestId, traceparent: ctx.traceparent })
    : runSync(signal)

  let response: StoredResponse
  if (key === undefined) {
    response = await run(ctx.signal)
  } else {
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key)) throw new RequestInvalidError('idempotencyKey must be 1 to 255 visible ASCII characters')
    audit.idempotencyKey = true
    const done = await core.idempotency.run({ scope: actionId, key, fingerprint: fingerprint(body) }, () => run())
    response = done.response
    if (done.replayed) audit.replayed = true
    else await core.privacy.recordReplay(actionId, key, response).catch((err) => ctx.log.error({ err }, 'personal-data index write failed'))
  }
  if (response.status === 202) audit.jobId = (response.body as { jobId?: string }).jobId
  return toResult(tool, response)
}

/** A stored execute response as a tool result: the output (sync), the job handle (async), or the problem. */
function toResult (tool: ActionTool, response: StoredResponse): CallToolResult {
  if (response.status >= 400) {
    return problemResult(response.body as object)
  }
  if (response.status === 202) return successResult(response.body, true)
  const output = (response.body as { output: unknown }).output
  return successResult(output, tool.tool.outputSchema !== undefined)
}
