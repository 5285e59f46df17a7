// confluence.privacy.report: reports the accounts indexed for a 3LO alias to Atlassian's Personal Data
// Reporting API (POST {ATLASSIAN_API_URL}/app/report-accounts/, at most 90 a call, each with the time the
// spoke stored it), erases the accounts reported closed and drops the cached copies of updated ones.
// The run walks a copy of the index taken at its start (ZRANGESTORE, server side), so batch i is the same
// 90 accounts in every attempt; the batch number and counts are checkpointed after each batch: a resumed
// run starts at the first batch not done. 429 / Retry-After and 5xx are the engine's retry rules (ctx.call).
import { randomUUID } from 'node:crypto'
import type { ActionHandler, HandlerContext } from '../actions/handlers/types'
import { InternalError, PrivacyReportUnsupportedError } from '../errors/errors'
import { eraseAccounts, refreshAccounts, type ErasureCounts } from './erase'
import type { PrivacyServices } from './services'

export const BATCH = 90
const FIELD = 'privacy'
/** A snapshot outlives a run that died for good, then expires (it holds ids and times only). */
const SNAPSHOT_TTL_SECONDS = 2 * 86400

interface RunState {
  next: number
  total: number
  calls: number
  reported: number
  closed: number
  updated: number
  refreshed: number
  erased: ErasureCounts
  cyclePeriodSeconds?: number
  /** The last batch's answer, until its erasures are done (then removed: it names accounts). */
  pending?: { answer: NonNullable<ReportAnswer['accounts']>, sent: string[] }
}

interface ReportAnswer { accounts?: Array<{ accountId?: string, status?: string }> }

export const privacyReport: ActionHandler = async (ctx) => {
  const p = ctx.services?.privacy
  const redis = ctx.services?.redis
  if (p === undefined || redis === undefined) throw new InternalError('confluence.privacy.report needs the privacy services')
  const alias = ctx.connection.resolved
  if (await p.grantOf(alias) === 'oauth2_client_credentials') {
    throw new PrivacyReportUnsupportedError(`Alias "${alias}" uses client credentials (a service account): Atlassian's Personal Data Reporting API is for OAuth 2.0 (3LO) apps; report through a 3LO alias of the app (docs/privacy.md)`)
  }
  const keys = p.index.keys
  const snap = keys.snapshot(alias, ctx.job?.jobId ?? randomUUID())
  const saved = ctx.job === undefined ? undefined : (await ctx.job.checkpoint.load()).get(FIELD)
  const st: RunState = saved !== undefined ? JSON.parse(saved) : { next: 0, total: 0, calls: 0, reported: 0, closed: 0, updated: 0, refreshed: 0, erased: { jobs: 0, replays: 0, crawlRuns: 0, events: 0 } }
  if (st.pending !== undefined) await settle(ctx, p, alias, st)
  if (saved === undefined) {
    await redis.multi().zrangestore(snap, keys.index(alias), 0, -1).expire(snap, SNAPSHOT_TTL_SECONDS).exec()
    st.total = await redis.zcard(snap)
    await save(ctx, st)
  }
  for (;;) {
    const flat = await redis.zrange(snap, st.next * BATCH, st.next * BATCH + BATCH - 1, 'WITHSCORES')
    if (flat.length === 0) break
    const accounts: Array<{ accountId: string, updatedAt: string }> = []
    for (let i = 0; i < flat.length; i += 2) accounts.push({ accountId: flat[i], updatedAt: new Date(Number(flat[i + 1])).toISOString() })
    const res = await ctx.call({ method: 'POST', base: 'api', path: '/app/report-accounts/', body: { accounts }, signal: ctx.signal })
    st.calls++
    const period = Number(res.headers['cycle-period'])
    if (Number.isFinite(period) && period > 0) st.cyclePeriodSeconds = period
    // The answer is checkpointed before it is acted on: a kill now resumes with the erasure, not a second
    // call (only a kill between Atlassian's answer and this write sends the batch again).
    st.pending = { answer: res.status === 200 ? (res.body as ReportAnswer | null)?.accounts ?? [] : [], sent: accounts.map((a) => a.accountId) }
    st.next++
    st.reported += accounts.length
    await save(ctx, st)
    await settle(ctx, p, alias, st)
    ctx.onProgress?.({ done: st.reported, total: st.total, message: 'reporting accounts to Atlassian' })
  }
  await redis.del(snap)
  const indexed = await p.index.count(alias)
  const at = Date.now()
  await redis.hset(keys.meta(alias), { lastSuccessAt: new Date(at).toISOString(), ...(st.cyclePeriodSeconds !== undefined ? { cyclePeriodSeconds: String(st.cyclePeriodSeconds) } : {}) })
  p.metrics?.indexed.set({ alias }, indexed)
  p.metrics?.lastCycle.set({ alias }, Math.floor(at / 1000))
  p.onCycle?.(alias, st.cyclePeriodSeconds)
  // Counts only: never an accountId, a name or an email.
  return { alias, batches: st.next, calls: st.calls, reported: st.reported, closed: st.closed, updated: st.updated, refreshed: st.refreshed, erased: st.erased, indexed, ...(st.cyclePeriodSeconds !== undefined ? { cyclePeriodSeconds: st.cyclePeriodSeconds } : {}) }
}

async function settle (ctx: HandlerContext, p: PrivacyServices, alias: string, st: RunState): Promise<void> {
  await apply(ctx, p, alias, st.pending!.answer, st.pending!.sent, st)
  st.pending = undefined
  await save(ctx, st)
}

async function apply (ctx: HandlerContext, p: PrivacyServices, alias: string, answer: NonNullable<ReportAnswer['accounts']>, sent: string[], st: RunState): Promise<void> {
  const redis = ctx.services!.redis
  const inBatch = new Set(sent)
  const closed = answer.filter((a) => a.status === 'closed' && typeof a.accountId === 'string' && inBatch.has(a.accountId)).map((a) => a.accountId as string)
  const updated = answer.filter((a) => a.status === 'updated' && typeof a.accountId === 'string' && inBatch.has(a.accountId)).map((a) => a.accountId as string)
  if (closed.length > 0) {
    const c = await eraseAccounts(redis, p.index, p.erasure, alias, closed)
    for (const k of Object.keys(c) as Array<keyof ErasureCounts>) st.erased[k] += c[k]
    st.closed += closed.length
    p.metrics?.closed.inc({ alias }, closed.length)
    p.metrics?.erased.inc({ alias }, c.jobs + c.replays + c.crawlRuns + c.events)
  }
  if (updated.length > 0) {
    st.refreshed += await refreshAccounts(redis, p.index, p.erasure, alias, updated)
    st.updated += updated.length
    p.metrics?.updated.inc({ alias }, updated.length)
  }
  p.metrics?.reported.inc({ alias }, sent.length)
  // Accounts whose data expired meanwhile (no reference left) leave the index once reported.
  const closedSet = new Set(closed)
  const rest = sent.filter((id) => !closedSet.has(id))
  const exists = await Promise.all(rest.map(async (id) => await redis.exists(p.index.keys.where(alias, id))))
  await p.index.forget(alias, rest.filter((_, i) => exists[i] === 0))
}

async function save (ctx: HandlerContext, st: RunState): Promise<void> {
  await ctx.job?.checkpoint.save(FIELD, JSON.stringify(st))
}
