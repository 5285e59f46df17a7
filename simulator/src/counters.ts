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

export class Counters {
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
    this.requests = 0
    this.tokenRequests = 0
    this.byOperation.clear()
    this.tokensGranted = emptyGrants()
  }
}

function emptyGrants (): Record<GrantType, number> {
  return { authorization_code: 0, refresh_token: 0, client_credentials: 0, test: 0 }
}
