import { Writable } from 'node:stream'
import { createLogger, redactUrl, censorSecrets } from '../../src/lib/logger'

function capture (): { log: ReturnType<typeof createLogger>, text: () => string } {
  const lines: string[] = []
  const sink = new Writable({ write (c, _e, cb) { lines.push(String(c)); cb() } })
  return { log: createLogger('info', sink), text: () => lines.join('') }
}

describe('log redaction', () => {
  it('censors secrets at any depth we log objects at', () => {
    const { log, text } = capture()
    log.info({
      req: { headers: { authorization: 'Bearer sekret-1', cookie: 'sid=sekret-2' } },
      alias: { credential: { clientSecret: 'sekret-3', nested: { refresh_token: 'sekret-4' } } },
      tokens: { accessToken: 'sekret-5' },
      orgAdmin: { apiKey: 'sekret-6' }
    }, 'something happened')
    const out = text()
    for (let i = 1; i <= 6; i++) expect(out).not.toContain(`sekret-${i}`)
    expect(out).toContain('[redacted]')
    expect(out).toContain('something happened')
  })

  it('masks OAuth codes and states in logged URLs', () => {
    expect(redactUrl('/v1/oauth/callback?code=abc&state=def&site=x')).toBe('/v1/oauth/callback?code=%5Bredacted%5D&state=%5Bredacted%5D&site=x')
    expect(redactUrl('/healthz')).toBe('/healthz')
  })
})

describe('censorSecrets', () => {
  it('censors secret-named keys at any depth, in arrays too, whatever their case or separators', () => {
    const input = { a: [{ Client_Secret: 's1' }, { deep: { deeper: { 'X-Api-Key': 's2', refreshToken: 's3' } } }], keep: 'visible', code: 'INPUT_INVALID' }
    const out = censorSecrets(input) as any
    expect(JSON.stringify(out)).not.toMatch(/s1|s2|s3/)
    expect(out.keep).toBe('visible')
    expect(out.code).toBe('INPUT_INVALID') // error codes are not secrets
    expect(input.a[0].Client_Secret).toBe('s1') // the caller's object is not mutated
  })

  it('returns the same object when nothing needs censoring (no copy on the hot path)', () => {
    const clean = { reqId: 'abc', nested: { n: 1 } }
    expect(censorSecrets(clean)).toBe(clean)
  })
})
