// When a schedule fires: `every` (seconds, or an ISO 8601 duration such as PT5M) or `cron` (five or six
// fields, in `timezone`, default UTC), exactly one of them. Checked here so a bad value is a 400 at PUT time,
// never a scheduler that silently does nothing. Cron expressions are parsed by BullMQ's own parser.
import { getNextMillis } from 'bullmq'
import { RequestInvalidError } from '../errors/errors'

export const MIN_EVERY_SECONDS = 1
export const MAX_EVERY_SECONDS = 366 * 86400

export interface Timing { every?: number, cron?: string, timezone?: string }

function invalid (path: string, message: string): InstanceType<typeof RequestInvalidError> {
  return new RequestInvalidError(`${path.slice(1)}: ${message}`, { errors: [{ in: 'body', path, message }] })
}

/** Seconds from a number of seconds or an ISO 8601 duration (PnW, PnDTnHnMnS). */
export function everySeconds (value: number | string): number {
  let seconds: number
  if (typeof value === 'number') seconds = value
  else {
    const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value)
    if (m === null || value === 'P' || value.endsWith('T')) throw invalid('/every', `"${value}" is neither a number of seconds nor an ISO 8601 duration (e.g. PT5M)`)
    const [w, d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0))
    seconds = (((w * 7 + d) * 24 + h) * 60 + min) * 60 + s
  }
  if (!Number.isFinite(seconds) || seconds < MIN_EVERY_SECONDS || seconds > MAX_EVERY_SECONDS) {
    throw invalid('/every', `must be between ${MIN_EVERY_SECONDS} s and ${MAX_EVERY_SECONDS} s`)
  }
  return seconds
}

/** The normalised timing of a schedule body (every in seconds), or a REQUEST_INVALID naming the field. */
export function checkTiming (body: { every?: number | string, cron?: string, timezone?: string }): Timing {
  if ((body.every === undefined) === (body.cron === undefined)) throw invalid('/every', 'give exactly one of every and cron')
  if (body.every !== undefined) {
    if (body.timezone !== undefined) throw invalid('/timezone', 'only applies to cron')
    return { every: everySeconds(body.every) }
  }
  const timezone = body.timezone
  if (timezone !== undefined) {
    try { new Intl.DateTimeFormat('en-US', { timeZone: timezone }) } catch { throw invalid('/timezone', `unknown time zone "${timezone}"`) }
  }
  let next: number | undefined
  try { next = getNextMillis(Date.now(), { pattern: body.cron, ...(timezone !== undefined ? { tz: timezone } : {}) }) } catch (err) {
    throw invalid('/cron', `does not parse (${err instanceof Error ? err.message : String(err)})`)
  }
  if (next === undefined) throw invalid('/cron', 'never fires')
  return { cron: body.cron, ...(timezone !== undefined ? { timezone } : {}) }
}

/** BullMQ repeat options of a timing. */
export function repeatOptions (t: Timing): { every: number } | { pattern: string, tz?: string } {
  return t.every !== undefined ? { every: t.every * 1000 } : { pattern: t.cron as string, ...(t.timezone !== undefined ? { tz: t.timezone } : {}) }
}
