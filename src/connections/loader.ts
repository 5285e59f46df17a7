// connections/*.json: one alias per file, file name = alias id. Secrets appear only as `${ENV_NAME}`
// placeholders, resolved from the environment at load. An unset variable does not stop the start: the
// field is left out and the alias is listed as needing configuration — unless the field is optional (it
// has a fallback: without an org admin key, emails come from profiles), then it is only left out. A file that is not valid JSON or
// fails the alias schema stops the start with the file name and every reason.
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { AliasDocument, Unresolved } from './types'
import { formatIssues, validateAlias } from './validate'

export interface LoadedAlias { id: string, file: string, doc: AliasDocument, unresolved: Unresolved[] }

export class AliasFileError extends Error {
  constructor (readonly file: string, reason: string) {
    super(`Invalid connection file ${file}: ${reason}`)
    this.name = 'AliasFileError'
  }
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g
const SECRET_FIELDS = ['credential.clientSecret', 'orgAdmin.apiKey']
/** Fields the alias works without: an unset placeholder there is reported as optional, not as a problem. */
export const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(['orgAdmin.orgId', 'orgAdmin.apiKey'])

/** Replace `${NAME}` in every string; a string with an unset variable is removed and reported. */
export function substitute (value: unknown, env: Record<string, string | undefined>, path = '', unresolved: Unresolved[] = []): unknown {
  if (typeof value === 'string') {
    let missing: string | undefined
    const out = value.replace(PLACEHOLDER, (_m, name: string) => {
      const v = env[name]
      if (v === undefined || v === '') { missing ??= name; return '' }
      return v
    })
    if (missing !== undefined) { unresolved.push({ field: path, variable: missing, ...(OPTIONAL_FIELDS.has(path) ? { optional: true as const } : {}) }); return undefined }
    return out
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => substitute(v, env, `${path}[${i}]`, unresolved)).filter(v => v !== undefined)
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const s = substitute(v, env, path === '' ? k : `${path}.${k}`, unresolved)
      if (s !== undefined) out[k] = s
    }
    return out
  }
  return value
}

function get (obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj)
}

export function loadAliasFile (file: string, allowedHosts: readonly string[], env: Record<string, string | undefined> = process.env): LoadedAlias {
  const id = basename(file, '.json')
  let raw: unknown
  try { raw = JSON.parse(readFileSync(file, 'utf8')) } catch (err) {
    throw new AliasFileError(file, `not valid JSON (${(err as Error).message})`)
  }
  for (const field of SECRET_FIELDS) {
    const v = get(raw, field)
    if (typeof v === 'string' && !/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(v.trim())) {
      throw new AliasFileError(file, `${field} must be a \${ENV_NAME} placeholder: secrets do not belong in files`)
    }
  }
  const unresolved: Unresolved[] = []
  const doc = substitute(raw, env, '', unresolved) as AliasDocument
  const issues = validateAlias(id, doc, allowedHosts)
  if (issues.length > 0) throw new AliasFileError(file, formatIssues(issues))
  return { id, file, doc, unresolved }
}

/** Every `*.json` of the directory, sorted by name; a missing directory is an empty list. */
export function loadAliasFiles (dir: string, allowedHosts: readonly string[], env: Record<string, string | undefined> = process.env): LoadedAlias[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter(f => f.endsWith('.json') && !f.startsWith('.'))
    .sort()
    .map(f => loadAliasFile(join(dir, f), allowedHosts, env))
}
