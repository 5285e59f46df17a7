// What the report handler needs besides Confluence calls (given to handlers as HandlerServices.privacy).
import type { Counter, Gauge } from 'prom-client'
import type { ErasureKeys } from './erase'
import type { PersonalDataIndex } from './personal-data-index'

export interface PrivacyMetrics {
  indexed: Gauge<'alias'>
  reported: Counter<'alias'>
  closed: Counter<'alias'>
  updated: Counter<'alias'>
  erased: Counter<'alias'>
  lastCycle: Gauge<'alias'>
}

export interface PrivacyServices {
  index: PersonalDataIndex
  erasure: ErasureKeys
  /** The alias's grant type (a client-credentials alias has no app to report for). */
  grantOf: (alias: string) => Promise<string | undefined>
  metrics?: PrivacyMetrics
  /** After a successful cycle: the Cycle-Period Atlassian asked for (the default schedule follows it). */
  onCycle?: (alias: string, cyclePeriodSeconds: number | undefined) => void
}
