// Triggers (docs/triggers.md): subscriptions kept in Redis, one poll per site on the `triggers` queue (a
// BullMQ job scheduler per connection alias, at the shortest `every` of its active subscriptions), and a
// delivery run per subscription. A delivery that fails is retried by a delayed job — the worker slot is free
// while it waits — with a doubling delay, for `giveUpMs` of outage; then the events go to dead letters that
// the API lists and replays. A receiver that is down delays only its own subscription.
import { randomUUID, createHash } from 'node:crypto'
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Config } from '../config/env'
import type { ConfluenceClient } from '../confluence/types'
import type { ConnectionResolver } from '../connections/types'
import { NotFoundError, RequestInvalidError } from '../errors/errors'
import { callbackPolicy, deliver, DeliveryRefusedError } from '../http/signed-post'
import { assertCallbackUrl } from '../jobs/callbacks'
import { bullPrefix } from '../jobs/queues'
import { guard } from '../jobs/job-service'
import type { AddressPolicy } from '../lib/address-policy'
import { pollSite, type PollResult } from './poll'
import { PERMISSIONS_CHANGED, queueAclChanges } from './permissions'
import type { AclChangePort, CrawlSite } from '../crawl/types'
import { TriggerStore } from './store'
import { MIN_EVERY_SECONDS, type DeadLetter, type DeliveryRecord, type Subscription, type TriggerBody, type TriggerEvent } from './types'

export const TRIGGER_QUEUE = 'triggers'

export type TriggerJob = { kind: 'poll', alias: string } | { kind: 'deliver', id: string }

export interface TriggerView extends Subscription {
  /** Events detected and not yet acknowledged by the receiver. */
  pending: number
  /** Seconds since the oldest pending event was detected (0 when none is pending). */
  lagSeconds: number
  detected: number
  delivered: number
  failures: number
  deadLetters: number
  lastDeliveredEventId?: string
  lastPollAt?: string
  lastDeliveries: DeliveryRecord[]
}

export interface TriggerDeps {
  config: Pick<Config, 'keyPrefix' | 'callbackSecret' | 'callbackAllowPrivate' | 'callbackAllowLinkLocal' | 'callbackAllowedCidrs' | 'webhookGiveUpSeconds' | 'jobLockMs'>
  store: Redis
  producer: Redis
  log: Logger
  connections: ConnectionResolver
  confluence: ConfluenceClient
  registry: Registry
  /** Delivery timing (tests shorten it): first retry delay, longest delay, outage before dead letters. */
  retry?: { baseDelayMs?: number, maxDelayMs?: number, giveUpMs?: number, timeoutMs?: number }
}

const DELIVERY_TIMEOUT_MS = 10_000
/** How long a poll holds its site, in job locks (a worker killed mid-poll frees it after this; the window stays frozen). */
const POLL_LEASE_LOCKS = 4

export class TriggerService {
  readonly queue: Queue<TriggerJob>
  readonly store: TriggerStore
  private readonly policy: AddressPolicy
  private readonly log: Logger
  private readonly m: { detected: Counter<'subscription'>, delivered: Counter<'subscription'>, failures: Counter<'subscription'>, dead: Counter<'subscription'> }
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly giveUpMs: number
  private readonly timeoutMs: number
  private readonly pollLeaseMs: number

