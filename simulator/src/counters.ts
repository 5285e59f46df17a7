// Request and token counters, read by tests and benchmarks ("how many token requests did the storm make?").
import type { GrantType } from './tokens'

export interface CountersSnapshot {
  requests: number
  byOperation: Record<string, number>
  byStatus: Record<string, number>
  byOperationStatus: Record<string, Record<string, number>>
  tokensGranted: Record<GrantType, number>
  tokenRequests: number
}

/** A request that carried a W3C `traceparent` (the spoke's tracing tests read these). */
export interface TracedRequest { operationId: string, traceparent: string }

const MAX_TRACED = 1000

export class Counters {
  private traced: TracedRequest[] = []
  private requests = 0
  private tokenRequests = 0
  private readonly byOperation = new Map<string, Map<number, number>>()
  private tokensGranted: Record<GrantType, number> = emptyGrants()

  request (operationId: string, status: number): void {
    this.requests++
    let statuses = this.byOperation.get(operationId)
    if (!statuses) { statuses = new Map(); this.byOperation.set(operationId, statuses) }
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
  }

  /** The last MAX_TRACED requests that carried a traceparent. */
  tracedRequest (operationId: string, traceparent: string): void {
    if (this.traced.length >= MAX_TRACED) this.traced.shift()
    this.traced.push({ operationId, traceparent })
  }

  tracedRequests (): TracedRequest[] { return [...this.traced] }

  tokenRequest (): void { this.tokenRequests++ }
  tokenGranted (grant: GrantType): void { this.tokensGranted[grant]++ }

  snapshot (): CountersSnapshot {
    const byOperation: Record<string, number> = {}
    const byStatus: Record<string, number> = {}
    const byOperationStatus: Record<string, Record<string, number>> = {}
    for (const [op, statuses] of this.byOperation) {
      byOperationStatus[op] = {}
      for (const [status, n] of statuses) {
        byOperation[op] = (byOperation[op] ?? 0) + n
        byStatus[status] = (byStatus[status] ?? 0) + n
        byOperationStatus[op][status] = n
      }
    }
    return { requests: this.requests, byOperation, byStatus, byOperationStatus, tokensGranted: { ...this.tokensGranted }, tokenRequests: this.tokenRequests }
  }

  clear (): void {
    this.traced = []
    this.requests = 0
    this.tokenRequests = 0
    this.byOperation.clear()
    this.tokensGranted = emptyGrants()
  }
}

function emptyGrants (): Record<GrantType, number> {
  return { authorization_code: 0, refresh_token: 0, client_credentials: 0, test: 0 }
}
