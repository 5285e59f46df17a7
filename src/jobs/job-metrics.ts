// Queue metrics on /metrics: job counts per queue and state, read from Redis when Prometheus scrapes
// (bounded so a Redis outage cannot hang the scrape), and counters of retries and failures by error code.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Queue } from 'bullmq'
import type { JobDurationMetrics } from '../lib/metrics-spoke'
import { within } from '../lib/timeout'

export interface JobMetrics {
  retries: Counter<'action' | 'code'>
  failures: Counter<'action' | 'code'>
  completed: Counter<'action'>
  /** One attempt's duration in the worker, by action and outcome (lib/metrics-spoke.ts). */
  duration?: JobDurationMetrics['duration']
  /** Runs that only waited (a down receiver) and gave their worker slot back (lib/wait-later.ts). */
  waits?: Counter<'action'>
  /** The per-key cap of unfinished async jobs (0: none), and the submissions it refused, by key fingerprint. */
  keyCap?: Gauge
  keyCapRefusals?: Counter<'key'>
}

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const
const SCRAPE_TIMEOUT_MS = 500

export function createJobMetrics (registry: Registry, queues: Queue[], duration?: JobDurationMetrics['duration']): JobMetrics {
  new Gauge({
    name: 'spoke_queue_jobs',
    help: 'Jobs per queue and BullMQ state (read at scrape time)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect () {
      for (const q of queues) {
        const counts = await within(q.getJobCounts(...STATES), SCRAPE_TIMEOUT_MS, () => new Error('no answer')).catch(() => undefined)
        if (counts === undefined) continue
        for (const s of STATES) this.set({ queue: q.name, state: s }, counts[s] ?? 0)
      }
    }
  })
  return {
    retries: new Counter({ name: 'spoke_job_retries_total', help: 'Job attempts that failed and were scheduled again, by action and error code', labelNames: ['action', 'code'] as const, registers: [registry] }),
    failures: new Counter({ name: 'spoke_job_failures_total', help: 'Jobs that failed for good (or were cancelled), by action and error code', labelNames: ['action', 'code'] as const, registers: [registry] }),
    completed: new Counter({ name: 'spoke_job_completed_total', help: 'Jobs completed, by action', labelNames: ['action'] as const, registers: [registry] }),
    duration,
    waits: new Counter({ name: 'spoke_job_slot_releases_total', help: 'Job runs that could only wait (a webhook receiver down) and went back to delayed, freeing their worker slot, by action', labelNames: ['action'] as const, registers: [registry] }),
    keyCap: new Gauge({ name: 'spoke_job_key_cap', help: 'Unfinished async jobs (waiting, delayed, active) one API key may have at once (SPOKE_MAX_JOBS_PER_KEY; 0: no cap)', registers: [registry] }),
    keyCapRefusals: new Counter({ name: 'spoke_job_key_cap_refusals_total', help: 'Async submissions answered 429 TOO_MANY_JOBS, by API key fingerprint', labelNames: ['key'] as const, registers: [registry] })
  }
}