  constructor (private readonly deps: TriggerDeps) {
    this.queue = new Queue<TriggerJob>(TRIGGER_QUEUE, { connection: deps.producer, prefix: bullPrefix(deps.config.keyPrefix), defaultJobOptions: { removeOnComplete: 100, removeOnFail: 100 } })
    this.queue.on('error', (err) => deps.log.debug({ err }, 'trigger queue connection error'))
    this.store = new TriggerStore(deps.store, deps.config.keyPrefix)
    this.policy = callbackPolicy(deps.config)
    this.log = deps.log
    this.baseDelayMs = deps.retry?.baseDelayMs ?? 1_000
    this.maxDelayMs = deps.retry?.maxDelayMs ?? 300_000
    this.giveUpMs = deps.retry?.giveUpMs ?? (deps.config.webhookGiveUpSeconds ?? 3_600) * 1000
    this.timeoutMs = deps.retry?.timeoutMs ?? DELIVERY_TIMEOUT_MS
    this.pollLeaseMs = POLL_LEASE_LOCKS * deps.config.jobLockMs
    const r = [deps.registry]
    const label = ['subscription'] as const
    this.m = {
      detected: new Counter({ name: 'spoke_trigger_events_detected_total', help: 'Trigger events detected for a subscription (after its filter)', labelNames: label, registers: r }),
      delivered: new Counter({ name: 'spoke_trigger_events_delivered_total', help: 'Trigger events the receiver acknowledged (2xx)', labelNames: label, registers: r }),
      failures: new Counter({ name: 'spoke_trigger_delivery_failures_total', help: 'Trigger delivery attempts that failed', labelNames: label, registers: r }),
      dead: new Counter({ name: 'spoke_trigger_dead_letters_total', help: 'Trigger events moved to dead letters', labelNames: label, registers: r })
    }
    const store = this.store
    new Gauge({
      name: 'spoke_trigger_lag_seconds',
      help: 'Now minus the detection time of the oldest event not yet acknowledged, per subscription',
      labelNames: label,
      registers: r,
      async collect () {
        this.reset()
        for (const sub of await store.list().catch(() => [])) {
          const { oldest } = await store.pending(sub.id).catch(() => ({ oldest: undefined }))
          this.labels(sub.id).set(oldest === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(oldest.detectedAt)) / 1000))
        }
      }
    })
  }

  async put (id: string, body: TriggerBody): Promise<{ view: TriggerView, created: boolean }> {
    if (this.deps.config.callbackSecret === undefined) throw new RequestInvalidError('Trigger deliveries are signed: set SPOKE_CALLBACK_SECRET first')
    if (body.every < MIN_EVERY_SECONDS) throw new RequestInvalidError(`every must be at least ${MIN_EVERY_SECONDS} seconds`, { errors: [{ in: 'body', path: '/every', message: `must be >= ${MIN_EVERY_SECONDS}` }] })
    const startAt = body.start === undefined || body.start === 'now' ? new Date() : new Date(body.start)
    if (Number.isNaN(startAt.getTime())) throw new RequestInvalidError('start must be "now" or an ISO 8601 time', { errors: [{ in: 'body', path: '/start', message: 'must be "now" or an ISO 8601 time' }] })
    await assertCallbackUrl(body.delivery.url, this.policy, { name: 'delivery.url', path: '/delivery/url' })
    await guard(this.deps.connections.resolve(body.connection))
    const existing = await guard(this.store.get(id))
    const now = new Date().toISOString()
    const { start: _start, ...rest } = body
    const sub: Subscription = { ...rest, id, state: existing?.state ?? 'active', startAt: existing !== undefined && body.start === undefined ? existing.startAt : startAt.toISOString(), createdAt: existing?.createdAt ?? now, updatedAt: now }
    await guard(this.store.put(sub))
    if (existing !== undefined && existing.connection !== sub.connection) await this.reschedule(existing.connection)
    await this.reschedule(sub.connection)
    this.log.info({ trigger: id, connection: sub.connection, events: sub.events }, existing === undefined ? 'trigger created' : 'trigger replaced')
    return { view: await this.get(id), created: existing === undefined }
  }

  async get (id: string): Promise<TriggerView> {
    return await this.view(await this.must(id))
  }

  async list (): Promise<TriggerView[]> {
    return await Promise.all((await guard(this.store.list())).map(async (s) => await this.view(s)))
  }

  async delete (id: string): Promise<void> {
    const sub = await this.must(id)
    await guard(this.store.delete(id))
    await this.reschedule(sub.connection)
    this.log.info({ trigger: id }, 'trigger deleted')
  }

  async setState (id: string, state: 'active' | 'paused'): Promise<TriggerView> {
    const sub = await this.must(id)
    const now = new Date().toISOString()
    // Resumed: it starts again from now (what changed while it was paused is not sent).
    await guard(this.store.put({ ...sub, state, updatedAt: now, ...(state === 'active' && sub.state === 'paused' ? { startAt: now } : {}) }))
    await this.reschedule(sub.connection)
    if (state === 'active') await this.kick(id)
    return await this.get(id)
  }

  /** Sends one signed test event now (not queued, not counted) and answers how the receiver took it. */
  async test (id: string): Promise<DeliveryRecord> {
    const sub = await this.must(id)
    const at = new Date().toISOString()
    const event = { id: `test.${randomUUID()}`, type: 'trigger.test', occurredAt: at, detectedAt: at, subscription: id, content: null }
    const body = JSON.stringify((sub.delivery.batch ?? 1) > 1 ? { subscription: id, events: [event] } : event)
    let record: DeliveryRecord
    try {
      const status = await deliver(sub.delivery.url, body, this.secret(), { policy: this.policy, timeoutMs: this.timeoutMs, operation: 'webhook', messageId: event.id })
      record = { at, ok: true, events: 1, firstEventId: event.id, status, test: true }
    } catch (err) {
      record = { at, ok: false, events: 1, firstEventId: event.id, error: errorText(err), test: true }
    }
    await this.store.recordTest(id, record)
    return record
  }

  async deadLetters (id: string): Promise<DeadLetter[]> {
    await this.must(id)
    return await guard(this.store.deadLetters(id))
  }

  async replay (id: string): Promise<number> {
    await this.must(id)
    const n = await guard(this.store.replay(id))
    await this.kick(id)
    return n
  }

  /** The worker's poll of one site (undefined: no active subscription, or another poll of the site is under way); then a delivery run for every subscription with events waiting. */
  async poll (alias: string, signal?: AbortSignal): Promise<PollResult | undefined> {
    const subs = (await this.store.list()).filter((s) => s.connection === alias && s.state === 'active')
    if (subs.length === 0) { await this.reschedule(alias); return undefined }
    // One poll of a site at a time (a scheduled tick may meet a slow poll): a second one has nothing to add.
    const token = randomUUID()
    if (!await this.store.lock(`site:${alias}`, token, this.pollLeaseMs)) return undefined
    try {
      return await this.pollLocked(alias, subs, token, signal)
    } finally {
      await this.store.unlock(`site:${alias}`, token).catch(() => {})
    }
  }

  private async pollLocked (alias: string, subs: Subscription[], token: string, signal?: AbortSignal): Promise<PollResult> {
    const resolved = await this.deps.connections.resolve(alias)
    // A long poll (a large site's baseline) keeps its lease: renewed between requests, and a poll that lost
    // it (it lapsed, another poll may have begun) stops before it commits anything.
    let renewedAt = Date.now()
    const keepLease = async (): Promise<void> => {
      if (Date.now() - renewedAt < this.pollLeaseMs / 4) return
      if (!await this.store.renew(`site:${alias}`, token, this.pollLeaseMs)) throw new Error(`the poll of ${alias} lost its lease`)
      renewedAt = Date.now()
    }
    // `paced`: a background request waits for the site budget's tokens, so interactive calls keep their room.
    const call: Parameters<typeof pollSite>[3] = async (req, opts) => {
      await keepLease()
      return await this.deps.confluence.call(resolved, { ...req, paced: true, operation: 'trigger.poll' }, opts)
    }
    const result = await pollSite(this.store, alias, subs, call, signal, keepLease)
    for (const [id, events] of result.events) if (events.length > 0) this.m.detected.labels(id).inc(events.length)
    // Every subscription with something pending (also what a killed run left): its own delivery run.
    for (const sub of subs) if ((await this.store.pending(sub.id)).count > 0) await this.kick(sub.id)
    return result
  }

  /**
   * What a crawl run tells of items whose effective ACL changed (handed to the crawl through the handler
   * services, core.ts): `content.permissions.changed` for the active triggers of the crawled site that ask for it.
   */
  readonly aclChanges: AclChangePort = {
    wanted: async (site) => (await this.aclSubscribers(site)).length > 0,
    publish: async (site, changes) => {
      const subs = await this.aclSubscribers(site)
      if (subs.length === 0 || changes.length === 0) return
      const queued = await queueAclChanges(this.store, site.cloudId, subs, changes)
      for (const [id, events] of queued) {
        if (events.length === 0) continue
        this.m.detected.labels(id).inc(events.length)
        await this.kick(id)
      }
    }
  }

  /** Active triggers asking for permission changes whose connection is the crawled alias or reaches the same site. */
  private async aclSubscribers (site: CrawlSite): Promise<Subscription[]> {
    const out: Subscription[] = []
    for (const sub of await this.store.list()) {
      if (sub.state !== 'active' || !sub.events.includes(PERMISSIONS_CHANGED)) continue
      try {
        const resolved = await this.deps.connections.resolve(sub.connection)
        if (resolved.resolved === site.alias || (await this.deps.confluence.site(resolved)).cloudId === site.cloudId) out.push(sub)
      } catch (err) {
        // (an alias deleted or not connected: its trigger hears nothing from this crawl)
        this.log.debug({ trigger: sub.id, err }, 'trigger connection not resolved for permission changes')
      }
    }
    return out
  }

  /**
   * The worker's delivery run of one subscription: pending events in order, a batch (or one) per POST; the
   * watermark moves after each 2xx. A failure ends the run with a delayed retry (the slot is free meanwhile).
   */
  async deliverPending (id: string): Promise<void> {
    const token = randomUUID()
    const lease = this.timeoutMs * 3 + 30_000
    if (!await this.store.lock(id, token, lease)) return // another run is delivering
    const started = Date.now()
    try {
      for (;;) {
        // A bounded run (well inside its lease): a long backlog continues in a fresh run, behind other work.
        if (Date.now() - started > lease / 3) { await this.kick(id); return }
        const sub = await this.store.get(id)
        if (sub === undefined || sub.state !== 'active') return
        const size = Math.max(1, sub.delivery.batch ?? 1)
        const events = await this.store.head(id, size)
        if (events.length === 0) return
        const batched = sub.delivery.batch !== undefined && sub.delivery.batch > 1
        const body = JSON.stringify(batched ? { subscription: id, events } : events[0])
        // The same message id on every retry of the same events (a batch may hold more on a retry: a new id).
        const messageId = batched ? `${id}.${createHash('sha256').update(events.map((e) => e.id).join(',')).digest('hex').slice(0, 24)}` : `${id}.${events[0].id}`
        const at = new Date().toISOString()
        try {
          const status = await deliver(sub.delivery.url, body, this.secret(), { policy: this.policy, timeoutMs: this.timeoutMs, operation: 'webhook', messageId })
          await this.store.acknowledged(id, events, { at, ok: true, events: events.length, firstEventId: events[0].id, status })
          this.m.delivered.labels(id).inc(events.length)
        } catch (err) {
          const reason = errorText(err)
          this.m.failures.labels(id).inc()
          const { attempts, downSince } = await this.store.failed(id, { at, ok: false, events: events.length, firstEventId: events[0].id, error: reason })
          const downFor = Date.now() - downSince
          if (err instanceof DeliveryRefusedError || downFor >= this.giveUpMs) {
            await this.store.deadLetter(id, { events, deadAt: new Date().toISOString(), reason, attempts })
            this.m.dead.labels(id).inc(events.length)
            this.log.warn({ trigger: id, events: events.length, reason }, 'trigger events moved to dead letters')
            continue
          }
          const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(attempts - 1, 20), Math.max(this.baseDelayMs, this.giveUpMs - downFor))
          this.log.info({ trigger: id, attempts, delayMs: delay, reason }, 'trigger delivery failed; retrying later')
          await this.kick(id, delay)
          return
        }
      }
    } finally {
      await this.store.unlock(id, token).catch(() => {})
    }
  }

  /** A delivery run for the subscription, now or after `delayMs`. */
  async kick (id: string, delayMs = 0): Promise<void> {
    await guard(this.queue.add('deliver', { kind: 'deliver', id }, { jobId: `deliver.${id}.${Date.now()}.${randomUUID().slice(0, 8)}`, delay: delayMs, priority: 1 }))
  }

  /** The site's poll schedule: the shortest `every` of its active subscriptions, or none. */
  async reschedule (alias: string): Promise<void> {
    const subs = (await guard(this.store.list())).filter((s) => s.connection === alias && s.state === 'active')
    const schedulerId = `poll.${alias}`
    if (subs.length === 0) { await guard(this.queue.removeJobScheduler(schedulerId)); return }
    const every = Math.min(...subs.map((s) => s.every)) * 1000
    // Polls go last in the queue: deliveries (priority 1) first.
    await guard(this.queue.upsertJobScheduler(schedulerId, { every }, { name: 'poll', data: { kind: 'poll', alias }, opts: { priority: 10 } }))
  }

  async close (): Promise<void> { await this.queue.close() }

  private secret (): string {
    const s = this.deps.config.callbackSecret
    if (s === undefined) throw new DeliveryRefusedError('SPOKE_CALLBACK_SECRET is not set')
    return s
  }

  private async must (id: string): Promise<Subscription> {
    const sub = await guard(this.store.get(id))
    if (sub === undefined) throw new NotFoundError(`No trigger "${id}"`)
    return sub
  }

  private async view (sub: Subscription): Promise<TriggerView> {
    const [stats, pending, lastDeliveries, site] = await guard(Promise.all([this.store.stats(sub.id), this.store.pending(sub.id), this.store.lastDeliveries(sub.id), this.deps.store.hget(this.store.siteKey(sub.connection), 'lastPollAt')]))
    return {
      ...sub,
      pending: pending.count,
      lagSeconds: pending.oldest === undefined ? 0 : Math.max(0, Math.round((Date.now() - Date.parse(pending.oldest.detectedAt)) / 1000)),
      detected: Number(stats.detected ?? 0),
      delivered: Number(stats.delivered ?? 0),
      failures: Number(stats.failures ?? 0),
      deadLetters: Number(stats.deadLetters ?? 0),
      ...(stats.lastDeliveredEventId !== undefined ? { lastDeliveredEventId: stats.lastDeliveredEventId } : {}),
      ...(site !== null ? { lastPollAt: site } : {}),
      lastDeliveries
    }
  }
}

function errorText (err: unknown): string { return (err instanceof Error ? err.message : String(err)).slice(0, 300) }

export type { TriggerEvent }
