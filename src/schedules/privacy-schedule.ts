// The default personal-data report schedule: an alias gets `privacy-report-<alias>` the first time the spoke
// stores an account for it (an alias that stores none has nothing to report). Created once: an operator who
// deletes or changes it is not overridden. After each cycle it follows the Cycle-Period Atlassian asks for.
// Client-credentials aliases get none (docs/privacy.md: the reporting API is for OAuth 2.0 (3LO) apps).
import type { Logger } from 'pino'
import { AppError } from '../errors/app-error'
import type { ScheduleService } from './schedule-service'

export const PRIVACY_REPORT_ACTION = 'confluence.privacy.report'
const MIN_EVERY_SECONDS = 3600

export function privacyScheduleId (alias: string): string { return `privacy-report-${alias}`.slice(0, 64) }

export interface PrivacyScheduleDeps {
  schedules: ScheduleService
  grantOf: (alias: string) => Promise<string | undefined>
  everySeconds: number
  log: Logger
}

export function privacySchedules (deps: PrivacyScheduleDeps): { onNewAlias: (alias: string) => void, onCycle: (alias: string, period: number | undefined) => void } {
  const exists = async (id: string): Promise<boolean> => await deps.schedules.get(id).then(() => true, (err) => {
    if (err instanceof AppError && err.code === 'SCHEDULE_NOT_FOUND') return false
    throw err
  })
  const warn = (alias: string) => (err: unknown) => deps.log.warn({ err, alias }, 'default personal-data report schedule not set')
  return {
    onNewAlias: (alias) => {
      if (deps.everySeconds === 0) return
      void (async () => {
        if (await deps.grantOf(alias) === 'oauth2_client_credentials') return
        const id = privacyScheduleId(alias)
        if (await exists(id)) return
        await deps.schedules.put(id, { action: PRIVACY_REPORT_ACTION, connection: alias, every: deps.everySeconds })
        deps.log.info({ alias, schedule: id }, 'default personal-data report schedule created')
      })().catch(warn(alias))
    },
    onCycle: (alias, period) => {
      if (period === undefined) return
      const every = Math.max(MIN_EVERY_SECONDS, Math.round(period))
      void (async () => {
        const id = privacyScheduleId(alias)
        const s = await deps.schedules.get(id).catch(() => undefined)
        if (s === undefined || s.action !== PRIVACY_REPORT_ACTION || s.every === undefined || s.every === every) return
        await deps.schedules.put(id, { action: s.action, connection: s.connection, input: s.input, every })
      })().catch(warn(alias))
    }
  }
}
