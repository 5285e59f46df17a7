// Pure parts of the connection layer: sealing, the SSRF guard, ${ENV} placeholders and alias files, the
// effective alias and its views, URL building and the upstream error mapping, the missing-scopes report.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Keyring, keyId, previousKeysFromEnv } from '../../src/lib/crypto'
import { urlProblem } from '../../src/connections/url-guard'
import { loadAliasFile, loadAliasFiles, substitute } from '../../src/connections/loader'
import { validateAlias } from '../../src/connections/validate'
import { sameSite } from '../../src/connections/oauth-client'
import { credentialIdentity, DEFAULT_RETRY_POLICY, effectiveAlias } from '../../src/connections/effective-alias'
import { aliasView, tokenView } from '../../src/connections/alias-view'
import type { AliasRecord } from '../../src/connections/types'
import { buildUrl, queryString, sanitize, upstreamError, upstreamMessage } from '../../src/confluence/client'
import { missingScopes } from '../../src/actions/connection-checks'

const ALLOWED = ['auth.atlassian.com', 'api.atlassian.com', '*.atlassian.net', '127.0.0.1:4010']

describe('sealed secrets', () => {
  const k1 = randomBytes(32)
  const k2 = randomBytes(32)

  it('round-trips, carries the key id, and never shows the plaintext', () => {
    const ring = new Keyring(k1)
    const sealed = ring.seal('rt_super_secret', 'conn:a:tokens')
    expect(sealed.startsWith(`sv1.${keyId(k1)}.`)).toBe(true)
    expect(sealed).not.toContain('rt_super_secret')
    expect(ring.open(sealed, 'conn:a:tokens')).toBe('rt_super_secret')
    expect(ring.seal('x')).not.toBe(ring.seal('x')) // fresh IV
  })

  it('refuses a tampered value, another context, or an unknown key', () => {
    const ring = new Keyring(k1)
    const sealed = ring.seal('secret', 'conn:a:clientSecret')
    expect(() => ring.open(sealed, 'conn:b:clientSecret')).toThrow(/does not open/)
    const parts = sealed.split('.')
    parts[4] = Buffer.from('tampered').toString('base64url')
    expect(() => ring.open(parts.join('.'), 'conn:a:clientSecret')).toThrow(/does not open/)
    expect(() => new Keyring(k2).open(sealed, 'conn:a:clientSecret')).toThrow(/unknown key/)
    expect(() => ring.open('plain text')).toThrow(/not a sealed value/)
  })

  it('rotates keys: the previous key still opens, reseal moves to the current key', () => {
    const old = new Keyring(k1).seal('v', 'c')
    const ring = new Keyring(k2, [k1])
    expect(ring.open(old, 'c')).toBe('v')
    const moved = ring.reseal(old, 'c')
    expect(ring.kidOf(moved)).toBe(keyId(k2))
    expect(new Keyring(k2).open(moved, 'c')).toBe('v')
    expect(previousKeysFromEnv({ SPOKE_MASTER_KEY_PREVIOUS: `${k1.toString('base64')}, ${k2.toString('base64')}` })).toHaveLength(2)
    expect(() => previousKeysFromEnv({ SPOKE_MASTER_KEY_PREVIOUS: 'c2hvcnQ=' })).toThrow(/32 bytes/)
  })
})

describe('SSRF guard', () => {
  it.each([
    ['https://api.atlassian.com/', undefined],
    ['https://acme.atlassian.net/wiki', undefined],
    ['https://a.b.atlassian.net/', undefined],
    ['http://127.0.0.1:4010/oauth/token', undefined],
    ['https://127.0.0.1:4010/', undefined],
    ['http://api.atlassian.com/', 'https only'],
    ['http://acme.atlassian.net/', 'https only'],
    ['https://acme.atlassian.net:8443/', 'not in SPOKE_ALLOWED_HOSTS'],
    ['https://atlassian.net/', 'not in SPOKE_ALLOWED_HOSTS'],
    ['https://evilatlassian.net/', 'not in SPOKE_ALLOWED_HOSTS'],
    ['http://127.0.0.1:4011/', 'http is allowed only'],
    ['http://localhost:4010/', 'http is allowed only'],
    ['https://me:pw@api.atlassian.com/', 'credentials'],
    ['ftp://api.atlassian.com/', 'https only'],
    ['file:///etc/passwd', 'https only'],
    ['not a url', 'not an absolute URL']
  ])('%s', (url, why) => {
    const p = urlProblem(url, ALLOWED)
    if (why === undefined) expect(p).toBeUndefined()
    else expect(p).toContain(why)
  })
})

