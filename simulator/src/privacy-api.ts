// Atlassian's Personal Data Reporting API (developer.atlassian.com/cloud/confluence/user-privacy-developer-guide/):
// POST /app/report-accounts/ with { accounts: [{ accountId, updatedAt }] } (1 to 90), as an OAuth 2.0 (3LO)
// app with the report:personal-data scope. Answers 204 when no account needs action, else 200 with
// { accounts: [{ accountId, status: 'closed' | 'updated' }] }; both carry Cycle-Period (seconds until the
// next report is due). 429s and 5xx come from the fault injector (operation `privacy.reportAccounts`).
// Deviation: a client-credentials token (a service account) is refused with 403, since the API is documented
// for 3LO and Connect apps only.
// Tests close or update accounts with `privacyOf(sim.state)` or the control routes under /__sim/privacy/.
import type { FastifyInstance } from 'fastify'
import { gatewayError, SCOPE_MISMATCH } from './errors'
import { authenticate, UNAUTHORIZED } from './gateway'
import { bearer, injectFaults, send } from './http'
import type { SimState } from './state'

export const REPORT_SCOPE = 'report:personal-data'
export const MAX_ACCOUNTS = 90
const OPERATION = 'privacy.reportAccounts'

export interface PrivacyStats {
  /** every call, faulted ones included */
  calls: number
  /** calls answered 200 or 204 (a batch Atlassian took) */
  accepted: number
  /** distinct accounts in accepted batches */
  accounts: number
  /** accepted batches whose exact account list had been accepted before */
  repeatedBatches: number
  /** account reports beyond the first, in accepted batches */
  repeatedAccounts: number
}

export class PrivacyReporting {
  cyclePeriodSeconds = 7 * 86400
  private readonly closed = new Set<string>()
  private readonly updatedAt = new Map<string, number>()
  private readonly seen = new Set<string>()
  private readonly batches = new Set<string>()
  private stats0: PrivacyStats = { calls: 0, accepted: 0, accounts: 0, repeatedBatches: 0, repeatedAccounts: 0 }

  close (accountId: string): void { this.closed.add(accountId) }
  /** The account's personal data changed at `at` (ms, default now). */
  update (accountId: string, at = Date.now()): void { this.updatedAt.set(accountId, at) }
  isClosed (accountId: string): boolean { return this.closed.has(accountId) }
  stats (): PrivacyStats { return { ...this.stats0 } }
  /** Clears the counters (not the closed or updated accounts). */
  resetStats (): void { this.seen.clear(); this.batches.clear(); this.stats0 = { calls: 0, accepted: 0, accounts: 0, repeatedBatches: 0, repeatedAccounts: 0 } }

  /** The statuses for one accepted batch, counted. */
  answer (accounts: Array<{ accountId: string, updatedAt: string }>): Array<{ accountId: string, status: 'closed' | 'updated' }> {
    this.stats0.accepted++
    const signature = accounts.map((a) => a.accountId).join(',')
    if (this.batches.has(signature)) this.stats0.repeatedBatches++
    this.batches.add(signature)
    const out: Array<{ accountId: string, status: 'closed' | 'updated' }> = []
    for (const a of accounts) {
      if (this.seen.has(a.accountId)) this.stats0.repeatedAccounts++
      else { this.seen.add(a.accountId); this.stats0.accounts++ }
      if (this.closed.has(a.accountId)) out.push({ accountId: a.accountId, status: 'closed' })
      else if ((this.updatedAt.get(a.accountId) ?? 0) > Date.parse(a.updatedAt)) out.push({ accountId: a.accountId, status: 'updated' })
    }
    return out
  }

  countCall (): void { this.stats0.calls++ }
}

const registry = new WeakMap<SimState, PrivacyReporting>()

/** The simulator's reporting state (one per simulator). */
export function privacyOf (state: SimState): PrivacyReporting {
  let p = registry.get(state)
  if (p === undefined) { p = new PrivacyReporting(); registry.set(state, p) }
  return p
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

export function registerPrivacyApi (app: FastifyInstance, state: SimState): void {
  const p = privacyOf(state)
  state.knownScopes.add(REPORT_SCOPE)
  const report = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply): Promise<unknown> => {
    request.simOperation = OPERATION
    p.countCall()
    if (await injectFaults(state, 'api', OPERATION, request, reply, (status) => gatewayError(status, 'Injected fault'))) return
    const auth = authenticate(state, bearer(request))
    if (!auth.ok) return send(reply, UNAUTHORIZED)
    if (!auth.token.scopeSet.has(REPORT_SCOPE)) return send(reply, SCOPE_MISMATCH)
    if (auth.token.grantType === 'client_credentials') return send(reply, gatewayError(403, 'The Personal Data Reporting API is for OAuth 2.0 (3LO) and Connect apps'))
    const accounts = (request.body as { accounts?: unknown } | undefined)?.accounts
    if (!Array.isArray(accounts) || accounts.length === 0 || accounts.length > MAX_ACCOUNTS ||
      !accounts.every((a) => typeof a?.accountId === 'string' && a.accountId !== '' && typeof a.updatedAt === 'string' && ISO.test(a.updatedAt))) {
      return send(reply, gatewayError(400, `accounts must list 1 to ${MAX_ACCOUNTS} { accountId, updatedAt (ISO 8601) }`))
    }
    const statuses = p.answer(accounts)
    const headers = { 'Cycle-Period': String(p.cyclePeriodSeconds) }
    return send(reply, statuses.length === 0 ? { status: 204, headers } : { status: 200, body: { accounts: statuses }, headers })
  }
  app.post('/app/report-accounts/', report)
  app.post('/app/report-accounts', report)

  app.post('/__sim/privacy/accounts/:accountId/close', async (request) => { p.close((request.params as { accountId: string }).accountId); return { closed: true } })
  app.post('/__sim/privacy/accounts/:accountId/update', async (request) => { p.update((request.params as { accountId: string }).accountId); return { updated: true } })
  app.get('/__sim/privacy/stats', async () => p.stats())
  app.post('/__sim/privacy/stats/reset', async () => { p.resetStats(); return p.stats() })
  app.put('/__sim/privacy/cycle-period', async (request) => { p.cyclePeriodSeconds = Number((request.body as { seconds?: number }).seconds ?? p.cyclePeriodSeconds); return { seconds: p.cyclePeriodSeconds } })
}
