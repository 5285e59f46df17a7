// Pure: the alias form's fields to and from an alias document. Secrets are never part of the values a form is
// rendered with: a secret field is sent only when the admin typed into it, and an empty one keeps the stored secret.
import type { AliasView } from '../../connections'
import type { AliasDocument, GrantType } from '../../connections/types'
import { field, type FormFields } from './context'

/** The seed guide's default scopes (the shipped connections/confluence_cloud.json). */
export const SEED_SCOPES = ['ace:confluence', 'read:page:confluence', 'search:confluence', 'read:confluence-groups', 'write:confluence-groups', 'read:confluence-user', 'read:me', 'read:account', 'offline_access']
/** The connector's granular read scopes (the shipped connections/confluence_crawl.json; a unit test keeps them equal). */
export const CONNECTOR_SCOPES = ['read:space:confluence', 'read:space.permission:confluence', 'read:page:confluence', 'read:attachment:confluence', 'read:comment:confluence', 'read:folder:confluence', 'read:content.metadata:confluence', 'read:content-details:confluence', 'read:configuration:confluence', 'read:group:confluence', 'read:user:confluence', 'offline_access']

/** `actions` / `granular`: computed from the catalogue (console-scopes.ts); `seed`: the setup guide's set. */
export type ScopeSet = 'actions' | 'granular' | 'seed' | 'connector' | 'custom'
const SCOPE_SETS: readonly ScopeSet[] = ['actions', 'granular', 'seed', 'connector', 'custom']

export interface AliasFormValues {
  id: string
  name: string
  description: string
  parent: string
  active: boolean
  connectionUrl: string
  siteUrl: string
  cloudId: string
  /** '' on a child: use the parent's credential */
  grant: GrantType | ''
  clientId: string
  scopeSet: ScopeSet
  scopes: string
  authorizeUrl: string
  tokenUrl: string
  strategy: string
  maxAttempts: string
  maxElapsedSeconds: string
  delaySeconds: string
  orgId: string
  /** Which secrets are stored (shown as "set"; their values never are). */
  secretSet: boolean
  orgKeySet: boolean
  managedGroups: Array<{ groupId: string, name?: string }>
  managedSpaces: Array<{ spaceId: string, key?: string }>
}

/**
 * A new alias: a child starts inactive (activating one without a token would break every request naming its
 * parent); scopes start from `defaults`, the catalogue's (console-scopes.ts), else the guide's set.
 */
export function newAliasValues (parent = '', defaults?: readonly string[]): AliasFormValues {
  return {
    id: '', name: '', description: '', parent, active: false, connectionUrl: '', siteUrl: '', cloudId: '',
    grant: parent ? '' : 'oauth2_authorization_code', clientId: '', scopeSet: defaults ? 'actions' : 'seed', scopes: (defaults ?? SEED_SCOPES).join('\n'),
    authorizeUrl: '', tokenUrl: '', strategy: 'retry_after', maxAttempts: '4', maxElapsedSeconds: '600', delaySeconds: '',
    orgId: '', secretSet: false, orgKeySet: false, managedGroups: [], managedSpaces: []
  }
}

const str = (v: unknown): string => v === undefined || v === null ? '' : String(v)

export function valuesFromView (v: AliasView): AliasFormValues {
  const c = v.credential
  return {
    id: v.id, name: v.name ?? '', description: v.description ?? '', parent: v.parent ?? '', active: v.active === true,
    connectionUrl: v.connectionUrl ?? '', siteUrl: v.site?.url ?? '', cloudId: v.site?.cloudId ?? '',
    grant: c?.type ?? '', clientId: c?.clientId ?? '', scopeSet: 'custom', scopes: (c?.scopes ?? []).join('\n'),
    authorizeUrl: c?.authorizeUrl ?? '', tokenUrl: c?.tokenUrl ?? '',
    strategy: v.retryPolicy?.strategy ?? '', maxAttempts: str(v.retryPolicy?.maxAttempts), maxElapsedSeconds: str(v.retryPolicy?.maxElapsedSeconds), delaySeconds: str(v.retryPolicy?.delaySeconds),
    orgId: v.orgAdmin?.orgId ?? '', secretSet: v.secrets.clientSecret, orgKeySet: v.secrets.orgAdminApiKey, managedGroups: v.managedGroups ?? [], managedSpaces: v.managedSpaces ?? []
  }
}