describe('alias files', () => {
  it('substitutes ${ENV} and reports unset variables without failing', () => {
    const unresolved: Array<{ field: string, variable: string }> = []
    const out = substitute({ credential: { clientId: '${A}', clientSecret: '${B}' }, name: 'x-${A}' }, { A: 'one' }, '', unresolved)
    expect(out).toEqual({ credential: { clientId: 'one' }, name: 'x-one' })
    expect(unresolved).toEqual([{ field: 'credential.clientSecret', variable: 'B' }])
  })

  it('loads the shipped confluence_cloud.json with and without its variables', () => {
    const file = join(__dirname, '../../connections/confluence_cloud.json')
    const bare = loadAliasFile(file, ALLOWED, {})
    expect(bare.id).toBe('confluence_cloud')
    expect(bare.doc.credential).toMatchObject({ type: 'oauth2_authorization_code' })
    expect(bare.doc.credential?.clientId).toBeUndefined()
    expect(bare.unresolved.map(u => u.variable).sort()).toEqual(['CONFLUENCE_CLIENT_ID', 'CONFLUENCE_CLIENT_SECRET'])
    const full = loadAliasFile(file, ALLOWED, { CONFLUENCE_CLIENT_ID: 'id', CONFLUENCE_CLIENT_SECRET: 'secret' })
    expect(full.unresolved).toEqual([])
    expect(full.doc.credential).toMatchObject({ clientId: 'id', clientSecret: 'secret' })
  })

  it('loads the shipped confluence_crawl.json: an unset org admin key is optional, not a problem', () => {
    const file = join(__dirname, '../../connections/confluence_crawl.json')
    const loaded = loadAliasFile(file, ALLOWED, { CRAWL_CLIENT_ID: 'id', CRAWL_CLIENT_SECRET: 'secret' })
    expect(loaded.unresolved).toEqual([
      { field: 'orgAdmin.orgId', variable: 'CRAWL_ORG_ID', optional: true },
      { field: 'orgAdmin.apiKey', variable: 'CRAWL_ORG_API_KEY', optional: true }
    ])
    expect(loaded.doc.orgAdmin).toEqual({})
    expect(loadAliasFile(file, ALLOWED, {}).unresolved.filter(u => u.optional !== true).map(u => u.variable)).toEqual(['CRAWL_CLIENT_ID', 'CRAWL_CLIENT_SECRET'])
  })

  it('stops on a bad file with its name and every reason; refuses literal secrets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conn-'))
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ name: 1, credential: { type: 'nope' } }))
    expect(() => loadAliasFiles(dir, ALLOWED, {})).toThrow(/bad\.json.*\/name.*\/credential\/type/)
    const dir2 = mkdtempSync(join(tmpdir(), 'conn-'))
    writeFileSync(join(dir2, 'lit.json'), JSON.stringify({ credential: { type: 'oauth2_client_credentials', clientId: 'a', clientSecret: 'literal' } }))
    expect(() => loadAliasFiles(dir2, ALLOWED, {})).toThrow(/placeholder/)
    const dir3 = mkdtempSync(join(tmpdir(), 'conn-'))
    writeFileSync(join(dir3, 'junk.json'), '{ nope')
    expect(() => loadAliasFiles(dir3, ALLOWED, {})).toThrow(/junk\.json: not valid JSON/)
    expect(loadAliasFiles(join(dir, 'missing'), ALLOWED, {})).toEqual([])
  })

  it('validates documents: ids, parent rules, client credentials without authorize URL', () => {
    expect(validateAlias('ok', { credential: { type: 'oauth2_client_credentials' } }, ALLOWED)).toEqual([])
    expect(validateAlias('ok', {}, ALLOWED).map(i => i.path)).toEqual(['/credential'])
    expect(validateAlias('ok', { parent: 'p' }, ALLOWED)).toEqual([])
    expect(validateAlias('ok', { parent: 'ok' }, ALLOWED)[0].message).toContain('own parent')
    expect(validateAlias('ok', { active: true, credential: { type: 'oauth2_client_credentials' } }, ALLOWED)[0].path).toBe('/active')
    expect(validateAlias('9bad', { parent: 'p' }, ALLOWED)[0].path).toBe('/id')
    expect(validateAlias('ok', { credential: { type: 'oauth2_client_credentials', authorizeUrl: 'https://auth.atlassian.com/authorize' } }, ALLOWED)[0].path).toBe('/credential/authorizeUrl')
  })
})

