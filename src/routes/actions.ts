// Actions API (docs/api.md#actions): list, describe, execute. Each loaded action also gets its own static execute
// route carrying its input and output schemas, so /openapi.json has one typed operation per action; the
// parametric route behind them answers unknown ids with 404 ACTION_NOT_FOUND.
// Bodies are checked here with the actions' own ajv (no type coercion), not by Fastify's validator.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import multipart from '@fastify/multipart'
import type { Core } from '../core'
import { ANY_ROLE, RUNNERS } from '../config/roles'
import { ALIAS_ID_PATTERN, DEFAULT_ALIAS } from '../connections/alias-id'
import { AppError } from '../errors/app-error'
import { RequestInvalidError, UnsupportedMediaTypeError } from '../errors/errors'
import { createInputAjv, toSchemaErrors } from '../actions/ajv'
import { fingerprint, IDEMPOTENCY_KEY_PATTERN, type StoredResponse } from '../actions/idempotency'
import type { CompiledAction } from '../actions/load-actions'
import {
  acceptsBinary, DEFAULT_FILE_LIMITS, receiveMultipart, removeSpooled, sendStreamedFile, StreamedFile, type Transfer
} from '../actions/file-transfer'
import { PROBLEM_CONTENT_TYPE, problemResponses, toProblem } from '../lib/problem'
import { traceparentOf } from '../plugins/tracing'


export interface ExecuteBody {
  connection?: string
  input?: unknown
  mode?: 'sync' | 'async'
  callbackUrl?: string
}

/** Runs an execute request in async mode and returns the response to send (202 + job). */
export type AsyncExecutor = (req: { actionId: string, body: ExecuteBody, requestId: string, traceparent?: string, owner?: string }) => Promise<StoredResponse>

/** executeAsync defaults to queuing the run as a job (core.jobs). */
export interface ActionRoutesOptions { core: Core, executeAsync?: AsyncExecutor }

const envelopeSchema = (input: unknown = {}): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    connection: { type: 'string', pattern: ALIAS_ID_PATTERN, description: `Alias to run as (default ${DEFAULT_ALIAS}; a parent resolves to its active child).` },
    input,
    mode: { enum: ['sync', 'async'], description: "Default: the action's own mode." },
    callbackUrl: { type: 'string', format: 'uri', pattern: '^https?://', description: 'Async only: POSTed the job when it ends.' }
  }
})

const metaSchema = {
  type: 'object',
  required: ['action', 'actionVersion', 'connection', 'attempts', 'durationMs', 'requestId'],
  properties: {
    action: { type: 'string' },
    actionVersion: { type: 'string' },
    connection: { type: 'object', required: ['requested', 'resolved'], properties: { requested: { type: 'string' }, resolved: { type: 'string' } } },
    attempts: { type: 'integer' },
    durationMs: { type: 'number' },
    requestId: { type: 'string' },
    write: { type: 'object', additionalProperties: true, description: 'Content writes: versionFrom (expectedVersion | read) and baseVersion, the version the write replaced.' }
  }
}

const summarySchema = {
  type: 'object',
  required: ['id', 'version', 'title', 'description', 'mode', 'scopes', 'input', 'output'],
  properties: {
    id: { type: 'string' },
    version: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    mode: { type: 'string', enum: ['sync', 'async'] },
    scopes: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
    annotations: { type: 'object', additionalProperties: { type: 'boolean' } },
    input: { type: 'object', additionalProperties: true },
    output: { type: 'object', additionalProperties: true }
  }
}

const acceptedSchema = {
  type: 'object',
  description: 'mode "async": the job was queued (also sent as the Location header).',
  required: ['jobId', 'state', 'links'],
  properties: { jobId: { type: 'string' }, state: { type: 'string' }, links: { type: 'object', required: ['self'], properties: { self: { type: 'string' } } } }
}

const problems = problemResponses(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)

/** "confluence.page.get" → "confluencePageGet" (an operationId code generators accept). */
export function operationId (actionId: string): string {
  return actionId.replace(/[._-]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase())
}

function withoutMeta (schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema, $id, ...rest } = schema
  return rest
}

