// The console's pure parts: escaping, the form ↔ alias document mapping (secrets write-only), the scope sets kept
// equal to the shipped alias files, the words shown instead of API paths, and where sign-in goes next.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { h, when, withoutApiPaths } from '../../src/routes/admin/html'
import { CONNECTOR_SCOPES, SEED_SCOPES, docFromValues, newAliasValues, valuesFromForm } from '../../src/routes/admin/alias-form-doc'
import { afterSignIn } from '../../src/routes/admin/sign-in'
import { tokenState } from '../../src/routes/admin/alias-status'

const scopesOf = (file: string): string[] => JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'connections', file), 'utf8')).credential.scopes

it('escapes every interpolated value, but not nested markup built by h', () => {
  const evil = '"><script>alert(1)</script>'
  expect(h`<td title="${evil}">${evil}</td>`.text).toBe('<td title="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;">&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;</td>')
  expect(h`<ul>${['a&b', h`<li>${'<x>'}</li>`]}</ul>`.text).toBe('<ul>a&#38;b<li>&#60;x&#62;</li></ul>')
  expect(h`${undefined}${null}${false}${0}`.text).toBe('0')
})

it('shows times with their time zone and how far away they are', () => {
  const now = Date.parse('2025-01-30T12:00:00Z')
  expect(when('2025-01-30T14:03:05Z', now).text).toContain('30 Jan 2025, 14:03:05 UTC')
  expect(when('2025-01-30T14:03:05Z', now).text).toContain('in 2 h')
  expect(when('2025-01-30T11:50:00Z', now).text).toContain('10 min ago')
  expect(when(null, now).text).toContain('—')
})

it('keeps the scope sets one click away equal to the shipped alias files', () => {
  expect(SEED_SCOPES).toEqual(scopesOf('confluence_cloud.json'))
  expect(CONNECTOR_SCOPES).toEqual(scopesOf('confluence_crawl.json'))
})

it('maps the form to an alias document; secrets only when typed', () => {
  const form = {
    _csrf: 'x', id: 'acme', name: 'Acme', parent: '', grant: 'oauth2_authorization_code', clientId: 'cid', clientSecret: '',
    scopeSet: 'custom', scopes: 'read:page:confluence\nsearch:confluence  offline_access', strategy: 'retry_after', maxAttempts: '4',
    maxElapsedSeconds: '600', delaySeconds: '', orgId: '', siteUrl: 'https://acme.atlassian.net', cloudId: '', connectionUrl: ''
  }
  const v = valuesFromForm(form)
  expect(docFromValues(v)).toEqual({
    name: 'Acme',
    site: { url: 'https://acme.atlassian.net' },
    credential: { type: 'oauth2_authorization_code', clientId: 'cid', scopes: ['read:page:confluence', 'search:confluence', 'offline_access'] },
    retryPolicy: { strategy: 'retry_after', maxAttempts: 4, maxElapsedSeconds: 600 }
  })
  expect(docFromValues(v, { clientSecret: 's3cr3t', orgApiKey: 'k' }).credential?.clientSecret).toBe('s3cr3t')
  expect(docFromValues({ ...v, scopeSet: 'connector' }).credential?.scopes).toEqual(CONNECTOR_SCOPES)
  expect(docFromValues({ ...newAliasValues('confluence_cloud'), name: 'Child' })).toMatchObject({ parent: 'confluence_cloud', active: false }) // a child starts inactive
  expect(docFromValues({ ...newAliasValues('confluence_cloud'), name: 'Child' }).credential).toBeUndefined()
})

it('offers steps instead of API paths', () => {
  expect(withoutApiPaths('Alias "x" has no authorized token. An admin must run "Get OAuth Token": open GET /v1/connections/x/authorize and approve the consent.'))
    .toBe('Alias "x" has no authorized token. An admin must run "Get OAuth Token".')
  expect(withoutApiPaths('No connection alias "x" (GET /v1/connections lists them)')).toBe('No connection alias "x"')
  expect(withoutApiPaths('An admin must check credential.clientSecret: PUT /v1/connections/x.')).toBe('An admin must check credential.clientSecret.')
})

it('reaches a destination off the console through the continue page', () => {
  expect(afterSignIn('/admin')).toBe('/admin')
  expect(afterSignIn('/admin/aliases/x')).toBe('/admin/aliases/x')
  expect(afterSignIn('/v1/connections/x/authorize')).toBe('/admin/continue?next=%2Fv1%2Fconnections%2Fx%2Fauthorize')
  expect(afterSignIn('/administrator')).toBe('/admin/continue?next=%2Fadministrator')
})

it('never shows a future "until" for a refused token, nor for one that needs consent', () => {
  const future = new Date(Date.now() + 3600_000).toISOString()
  const alias = (status: string, extra = {}): any => ({ id: 'x', credential: { type: 'oauth2_authorization_code' }, problems: [], token: { status, expiresAt: future, grantedScopes: [], lastRefreshAt: null, ...extra } })
  expect(tokenState(alias('active')).text).toContain('token valid until')
  expect(tokenState(alias('refresh_failed', { error: 'invalid_grant' })).text).not.toContain('until')
  expect(tokenState(alias('refresh_failed', { error: 'invalid_grant' })).text).toContain('Refresh refused')
  expect(tokenState(alias('needs_consent', { consentError: 'the token endpoint refused the client id or client secret' })).text).toContain('Last "Get OAuth Token" failed')
})