describe('upstream answers', () => {
  it('builds gateway URLs with repeated query parameters; absolute URLs only on the same origin', () => {
    const s = { connectionUrl: 'https://api.atlassian.com/', site: { cloudId: 'abc' } }
    expect(buildUrl(s, { path: '/wiki/api/v2/pages', query: { id: [1, 2], status: 'current', none: undefined } }))
      .toBe('https://api.atlassian.com/ex/confluence/abc/wiki/api/v2/pages?id=1&id=2&status=current')
    expect(buildUrl(s, { path: '/oauth/token/accessible-resources', base: 'api' })).toBe('https://api.atlassian.com/oauth/token/accessible-resources')
    expect(buildUrl(s, { path: 'https://api.atlassian.com/ex/confluence/abc/wiki/api/v2/pages?cursor=x', query: { limit: 5 } }))
      .toBe('https://api.atlassian.com/ex/confluence/abc/wiki/api/v2/pages?cursor=x&limit=5')
    expect(() => buildUrl(s, { path: 'https://evil.example.com/steal' })).toThrow(/only https:\/\/api.atlassian.com/)
    expect(queryString({ cql: 'type = "page" & x', n: 0, b: false })).toBe('cql=type%20%3D%20%22page%22%20%26%20x&n=0&b=false')
  })

  const res = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, body, headers, url: 'https://api.atlassian.com/ex/confluence/abc/wiki/rest/api/x?secret=1' })
  it.each([
    [404, { message: 'No content' }, {}, 'UPSTREAM_NOT_FOUND', 404, false],
    [410, { message: 'GoneException' }, {}, 'UPSTREAM_NOT_FOUND', 404, false],
    [403, { errors: [{ title: 'Forbidden' }] }, {}, 'UPSTREAM_FORBIDDEN', 403, false],
    [401, { code: 401, message: 'Unauthorized; scope does not match' }, {}, 'UPSTREAM_SCOPE_MISSING', 403, false],
    [401, { code: 401, message: 'Unauthorized' }, {}, 'CONNECTION_NOT_AUTHORIZED', 409, false],
    [400, { message: 'bad cql' }, {}, 'UPSTREAM_INVALID', 422, false],
    [422, 'nope', {}, 'UPSTREAM_INVALID', 422, false],
    [429, {}, { 'retry-after': '3' }, 'UPSTREAM_RATE_LIMITED', 429, true],
    [503, {}, {}, 'UPSTREAM_UNAVAILABLE', 502, true],
    [500, 'oops', {}, 'UPSTREAM_UNAVAILABLE', 502, true]
  ])('maps %i to its code', (status, body, headers, code, http, retryable) => {
    const err = upstreamError(res(status, body, headers), 'GET', 'tok_123456789')
    expect(err).toMatchObject({ code, statusCode: http, retryable })
    expect(err.message).not.toContain('secret=1')
    if (status === 429) expect(err.retryAfter).toBe(3)
  })

  it('keeps the upstream message but never a token', () => {
    expect(upstreamMessage({ errors: [{ title: 'Bad Request', detail: 'limit too big' }] })).toBe('Bad Request: limit too big')
    expect(sanitize('echo Authorization: Bearer abc.def-123 and tok_123456789', 'tok_123456789')).toBe('echo Authorization: Bearer [redacted] and [redacted]')
    const err = upstreamError(res(400, { message: 'your token tok_123456789 is odd' }), 'GET', 'tok_123456789')
    expect(err.message).toContain('is odd')
    expect(err.message).not.toContain('tok_123456789')
  })

  it('matches sites by cloudId or host', () => {
    const c = { cloudId: 'abc-1', url: 'https://acme.atlassian.net' }
    expect(sameSite('abc-1', c)).toBe(true)
    expect(sameSite('https://acme.atlassian.net/', c)).toBe(true)
    expect(sameSite('acme.atlassian.net', c)).toBe(true)
    expect(sameSite('https://other.atlassian.net', c)).toBe(false)
  })
})

