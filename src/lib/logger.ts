// One pino configuration for the api and the worker. Redaction covers the places secrets can appear
// (headers, alias documents, token sets, job data); `censorSecrets` is a last line of defence for
// values that reach a log line in a free-text message.
import pino, { type Logger, type LoggerOptions, type DestinationStream } from 'pino'

const SECRET_KEYS = [
  'authorization', 'cookie', 'set-cookie', 'x-api-key',
  'clientSecret', 'client_secret', 'accessToken', 'access_token', 'refreshToken', 'refresh_token',
  'apiKey', 'api_key', 'password', 'token', 'masterKey', 'secret', 'idToken', 'id_token'
]

// pino's redact paths need explicit depth; cover the shapes our objects take (req headers, nested bodies).
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.Authorization',
  ...SECRET_KEYS.flatMap(k => [`${q(k)}`, `*.${q(k)}`, `*.*.${q(k)}`, `*.*.*.${q(k)}`])
]

function q (k: string): string { return /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]` }

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
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
