// Prometheus metrics: one registry per core (tests build many apps in one process), process metrics,
// and the HTTP latency histogram. Label values are route patterns, never raw URLs or secrets.
import { Registry, Histogram, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  httpDuration: Histogram<'method' | 'route' | 'status_code'>
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
  return { registry, httpDuration }
}