// ---- issue 26: the admin's first hour ----------------------------------------------------------------------
import { catalogueScopes, flagScopes } from '../../src/routes/admin/console-scopes'
import { resolveScopes } from '../../src/routes/admin/alias-form-doc'
import { formIssues, inWords, predictClears } from '../../src/routes/admin/alias-checks'
import { hiddenSecrets } from '../../src/routes/admin/jobs'
import { formPageOf } from '../../src/routes/admin/errors'

const ACTIONS = [
  { id: 'group.add', scopes: [['write:confluence-groups', 'read:confluence-user'], ['write:group:confluence', 'read:user:confluence']] },
  { id: 'crawl', scopes: [['read:space:confluence', 'read:page:confluence']] },
  { id: 'site.list', scopes: [] }
]

it('computes the default scopes from the catalogue and flags the ones no action uses', () => {
  expect(catalogueScopes(ACTIONS, 'classic')).toEqual(['read:confluence-user', 'read:page:confluence', 'read:space:confluence', 'write:confluence-groups', 'offline_access'])
  expect(catalogueScopes(ACTIONS, 'granular', false)).toEqual(['read:page:confluence', 'read:space:confluence', 'read:user:confluence', 'write:group:confluence'])
  expect(flagScopes(['ace:confluence', 'read:me', 'offline_access', 'not a scope', 'read:page:confluence'], ACTIONS).map(f => f.scope)).toEqual(['ace:confluence', 'not a scope'])
  expect(flagScopes(['offline_access'], ACTIONS, 'oauth2_client_credentials').map(f => f.scope)).toEqual(['offline_access'])
})

it('uses the scope list as typed when it was edited under a preset (the scope box trap), the preset otherwise', () => {
  const presets = { actions: ['a:confluence', 'offline_access'], granular: ['b:c:confluence'] }
  const v = { ...newAliasValues('', presets.actions), scopeSet: 'seed' as const }
  expect(resolveScopes({ ...v, scopes: presets.actions.join('\n') }, presets)).toMatchObject({ scopeSet: 'custom', scopes: SEED_SCOPES.join('\n'), scopesTypedOverPreset: false })
  expect(resolveScopes({ ...v, scopes: 'read:me x:confluence' }, presets)).toMatchObject({ scopeSet: 'custom', scopes: 'read:me\nx:confluence', scopesTypedOverPreset: true })
  expect(resolveScopes({ ...v, scopeSet: 'actions', grant: 'oauth2_client_credentials', scopes: presets.actions.join(' ') }, presets).scopes).toBe('a:confluence')
})

it('names validation problems in words, by field label', () => {
  expect(inWords('must NOT have fewer than 1 characters')).toBe('is required: fill it in')
  expect(inWords('must be integer')).toBe('must be a whole number')
  expect(inWords('must be <= 20')).toBe('must be at most 20')
  expect(formIssues([{ path: '/retryPolicy/maxAttempts', message: 'must be <= 20' }, { path: '/credential/scopes/0', message: 'must match pattern "^x"' }]))
    .toEqual([{ path: '/retryPolicy/maxAttempts', field: 'maxAttempts', label: 'Max attempts', message: 'must be at most 20' },
      { path: '/credential/scopes/0', field: 'scopes', label: 'Scopes', message: 'has characters that are not allowed here' }])
})

it('predicts what an edit clears: the secret for another client or token URL, the token when the credential changes', () => {
  const before: any = {
    id: 'x', credential: { type: 'oauth2_client_credentials', clientId: 'cid', scopes: ['s'] }, secrets: { clientSecret: true, orgAdminApiKey: false },
    token: { status: 'active', lastRefreshAt: '2026-01-01T00:00:00Z', grantedScopes: [] }, boundSite: null
  }
  const same = { ...newAliasValues(), grant: 'oauth2_client_credentials' as const, clientId: 'cid' }
  expect(predictClears(before, same, {})).toEqual([])
  const clears = predictClears(before, { ...same, tokenUrl: 'https://auth.example/oauth/token' }, {})
  expect(clears).toHaveLength(2)
  expect(clears[0]).toMatch(/^the stored client secret: the token URL changed/)
  expect(clears[1]).toMatch(/^the stored token and the consent/)
  expect(predictClears(before, { ...same, tokenUrl: 'https://auth.example/oauth/token' }, { clientSecret: 'typed' })).toHaveLength(1) // the token only
})

it('hides secret-looking job inputs, and keeps drafts only of the alias forms', () => {
  expect(hiddenSecrets({ a: 1, clientSecret: 's', nested: [{ apiKey: 'k', token: 't', name: 'n' }] })).toEqual({ a: 1, clientSecret: '(hidden)', nested: [{ apiKey: '(hidden)', token: '(hidden)', name: 'n' }] })
  expect(formPageOf('/admin/aliases')).toBe('/admin/aliases/new')
  expect(formPageOf('/admin/aliases/acme/edit?x=1')).toBe('/admin/aliases/acme/edit')
  expect(formPageOf('/admin/aliases/acme/test')).toBeUndefined()
})
