// The production preflight: runs the checks of checks.ts, logs them at start and answers a report for
// /readyz and the admin console. The start refuses (SPOKE_PREFLIGHT=enforce, the default) when a check is
// at `refuse`; SPOKE_PREFLIGHT=warn logs the refusals as errors and starts anyway; the sandbox reports
// without logging or refusing. Redis settings are re-read at most every REDIS_TTL_MS; the clock is
// compared once, at start (an outbound call per /readyz would be too much).
import type { Config } from '../config/env'
import {
  assessClock, assessRedis, checkCallbackSecret, checkPublicUrl, checkSecrets, readRedisSettings, sampleClock,
  type ClockSample, type Finding, type RedisSettings, type SettingsSource
} from './checks'

export type PreflightMode = 'enforce' | 'warn' | 'sandbox'

export interface PreflightReport {
  mode: PreflightMode
  /** `refused`: at least one check is at `refuse` (the start stopped, unless the mode is warn or sandbox). */
  outcome: 'pass' | 'warnings' | 'refused'
  checkedAt: string
  findings: Finding[]
}

export interface PreflightDeps {
  config: Config
  redis: SettingsSource
  /** Seams for tests: where the Redis settings and the token endpoint's Date come from. */
  readRedis?: () => Promise<RedisSettings | Error>
  sampleClock?: () => Promise<ClockSample | Error>
}

const REDIS_TTL_MS = 15_000

export class Preflight {
  private clock: Finding
  private redisCache?: { at: number, findings: Finding[] }

  constructor (private readonly deps: PreflightDeps) {
    this.clock = { check: 'clock', level: 'skipped', message: 'clock not compared in this process (only at a production start)' }
  }

  get mode (): PreflightMode { return this.deps.config.preflight ?? 'enforce' }

  /** Every check, the clock included (a HEAD to ATLASSIAN_AUTH_URL with a 2 s timeout). */
  async run (): Promise<PreflightReport> {
    const { config } = this.deps
    const [redis, sample] = await Promise.all([this.redisFindings(true), (this.deps.sampleClock ?? (async () => await sampleClock(config.atlassianAuthUrl)))()])
    this.clock = assessClock(config.atlassianAuthUrl, sample)
    return this.report(redis)
  }

  /** The latest report without outbound calls: static checks, Redis (cached), the clock from start. */
  async current (): Promise<PreflightReport> {
    return this.report(await this.redisFindings(false))
  }

  /** Runtime refusals (Redis settings changed under a running spoke): /readyz answers 503 for these. */
  runtimeRefusals (report: PreflightReport): Finding[] {
    if (report.mode !== 'enforce') return []
    return report.findings.filter(f => f.runtime === true && f.level === 'refuse')
  }

  private async redisFindings (fresh: boolean): Promise<Finding[]> {
    const now = Date.now()
    if (!fresh && this.redisCache !== undefined && now - this.redisCache.at < REDIS_TTL_MS) return this.redisCache.findings
    const settings = await (this.deps.readRedis ?? (async () => await readRedisSettings(this.deps.redis)))()
    const findings = assessRedis(settings)
    this.redisCache = { at: now, findings }
    return findings
  }

  private report (redis: Finding[]): PreflightReport {
    const { config } = this.deps
    const findings = [
      checkPublicUrl(config.publicUrl),
      ...checkSecrets(config.secretsGiven ?? { masterKey: true, apiKeys: true }, config.dataDir),
      checkCallbackSecret(config.callbackSecret),
      ...redis,
      this.clock
    ]
    const outcome = findings.some(f => f.level === 'refuse') ? 'refused' : findings.some(f => f.level === 'warn' || f.level === 'unknown') ? 'warnings' : 'pass'
    return { mode: this.mode, outcome, checkedAt: new Date().toISOString(), findings }
  }
}

type LogLine = (fields: object, message: string) => void
export interface StartLog { warn: LogLine, error: LogLine, info: LogLine }

/**
 * The start's preflight: logs every finding worth a look and answers the refusals that must stop the
 * start (none in warn or sandbox mode). The sandbox runs nothing here.
 */
export async function preflightAtStart (preflight: Preflight, log: StartLog): Promise<Finding[]> {
  if (preflight.mode === 'sandbox') return []
  const report = await preflight.run()
  const refusals: Finding[] = []
  for (const f of report.findings) {
    const fields = { preflight: f.check, finding: f.level }
    if (f.level === 'refuse' && preflight.mode === 'enforce') { refusals.push(f); log.error(fields, `preflight refused: ${f.message}`) } else if (f.level === 'refuse') log.error(fields, `preflight (SPOKE_PREFLIGHT=warn, starting anyway): ${f.message}`)
    else if (f.level === 'warn' || f.level === 'unknown') log.warn(fields, `preflight: ${f.message}`)
    else if (f.level === 'skipped') log.info(fields, `preflight: ${f.message}`)
  }
  return refusals
}
