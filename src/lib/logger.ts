// One pino configuration for the api and the worker. Secrets are censored by key name at any depth,
// and only when a line is actually written: pino's path-based `redact` would need a path per depth and
// runs on every per-request child logger, which costs more than the rest of a request's logging.
import pino, { type Logger, type LoggerOptions, type DestinationStream } from 'pino'

/** Keys whose values never reach a log line, compared lower-cased with `-` and `_` removed. */
const SECRET_KEYS = new Set([
  'authorization', 'proxyauthorization', 'cookie', 'setcookie', 'xapikey',
  'clientsecret', 'accesstoken', 'refreshtoken', 'idtoken', 'token', 'apikey', 'password', 'secret',
  'masterkey', 'callbacksecret', 'assertion'
])
const CENSOR = '[redacted]'
const MAX_DEPTH = 8

function isSecretKey (key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''))
}

/** A copy of `value` with every secret-named key censored; untouched values are shared, not copied. */
export function censorSecrets (value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const v = censorSecrets(value[i], depth + 1)
      if (v !== value[i]) { out ??= value.slice(); out[i] = v }
    }
    return out ?? value
  }
  if (Buffer.isBuffer(value) || value instanceof Date) return value
  let out: Record<string, unknown> | undefined
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key]
    const next = isSecretKey(key) && v !== undefined && v !== null && typeof v !== 'object' ? CENSOR : censorSecrets(v, depth + 1)
    if (next !== v) { out ??= { ...(value as Record<string, unknown>) }; out[key] = next }
  }
  return out ?? value
}

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    formatters: {
      log: (obj) => censorSecrets(obj) as Record<string, unknown>,
      bindings: (b) => censorSecrets(b) as Record<string, unknown>
    },
    serializers: {
      err: pino.stdSerializers.err,
      req: (req: { method?: string, url?: string, id?: string }) => ({ method: req.method, url: redactUrl(req.url), id: req.id }),
      res: pino.stdSerializers.res
    },
    base: { service: 'confluence-spoke' }
  }
}

export function createLogger (level: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level))
}

/** Query strings can carry OAuth codes and states: keep the path, mask the values. */
export function redactUrl (url: string | undefined): string | undefined {
  if (!url) return url
  const i = url.indexOf('?')
  if (i < 0) return url
  const params = new URLSearchParams(url.slice(i + 1))
  for (const key of [...params.keys()]) {
    if (/code|state|token|secret|key|password/i.test(key)) params.set(key, '[redacted]')
  }
  return `${url.slice(0, i)}?${params.toString()}`
}
