// SSRF guard for every URL an alias makes the spoke call (connection, token and authorize URLs).
// Rules: https on a host of SPOKE_ALLOWED_HOSTS (exact host, host:port, or `*.suffix` wildcard on the default
// port); plain http only for a host listed explicitly (the configured ATLASSIAN_*_URL hosts always are,
// which is how tests and the sandbox reach the simulator) and never for Atlassian's own hosts; never
// credentials in the URL.

const ATLASSIAN = /(^|\.)atlassian\.(com|net)$/

/** Why `raw` may not be called, or undefined when it may. */
export function urlProblem (raw: string, allowedHosts: readonly string[]): string | undefined {
  let u: URL
  try { u = new URL(raw) } catch { return `"${raw}" is not an absolute URL` }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${u.protocol} URLs are not allowed (https only)`
  if (u.username !== '' || u.password !== '') return 'URLs must not carry credentials'
  const host = u.hostname.toLowerCase()
  const hostPort = u.port === '' ? host : `${host}:${u.port}`
  const listed = allowedHosts.map(h => h.toLowerCase())
  const exact = listed.includes(hostPort) || (u.port === '' && listed.includes(host))
  if (u.protocol === 'http:') {
    if (ATLASSIAN.test(host)) return `Atlassian hosts are https only ("${hostPort}")`
    return exact ? undefined : `http is allowed only for hosts listed explicitly in SPOKE_ALLOWED_HOSTS; "${hostPort}" is not (use https)`
  }
  if (exact) return undefined
  if (u.port === '') {
    for (const h of listed) {
      if (h.startsWith('*.') && !h.includes(':') && host.endsWith(h.slice(1)) && host.length > h.length - 1) return undefined
    }
  }
  return `host "${hostPort}" is not in SPOKE_ALLOWED_HOSTS (${listed.join(', ')})`
}

export function sameOrigin (a: string, b: string): boolean {
  try { return new URL(a).origin === new URL(b).origin } catch { return false }
}
