// Helpers shared by the HTTP routes: sending results, bearer tokens, and applying injected faults.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { OpResult } from './errors'
import type { FaultTarget } from './faults'
import type { SimState } from './state'

declare module 'fastify' {
  interface FastifyRequest {
    /** the operationId the counters file this request under */
    simOperation?: string
  }
}

let traceCounter = 0

export function send (reply: FastifyReply, result: OpResult): FastifyReply {
  reply.code(result.status)
  reply.header('atl-traceid', (++traceCounter).toString(16).padStart(16, '0'))
  if (result.headers) reply.headers(result.headers)
  if (result.body === undefined) return reply.send()
  return reply.type('application/json').send(JSON.stringify(result.body))
}

export function bearer (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined
}

/**
 * Applies the faults configured for this request. Returns true when the fault answered it (an error, a 429)
 * or dropped the connection; added latency alone returns false after the delay.
 */
export async function injectFaults (state: SimState, target: FaultTarget, operationId: string, request: FastifyRequest, reply: FastifyReply,
  errorBody: (status: number) => OpResult): Promise<boolean> {
  const decision = state.faults.decide(target, operationId, request.url.split('?')[0])
  if (!decision) return false
  // Unref'd: a request held back by added latency must not keep a closed simulator's process alive.
  if (decision.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.delayMs).unref())
  const fault = decision.fault
  if (!fault) return false
  if (fault.kind === 'reset') {
    state.counters.request(operationId, 0)
    request.simOperation = undefined
    reply.hijack()
    request.raw.socket.destroy()
    return true
  }
  if (fault.kind === 'error') {
    const result = errorBody(fault.status ?? 503)
    send(reply, { ...result, headers: { ...result.headers, ...(fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {}) } })
    return true
  }
  const headers: Record<string, string> = { 'X-RateLimit-Remaining': '0', 'RateLimit-Reason': 'confluence-burst-based' }
  if (fault.retryAfter !== null && fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter)
  send(reply, { status: 429, body: { code: 429, message: 'Rate limit exceeded' }, headers })
  return true
}
