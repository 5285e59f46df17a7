// The incremental window: CQL `lastmodified` is minute-granular and read in the site's time zone, so the
// lower bound steps back by an overlap and both bounds are written as wall-clock time in that zone. The
// upper bound is the run's start, frozen in its checkpoint.
import type { HandlerContext } from '../actions/handlers/types'

export const OVERLAP_MS = 5 * 60_000

/** The site's default time zone (systemInfo), or UTC when it cannot be read. */
export async function siteTimeZone (call: HandlerContext['call'], signal?: AbortSignal): Promise<string> {
  try {
    const res = await call({ method: 'GET', path: '/wiki/rest/api/settings/systemInfo', signal })
    const zone = (res.body as { defaultTimeZone?: unknown } | null)?.defaultTimeZone
    if (typeof zone === 'string' && zone !== '') { new Intl.DateTimeFormat('en-US', { timeZone: zone }); return zone }
  } catch { /* fall through */ }
  return 'UTC'
}

/** `yyyy-MM-dd HH:mm` of an instant in a time zone. */
export function cqlTime (at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(at)
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '00'
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`
}

/** The CQL clause naming a space: by key, or by id when the answer gave no key. */
export function spaceCql (space: { id: string, key: string }): string {
  return space.key !== '' ? `space = "${space.key.replace(/["\\]/g, '')}"` : `space.id = ${space.id.replace(/[^0-9]/g, '') || '0'}`
}

export function windowCql (space: { id: string, key: string }, kind: 'page' | 'blogpost', since: string, until: string, timeZone: string): string {
  const from = cqlTime(new Date(Date.parse(since) - OVERLAP_MS), timeZone)
  const to = cqlTime(new Date(until), timeZone)
  return `${spaceCql(space)} and type = ${kind} and lastmodified >= "${from}" and lastmodified <= "${to}" order by lastmodified asc`
}