const actionRoutes: FastifyPluginAsync<ActionRoutesOptions> = async (app, { core, executeAsync = async (req) => await core.jobs.enqueue(req) }) => {
  const checkEnvelope = createInputAjv().compile(envelopeSchema())
  // Bodies are validated in the handler (so unknown ids answer 404 first, and nothing is coerced).
  const noFastifyValidation = (): ((data: unknown) => boolean) => () => true
  // Files (actions/file-transfer.ts): multipart execute requests for actions that take a file; a JSON body
  // large enough for the configured base64 limit (4/3 of it, and room for the rest of the envelope).
  const fileLimits = { maxBytes: core.config.attachmentMaxBytes ?? DEFAULT_FILE_LIMITS.maxBytes, jsonMaxBytes: core.config.attachmentJsonMaxBytes ?? DEFAULT_FILE_LIMITS.jsonMaxBytes }
  const base64BodyLimit = Math.ceil(fileLimits.jsonMaxBytes * 4 / 3) + 256 * 1024
  const bodyLimit = base64BodyLimit > (app.initialConfig.bodyLimit ?? 1024 * 1024) ? { bodyLimit: base64BodyLimit } : {}
  await app.register(multipart, { limits: { fileSize: fileLimits.maxBytes, files: 1 } })

  app.get('/v1/actions', {
    config: { access: ANY_ROLE },
    schema: { tags: ['actions'], summary: 'List the actions', response: { 200: { type: 'object', required: ['actions'], properties: { actions: { type: 'array', items: summarySchema } } } } }
  }, async () => ({ actions: core.actions.list() }))

  app.get<{ Params: { id: string } }>('/v1/actions/:id', {
    config: { access: ANY_ROLE },
    schema: { tags: ['actions'], summary: 'Describe one action', params: { type: 'object', properties: { id: { type: 'string' } } }, response: { 200: summarySchema, 404: { $ref: 'Problem#' } } }
  }, async (req) => core.actions.get(req.params.id).summary)

  async function execute (actionId: string, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const action = core.actions.get(actionId)
    if (!req.isMultipart()) return await executeBody(action, actionId, (req.body ?? {}) as ExecuteBody, {}, req, reply)
    // Only an action that takes a file reads multipart; every other one answers like any non-JSON body (415).
    if (action.definition.handler?.name !== 'attachment-upload') throw new UnsupportedMediaTypeError(`${actionId} takes no file: send application/json`)
    const received = await receiveMultipart(req, fileLimits)
    const transfer: Transfer = { file: received.file }
    try {
      return await executeBody(action, actionId, received.body as ExecuteBody, transfer, req, reply)
    } finally {
      if (received.file !== undefined) await removeSpooled(received.file)
    }
  }

  async function executeBody (action: CompiledAction, actionId: string, body: ExecuteBody, transfer: Transfer, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (!checkEnvelope(body)) {
      throw new RequestInvalidError('The request body is not a valid execute request', { errors: toSchemaErrors(checkEnvelope.errors).map(e => ({ in: 'body', ...e })) })
    }
    const mode = body.mode ?? action.definition.mode
    if (mode === 'sync' && body.callbackUrl !== undefined) throw new RequestInvalidError('callbackUrl is only used with mode "async"')
    if (mode === 'async' && transfer.file !== undefined) throw new RequestInvalidError('A multipart file runs in mode "sync" only (a job cannot read this request\'s file): send a small file as dataBase64 JSON for async mode')
    // Raw bytes back only in sync mode (a job's result is JSON); read-only, so an Idempotency-Key adds nothing.
    if (mode === 'sync' && acceptsBinary(req)) transfer.binary = true
    const key = transfer.binary === true && action.definition.annotations.readOnly ? undefined : req.headers['idempotency-key']
    // Continued into the engine or the job (lib/trace-context.ts): the server span's when tracing is on, else
    // the caller's; undefined when there is neither.
    const traceparent = traceparentOf(req)
    const run = (): Promise<StoredResponse> => mode === 'async'
      ? executeAsync({ actionId, body, requestId: req.id, traceparent, owner: req.principal?.keyId })
      : runSync(action, body, req.id, traceparent, req.principal?.keyId, transfer)

    if (key === undefined) {
      // The hot path: no idempotency record, no wrapping; the action looked up above is passed down.
      if (mode === 'sync') {
        const result = await whileCallerWaits(req, reply, (signal) => core.engine.execute({ actionId, action, connection: body.connection, input: body.input ?? {}, requestId: req.id, signal, traceparent, actor: req.principal?.keyId, transfer }))
        return result?.output instanceof StreamedFile ? sendStreamedFile(reply, result.output) : result
      }
      return send(reply, await run())
    }
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new RequestInvalidError('Idempotency-Key must be 1 to 255 visible ASCII characters', { errors: [{ in: 'header', path: '/idempotency-key', message: 'invalid Idempotency-Key' }] })
    }
    // A file's bytes are part of what the key stands for: its hash goes into the fingerprint.
    const f = transfer.file
    const fingerprinted = f === undefined ? body : { ...body, file: { sha256: f.sha256, size: f.size, filename: f.filename, mediaType: f.mediaType } }
    const { response, replayed } = await core.idempotency.run({ scope: actionId, key, fingerprint: fingerprint(fingerprinted) }, run)
    if (replayed) reply.header('idempotent-replayed', 'true')
    else await core.privacy.recordReplay(actionId, key, response).catch((err) => req.log.error({ err }, 'personal-data index write failed'))
    return send(reply, response)
  }

  /**
   * A sync run whose caller hangs up stops its upstream calls at once (nobody would read the answer, and they
   * spend the site's rate budget). Runs with an Idempotency-Key carry on instead: their answer is kept for the
   * caller's retry.
   */
  async function whileCallerWaits<T> (req: FastifyRequest, reply: FastifyReply, run: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const controller = new AbortController()
    const onClose = (): void => { if (!reply.raw.writableFinished) controller.abort(new Error('the caller closed the connection')) }
    reply.raw.once('close', onClose)
    try {
      return await run(controller.signal)
    } catch (err) {
      if (!controller.signal.aborted) throw err
      req.log.info({ action: req.routeOptions.url }, 'caller went away; its upstream calls were abandoned')
      reply.hijack()
      return undefined
    } finally {
      reply.raw.off('close', onClose)
    }
  }

  /** A sync run as a storable response: final errors are kept (a repeat gets the same answer), retryable ones thrown. */
  async function runSync (action: CompiledAction, body: ExecuteBody, requestId: string, traceparent: string | undefined, actor?: string, transfer?: Transfer): Promise<StoredResponse> {
    try {
      return { status: 200, body: await core.engine.execute({ actionId: action.id, action, connection: body.connection, input: body.input ?? {}, requestId, traceparent, actor, transfer }) }
    } catch (err) {
      if (err instanceof AppError && !err.retryable && err.statusCode < 500) return { status: err.statusCode, body: toProblem(err, requestId), headers: err.headers }
      throw err
    }
  }

  function send (reply: FastifyReply, response: StoredResponse): unknown {
    for (const [k, v] of Object.entries(response.headers ?? {})) reply.header(k, v)
    reply.code(response.status)
    if (response.status >= 400) reply.type(PROBLEM_CONTENT_TYPE)
    return response.body
  }

  for (const summary of core.actions.list()) {
    const opts: RouteShorthandOptions = {
      ...bodyLimit,
      config: { access: RUNNERS },
      validatorCompiler: noFastifyValidation,
      schema: {
        tags: ['actions'],
        operationId: operationId(summary.id),
        summary: summary.title,
        description: `${summary.description}\n\nScopes (any one set): ${summary.scopes.map(s => s.length === 0 ? '(none)' : s.join(' ')).join(' | ')}`,
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: 'Repeat-safe key, kept 24 h.' } } },
        body: envelopeSchema(withoutMeta(summary.input)),
        response: {
          200: { type: 'object', required: ['output', 'meta'], properties: { output: withoutMeta(summary.output), meta: metaSchema } },
          202: acceptedSchema,
          ...problems
        }
      }
    }
    app.post(`/v1/actions/${summary.id}/execute`, opts, (req, reply) => execute(summary.id, req, reply))
  }

  app.post<{ Params: { id: string } }>('/v1/actions/:id/execute', {
    ...bodyLimit,
    config: { access: RUNNERS },
    validatorCompiler: noFastifyValidation,
    schema: {
      tags: ['actions'],
      summary: 'Run an action by id (the typed per-action operations above are the same route)',
      params: { type: 'object', properties: { id: { type: 'string' } } },
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } },
      body: envelopeSchema({ type: 'object' }),
      response: { 200: { type: 'object', properties: { output: { type: 'object', additionalProperties: true }, meta: metaSchema } }, 202: acceptedSchema, ...problems }
    }
  }, (req, reply) => execute(req.params.id, req, reply))
}

export default actionRoutes
