// Pure: what the alias form says before it saves. Validation problems in words, each linked to its field (all of
// them at once), and what a save would clear — the stored secret, the token and consent, the org key, the bound
// site — following the alias layer's rules (connections/alias-service.ts: a secret is kept only for the same
// client and token URL; tokens only while the credential's identity stays the same), so the admin can confirm.
import type { AliasView } from '../../connections'
import type { ValidationIssue } from '../../connections/validate'
import type { AliasFormValues } from './alias-form-doc'
import type { FormIssue } from './alias-form-view'

const FIELDS: Array<[RegExp, string, string]> = [
  [/^\/id$/, 'id', 'Alias id'],
  [/^\/name$/, 'name', 'Connection name'],
  [/^\/description$/, 'description', 'Description'],
  [/^\/(parent|active)$/, 'parent', 'Parent alias'],
  [/^\/connectionUrl$/, 'connectionUrl', 'Connection URL'],
  [/^\/site\/url$/, 'siteUrl', 'Site URL'],
  [/^\/site(\/cloudId)?$/, 'cloudId', 'Site cloudId'],
  [/^\/credential(\/type)?$/, 'grant', 'Grant type'],
  [/^\/credential\/clientId$/, 'clientId', 'Client ID'],
  [/^\/credential\/clientSecret$/, 'clientSecret', 'Client secret'],
  [/^\/credential\/scopes(\/\d+)?$/, 'scopes', 'Scopes'],
  [/^\/credential\/authorizeUrl$/, 'authorizeUrl', 'Authorize URL'],
  [/^\/credential\/tokenUrl$/, 'tokenUrl', 'Token URL'],
  [/^\/retryPolicy\/strategy$/, 'strategy', 'Retry strategy'],
  [/^\/retryPolicy\/maxAttempts$/, 'maxAttempts', 'Max attempts'],
  [/^\/retryPolicy\/maxElapsedSeconds$/, 'maxElapsedSeconds', 'Max elapsed seconds'],
  [/^\/retryPolicy\/delaySeconds$/, 'delaySeconds', 'Delay seconds'],
  [/^\/orgAdmin\/orgId$/, 'orgId', 'Organization id'],
  [/^\/orgAdmin\/apiKey$/, 'orgApiKey', 'Organization admin API key']
]

/** The schema's wording (ajv) in plain words. */
export function inWords (message: string): string {
  const m = (re: RegExp): RegExpExecArray | null => re.exec(message)
  let r: RegExpExecArray | null
  if (/must NOT have fewer than 1 characters|must have required property/.test(message)) return 'is required: fill it in'
  if ((r = m(/must NOT have more than (\d+) characters/)) !== null) return `is too long (at most ${r[1]} characters)`
  if ((r = m(/must NOT have fewer than (\d+) characters/)) !== null) return `is too short (at least ${r[1]} characters)`
  if (/must match format "uri"|must match format "url"/.test(message)) return 'is not a full URL (it must start with https://)'
  if ((r = m(/must be <= (\S+)/)) !== null) return `must be at most ${r[1]}`
  if ((r = m(/must be >= (\S+)/)) !== null) return `must be at least ${r[1]}`
  if (/must be integer|must be number/.test(message)) return 'must be a whole number'
  if (/must match pattern/.test(message)) return 'has characters that are not allowed here'
  if (/must be equal to one of the allowed values/.test(message)) return 'is not one of the choices'
  if (/must NOT have fewer than 1 items/.test(message)) return 'needs at least one entry'
  if (/must NOT have duplicate items/.test(message)) return 'lists a value twice'
  if (/must NOT have additional properties/.test(message)) return 'is not a field of an alias'
  return message
}

/** Issues of the alias layer, each named by its field's label (the path when no field matches). */
export function formIssues (issues: readonly ValidationIssue[]): FormIssue[] {
  const out: FormIssue[] = []
  for (const i of issues) {
    const f = FIELDS.find(([re]) => re.test(i.path))
    const issue: FormIssue = f ? { path: i.path, field: f[1], label: f[2], message: inWords(i.message) } : { path: i.path === '/' ? '' : i.path, message: inWords(i.message) }
    if (!out.some(o => o.field === issue.field && o.path === issue.path && o.message === issue.message)) out.push(issue)
  }
  return out
}

/** The console's own checks, reported together with the schema's. */
export function localIssues (v: AliasFormValues, isNew: boolean, idPattern: RegExp, exists: boolean): FormIssue[] {
  const out: FormIssue[] = []
  if (isNew && v.id === '') out.push({ path: '/id', field: 'id', label: 'Alias id', message: 'is required: fill it in' })
  else if (isNew && !idPattern.test(v.id)) out.push({ path: '/id', field: 'id', label: 'Alias id', message: 'must start with a lower-case letter; then lower-case letters, digits, _ or - (at most 63)' })
  else if (isNew && exists) out.push({ path: '/id', field: 'id', label: 'Alias id', message: `an alias "${v.id}" exists already: choose another id, or edit that alias` })
  if (v.grant !== '' && v.grant !== undefined && v.scopeSet === 'custom' && v.scopes.trim() === '') out.push({ path: '/credential/scopes', field: 'scopes', label: 'Scopes', message: 'the list is empty: choose a set or type the scopes' })
  return out
}

const slash = (u: string | undefined): string => !u ? '' : u.endsWith('/') ? u : `${u}/`

/** What saving `after` over `before` would clear, in words (empty: nothing). */
export function predictClears (before: AliasView, after: AliasFormValues, typed: { clientSecret?: string, orgApiKey?: string }): string[] {
  const c = before.credential
  const out: string[] = []
  const changed: string[] = []
  if ((c?.type ?? '') !== after.grant) changed.push('the grant type')
  if ((c?.clientId ?? '') !== after.clientId) changed.push('the client ID')
  if ((c?.tokenUrl ?? '') !== after.tokenUrl) changed.push('the token URL')
  if (before.secrets.clientSecret && typed.clientSecret === undefined && (changed.length > 0 || after.grant === '')) {
    out.push(`the stored client secret: ${changed.join(', ') || 'the credential'} changed, and a secret is kept only for the same client and token URL. Type the secret again in "Client secret" to keep it working.`)
  }
  const identity = [...changed]
  if (slash(before.connectionUrl) !== slash(after.connectionUrl)) identity.push('the connection URL')
  const hasToken = before.token.lastRefreshAt !== null && before.token.lastRefreshAt !== undefined
  if (hasToken && identity.length > 0) {
    out.push(`the stored token and the consent (${identity.join(', ')} changed): the alias needs "Get OAuth Token" again, and requests naming it fail until then.`)
  }
  if (before.secrets.orgAdminApiKey && typed.orgApiKey === undefined && (before.orgAdmin?.orgId ?? '') !== after.orgId) {
    out.push('the stored organization admin API key: the organization id changed. Type the key again to keep it.')
  }
  if (before.boundSite && ((before.site?.url ?? '') !== after.siteUrl || (before.site?.cloudId ?? '') !== after.cloudId)) {
    out.push(`the bound site ${before.boundSite.url}: the configured site changed, so it is chosen again on the next consent or call.`)
  }
  return out
}
