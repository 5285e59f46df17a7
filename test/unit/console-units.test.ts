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
