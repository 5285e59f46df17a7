// The one error handler: every failure leaves as problem+json with a stable code. fp() so it is the root
// handler and sees errors from every encapsulated route module.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors/app-error'
import {
  InternalError, NotFoundError, PayloadTooLargeError, QueueUnavailableError, RequestInvalidError, UnsupportedMediaTypeError
} from '../errors/errors'
import { PROBLEM_CONTENT_TYPE, toProblem } from '../lib/problem'

export function sendProblem (reply: FastifyReply, err: AppError): FastifyReply {
  reply.header('x-request-id', reply.request.id) // also for errors raised before any hook ran
  if (err.retryAfter !== undefined) reply.header('retry-after', String(Math.max(0, Math.ceil(err.retryAfter))))
  for (const [k, v] of Object.entries(err.headers ?? {})) reply.header(k, v)
  return reply.code(err.statusCode).type(PROBLEM_CONTENT_TYPE).send(toProblem(err, String(reply.request.id)))
}

const REDIS_DOWN = /Stream isn't writeable|Connection is closed|enableOfflineQueue|Reached the max retries per request/
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'])

/** ioredis failures while Redis is away: a retryable 503, never a 500. */
function isRedisUnavailable (err: Error): boolean {
  return err.name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(err.message) ||
    NETWORK_CODES.has((err as NodeJS.ErrnoException).code ?? '')
}

/** Translate Fastify's own and unknown errors into AppErrors; AppErrors pass through. */
export function toAppError (err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err
  if (isRedisUnavailable(err)) return new QueueUnavailableError('Redis (the spoke\'s store and queue) is unreachable; try again shortly', { cause: err })
  const fe = err as FastifyError
  if (fe.validation) {
    const where = fe.validationContext ?? 'request'
    return new RequestInvalidError(`Invalid ${where}: ${fe.message}`, {
      errors: fe.validation.map(v => ({ in: where, path: v.instancePath, message: v.message, params: v.params }))
    })
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new PayloadTooLargeError('Request body is larger than allowed')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new UnsupportedMediaTypeError(fe.message)
    case 'FST_ERR_NOT_FOUND': return new NotFoundError(fe.message)
  }
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Malformed JSON, empty bodies with a JSON content type, bad content-length, ...
    return new RequestInvalidError(fe.message)
  }
  return new InternalError('Internal error', { cause: err })
}

export default fp(async (app) => {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const appErr = toAppError(err)
    if (appErr.statusCode >= 500) req.log.error({ err, code: appErr.code }, 'request failed')
    else req.log.info({ code: appErr.code, detail: appErr.message }, 'request rejected')
    return sendProblem(reply, appErr)
  })
  app.setNotFoundHandler((req, reply) => {
    return sendProblem(reply, new NotFoundError(`No route ${req.method} ${req.url.split('?')[0]}`))
  })
}, { name: 'error-handler' })
