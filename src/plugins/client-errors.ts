// Answers for requests Node's HTTP parser rejects before Fastify sees them (a NUL in the path, Content-Length
// with Transfer-Encoding, a bad chunk, headers over the size limit, a timeout) and for an `Expect` header other
// than 100-continue: problem+json like every other error, written straight to the socket.
import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { AppError } from '../errors/app-error'
import { ExpectationFailedError, RequestHeadersTooLargeError, RequestInvalidError, RequestTimeoutError } from '../errors/errors'
import { PROBLEM_CONTENT_TYPE, toProblem } from '../lib/problem'

function clientErrorToAppError (err: NodeJS.ErrnoException): AppError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestTimeoutError('The request was not received in time')
  if (err.code === 'HPE_HEADER_OVERFLOW') return new RequestHeadersTooLargeError('The request headers are larger than the server accepts (16 KiB)')
  return new RequestInvalidError(`The HTTP request is malformed${err.code ? ` (${err.code})` : ''}`)
}

/** A complete HTTP/1.1 response carrying the problem; the connection closes after it. */
export function rawProblemResponse (err: AppError, requestId = randomUUID()): string {
  const body = JSON.stringify(toProblem(err, requestId))
  return `HTTP/1.1 ${err.statusCode} ${STATUS_CODES[err.statusCode] ?? 'Error'}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`
}

/** Fastify's `clientErrorHandler`. */
export function clientErrorHandler (log: Logger): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const appErr = clientErrorToAppError(err)
    const requestId = randomUUID()
    log.info({ requestId, code: appErr.code, reason: err.code ?? err.message }, 'malformed HTTP request rejected')
    if (socket.writable) socket.end(rawProblemResponse(appErr, requestId), () => socket.destroy())
    else socket.destroy()
  }
}

/** The server's 'checkExpectation' listener (without one Node answers a bodiless 417). */
export function answerExpectation (_req: IncomingMessage, res: ServerResponse): void {
  const requestId = randomUUID()
  const err = new ExpectationFailedError('Only "Expect: 100-continue" is supported')
  const body = JSON.stringify(toProblem(err, requestId))
  res.writeHead(err.statusCode, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'x-request-id': requestId, connection: 'close' })
  res.end(body)
}