/** The values of a submitted form (secrets excluded); what is stored comes from `existing`. */
export function valuesFromForm (form: FormFields, existing?: AliasFormValues): AliasFormValues {
  const set = field(form, 'scopeSet')
  const grant = field(form, 'grant')
  return {
    id: existing?.id ?? field(form, 'id'), name: field(form, 'name'), description: field(form, 'description'), parent: field(form, 'parent'),
    active: field(form, 'active') === 'on', connectionUrl: field(form, 'connectionUrl'), siteUrl: field(form, 'siteUrl'), cloudId: field(form, 'cloudId'),
    grant: grant === 'oauth2_authorization_code' || grant === 'oauth2_client_credentials' ? grant : '',
    clientId: field(form, 'clientId'), scopeSet: SCOPE_SETS.find(x => x === set) ?? 'custom', scopes: field(form, 'scopes'),
    authorizeUrl: field(form, 'authorizeUrl'), tokenUrl: field(form, 'tokenUrl'), strategy: field(form, 'strategy'),
    maxAttempts: field(form, 'maxAttempts'), maxElapsedSeconds: field(form, 'maxElapsedSeconds'), delaySeconds: field(form, 'delaySeconds'),
    orgId: field(form, 'orgId'), secretSet: existing?.secretSet ?? false, orgKeySet: existing?.orgKeySet ?? false, managedGroups: existing?.managedGroups ?? [], managedSpaces: existing?.managedSpaces ?? []
  }
}

export function scopesOf (v: AliasFormValues): string[] {
  if (v.scopeSet === 'seed') return SEED_SCOPES
  if (v.scopeSet === 'connector') return CONNECTOR_SCOPES
  return listOf(v.scopes)
}

const listOf = (text: string): string[] => [...new Set(text.split(/[\s,]+/).filter(Boolean))]
const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join(' ') === [...b].sort().join(' ')

/**
 * The scope list a submitted form means, as a `custom` list. A preset wins unless the list box was edited by
 * hand (it holds none of the presets): then the typed list is what the admin meant, whatever radio stayed on.
 */
export function resolveScopes (v: AliasFormValues, presets: { actions: readonly string[], granular: readonly string[] }): AliasFormValues & { scopesTypedOverPreset: boolean } {
  const lists: Record<Exclude<ScopeSet, 'custom'>, readonly string[]> = { ...presets, seed: SEED_SCOPES, connector: CONNECTOR_SCOPES }
  const typed = listOf(v.scopes)
  if (v.scopeSet === 'custom') return { ...v, scopesTypedOverPreset: false }
  const edited = typed.length > 0 && !Object.values(lists).some(l => sameList(l, typed))
  // A client-credentials token has no refresh token: Atlassian refuses offline_access in that grant.
  const scopes = edited ? typed : lists[v.scopeSet].filter(s => v.grant !== 'oauth2_client_credentials' || s !== 'offline_access')
  return { ...v, scopeSet: 'custom', scopes: scopes.join('\n'), scopesTypedOverPreset: edited }
}

/** A number field: the number, the text itself when it is not one (so validation names it), or undefined when empty. */
function num (s: string): number | string | undefined {
  if (s === '') return undefined
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s
}

/** The alias document to save; `clientSecret` / `orgApiKey` only when typed (empty keeps the stored one). */
export function docFromValues (v: AliasFormValues, secrets: { clientSecret?: string, orgApiKey?: string } = {}): AliasDocument {
  const doc: AliasDocument = { name: v.name }
  if (v.description) doc.description = v.description
  if (v.parent) { doc.parent = v.parent; doc.active = v.active }
  if (v.connectionUrl) doc.connectionUrl = v.connectionUrl
  if (v.siteUrl || v.cloudId) doc.site = { ...(v.cloudId ? { cloudId: v.cloudId } : {}), ...(v.siteUrl ? { url: v.siteUrl } : {}) }
  if (v.grant) {
    doc.credential = {
      type: v.grant,
      ...(v.clientId ? { clientId: v.clientId } : {}),
      ...(secrets.clientSecret ? { clientSecret: secrets.clientSecret } : {}),
      scopes: scopesOf(v),
      ...(v.authorizeUrl && v.grant === 'oauth2_authorization_code' ? { authorizeUrl: v.authorizeUrl } : {}),
      ...(v.tokenUrl ? { tokenUrl: v.tokenUrl } : {})
    }
  }
  const retry = { strategy: v.strategy || undefined, maxAttempts: num(v.maxAttempts), maxElapsedSeconds: num(v.maxElapsedSeconds), delaySeconds: num(v.delaySeconds) }
  const retryPolicy = Object.fromEntries(Object.entries(retry).filter(([, x]) => x !== undefined))
  if (Object.keys(retryPolicy).length > 0) doc.retryPolicy = retryPolicy as AliasDocument['retryPolicy']
  if (v.managedGroups.length > 0) doc.managedGroups = v.managedGroups
  if (v.managedSpaces.length > 0) doc.managedSpaces = v.managedSpaces
  if (v.orgId || secrets.orgApiKey) doc.orgAdmin = { ...(v.orgId ? { orgId: v.orgId } : {}), ...(secrets.orgApiKey ? { apiKey: secrets.orgApiKey } : {}) }
  return doc
}
