// Wall-clock time in a named time zone → epoch seconds (CQL dates are read in the site's zone), with Intl
// only: the zone's offset at that instant, corrected once for a DST change between the guess and the answer.

export function zonedToEpochSeconds (year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute) / 1000
  if (timeZone === 'Etc/UTC' || timeZone === 'UTC') return asUtc
  const first = asUtc - offsetSeconds(asUtc, timeZone)
  return asUtc - offsetSeconds(first, timeZone)
}

/** The zone's offset from UTC at an instant, in seconds (east positive). */
export function offsetSeconds (epochSeconds: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(new Date(epochSeconds * 1000))
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value)
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) / 1000
  return wall - epochSeconds
}
