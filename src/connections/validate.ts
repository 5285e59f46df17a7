// Alias document validation, shared by the file loader and the admin API: the JSON Schema (every error
// listed), the id rules, and the SSRF guard on every URL the alias makes the spoke call.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { SCHEMA_FILES } from '../lib/ajv-options'
import aliasSchema from './alias.schema.json'
import { ALIAS_ID } from './alias-id'
import { urlProblem } from './url-guard'
import type { AliasDocument } from './types'

export interface ValidationIssue { path: string, message: string, params?: unknown }

let compiled: ValidateFunction | undefined
function validator (): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ ...SCHEMA_FILES, allowUnionTypes: true })
    addFormats(ajv)
    compiled = ajv.compile(aliasSchema)
  }
  return compiled
}

function fromAjv (e: ErrorObject): ValidationIssue {
  let path = e.instancePath
  if (e.keyword === 'required') path = `${path}/${(e.params as { missingProperty: string }).missingProperty}`
  if (e.keyword === 'additionalProperties') path = `${path}/${(e.params as { additionalProperty: string }).additionalProperty}`
  return { path: path === '' ? '/' : path, message: e.message ?? 'is invalid', params: e.params }
}

/**
 * Every problem of a document for alias `id` (empty when valid). `allowedHosts` enables the SSRF guard.
 * Checks only the document itself; relations (parent exists) are the store's business.
 */
export function validateAlias (id: string, doc: unknown, allowedHosts: readonly string[]): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  if (!ALIAS_ID.test(id)) issues.push({ path: '/id', message: `alias id "${id}" must match ${ALIAS_ID}` })
  const validate = validator()
  if (!validate(doc)) {
    // `if/then` failures repeat the underlying `required` error; keep the specific one.
    for (const e of validate.errors ?? []) if (e.keyword !== 'if') issues.push(fromAjv(e))
    return issues
  }
  const d = doc as AliasDocument
  if (d.id !== undefined && d.id !== id) issues.push({ path: '/id', message: `must equal the alias id "${id}"` })
  if (d.parent !== undefined && d.parent === id) issues.push({ path: '/parent', message: 'an alias cannot be its own parent' })
  if (d.active !== undefined && d.parent === undefined) issues.push({ path: '/active', message: 'only a child alias (with parent) can be active' })
  const urls: Array<[string, string | undefined]> = [
    ['/connectionUrl', d.connectionUrl],
    ['/credential/tokenUrl', d.credential?.tokenUrl],
    ['/credential/authorizeUrl', d.credential?.authorizeUrl],
    // Only compared with what accessible-resources lists, never called; held to the same rule all the same
    // (an https Atlassian site, *.atlassian.net by default, or an allowed host) so it cannot name an inside host.
    ['/site/url', d.site?.url]
  ]
  for (const [path, url] of urls) {
    if (url === undefined) continue
    const why = urlProblem(url, allowedHosts)
    if (why) issues.push({ path, message: `not allowed: ${why}` })
  }
  if (d.credential?.type === 'oauth2_client_credentials' && d.credential.authorizeUrl !== undefined) {
    issues.push({ path: '/credential/authorizeUrl', message: 'client credentials use no authorize URL' })
  }
  return issues
}

export function formatIssues (issues: ValidationIssue[]): string {
  return issues.map(i => `${i.path} ${i.message}`).join('; ')
}