describe('missing scopes', () => {
  it('reports, per action, the scopes of its cheapest scope set still missing', () => {
    const actions = [
      { id: 'a.search', scopes: [['search:confluence']] },
      { id: 'a.page', scopes: [['read:page:confluence'], ['read:confluence-content.all']] },
      { id: 'a.groups', scopes: [['read:confluence-groups', 'read:confluence-user'], ['read:group:confluence', 'read:user:confluence', 'x']] },
      { id: 'a.none', scopes: [] }
    ]
    expect(missingScopes(['search:confluence', 'read:confluence-user'], actions)).toEqual({
      'a.page': ['read:page:confluence'],
      'a.groups': ['read:confluence-groups']
    })
  })
})

describe('effective alias and views (pure)', () => {
  const defaults = { atlassianAuthUrl: 'https://auth.atlassian.com', atlassianApiUrl: 'https://api.atlassian.com' }
  const open = (_id: string, _name: string, sealed: string): string => `open(${sealed})`
  const rec = (id: string, doc: Record<string, unknown>, sealed: Record<string, string> = {}): AliasRecord =>
    ({ v: 1, id, doc, sealed, source: 'api', unresolved: [], createdAt: 't', updatedAt: 't' }) as AliasRecord

  it('a child inherits credential, gateway, retry policy and managed groups from its parent', () => {
    const parent = rec('p', { connectionUrl: 'https://gw.example', credential: { type: 'oauth2_authorization_code', clientId: 'c', scopes: ['s'] }, retryPolicy: { maxAttempts: 2 }, managedGroups: [{ groupId: 'g' }] }, { clientSecret: 'x' })
    const a = effectiveAlias(rec('c1', { parent: 'p' }), parent, open, defaults)
    expect(a).toMatchObject({ id: 'c1', grant: 'oauth2_authorization_code', clientId: 'c', clientSecret: 'open(x)', connectionUrl: 'https://gw.example/', tokenUrl: 'https://auth.atlassian.com/oauth/token', managedGroups: [{ groupId: 'g' }], problems: [] })
    expect(a.retryPolicy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 2 })
    expect(effectiveAlias(rec('c2', { parent: 'gone' }), undefined, open, defaults).problems).toEqual(expect.arrayContaining([expect.stringContaining('"gone" does not exist')]))
  })

  it('credential identity ignores everything but the client, token URL, gateway and client-credentials scopes', () => {
    const d = { credential: { type: 'oauth2_authorization_code' as const, clientId: 'c', scopes: ['a'] }, name: 'x' }
    expect(credentialIdentity(d, defaults)).toBe(credentialIdentity({ ...d, name: 'y', credential: { ...d.credential, scopes: ['b'] } }, defaults))
    expect(credentialIdentity(d, defaults)).not.toBe(credentialIdentity({ ...d, credential: { ...d.credential, clientId: 'other' } }, defaults))
  })

  it('token status and admin problems come from the stored state', () => {
    const a = effectiveAlias(rec('a', { credential: { type: 'oauth2_authorization_code', clientId: 'c' } }, { clientSecret: 'x' }), undefined, open, defaults)
    const now = 1_000_000
    expect(tokenView(a, { meta: {} }, now).status).toBe('needs_consent')
    expect(tokenView(a, { meta: { status: 'refresh_failed', error: 'invalid_grant' } }, now)).toMatchObject({ status: 'refresh_failed', error: 'invalid_grant' })
    const view = aliasView({ rec: rec('a', {}), records: [rec('a', {}), rec('k', { parent: 'a' })], alias: a, tokens: { meta: {}, choices: [{ cloudId: '1', url: 'u' }, { cloudId: '2', url: 'v' }] }, activeChild: 'k' }, now)
    expect(view).toMatchObject({ children: ['k'], resolvesTo: 'k', ready: false })
    expect(view.problems).toEqual([expect.stringContaining('consent needed'), expect.stringContaining('several sites')])
  })
})
