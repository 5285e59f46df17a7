// Prometheus metrics: one registry per core (tests build many apps in one process), process metrics,
// and the HTTP latency histogram. Label values are route patterns, never raw URLs or secrets.
import { Counter, Gauge, Registry, Histogram, collectDefaultMetrics } from 'prom-client'
import { createSpokeMetrics, type SpokeMetrics } from './metrics-spoke'

export interface Metrics extends SpokeMetrics {
  registry: Registry
  httpDuration: Histogram<'method' | 'route' | 'status_code'>
  /** Set by confluence.license.usage in the process that ran it (label: alias only, never an account). */
  licenceSeatsInUse: Gauge<'alias'>
  /** Accounts confluence.license.reclaim removed from the managed groups (real runs only). */
  licenceSeatsReclaimed: Counter<'alias'>
  /** Personal data (docs/privacy.md): label alias only, never an account. */
  privacy: { indexed: Gauge<'alias'>, reported: Counter<'alias'>, closed: Counter<'alias'>, updated: Counter<'alias'>, erased: Counter<'alias'>, lastCycle: Gauge<'alias'> }
}

export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'spoke_' })
  const httpDuration = new Histogram({
    name: 'spoke_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  const licenceSeatsInUse = new Gauge({ name: 'spoke_licence_seats_in_use', help: 'Confluence seats in use (billable accounts with access) at the last licence usage run, by alias', labelNames: ['alias'] as const, registers: [registry] })
  const licenceSeatsReclaimed = new Counter({ name: 'spoke_licence_seats_reclaimed_total', help: 'Accounts removed from managed groups by licence reclamation, by alias', labelNames: ['alias'] as const, registers: [registry] })
  const r = [registry]
  const privacy = {
    indexed: new Gauge({ name: 'spoke_privacy_accounts_indexed', help: 'Accounts whose personal data the spoke stores, at the last report run, by alias', labelNames: ['alias'] as const, registers: r }),
    reported: new Counter({ name: 'spoke_privacy_accounts_reported_total', help: 'Accounts reported to the Personal Data Reporting API, by alias', labelNames: ['alias'] as const, registers: r }),
    closed: new Counter({ name: 'spoke_privacy_accounts_closed_total', help: 'Accounts Atlassian reported closed, by alias', labelNames: ['alias'] as const, registers: r }),
    updated: new Counter({ name: 'spoke_privacy_accounts_updated_total', help: 'Accounts Atlassian reported updated, by alias', labelNames: ['alias'] as const, registers: r }),
    erased: new Counter({ name: 'spoke_privacy_places_erased_total', help: 'Stored places (jobs, replays, crawl runs, events) redacted for closed accounts, by alias', labelNames: ['alias'] as const, registers: r }),
    lastCycle: new Gauge({ name: 'spoke_privacy_last_cycle_timestamp_seconds', help: 'End of the last successful personal-data report cycle (unix seconds), by alias', labelNames: ['alias'] as const, registers: r })
  }
  return { registry, httpDuration, licenceSeatsInUse, licenceSeatsReclaimed, privacy, ...createSpokeMetrics(registry) }
}
