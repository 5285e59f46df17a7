// Throttles a burst cannot beat (issue 24, item 5). Sign-in read the failure count, then incremented it: 60
// parallel wrong sign-ins from one address were all checked against the keys (limit 10). Now each attempt is
// counted before its key is looked at. Wrong bearer keys on the JSON API had no throttle at all; now they
// have one (429 API_KEY_THROTTLED with Retry-After), shared by every api process through Redis.
import { buildTestSpoke, bearer, type TestSpoke } from '../helpers/spoke'
import { SIGN_IN_MAX_FAILURES, API_KEY_MAX_FAILURES } from '../../src/lib/sign-in-throttle'

let t: TestSpoke
beforeAll(async () => { t = await buildTestSpoke() })
afterAll(async () => { await t?.close() })

const signIn = async (remoteAddress: string, apiKey: string): Promise<Awaited<ReturnType<typeof t.app.inject>>> => await t.app.inject({
  method: 'POST', url: '/admin/login', remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ apiKey, next: '/admin' }).toString()
})
const statuses = (answers: Array<{ statusCode: number }>): Record<number, number> => {
  const counts: Record<number, number> = {}
  for (const a of answers) counts[a.statusCode] = (counts[a.statusCode] ?? 0) + 1
  return counts
}

it('a 60-request parallel burst of wrong sign-ins from one address gets at most the limit checked against the keys', async () => {
  const answers = await Promise.all(Array.from({ length: 60 }, async (_, i) => await signIn('10.60.0.1', `wrong-key-${i}-0123456789`)))
  const counts = statuses(answers)
  // 303 = the key was checked (and refused); 429 = refused before any key was looked at.
  expect(counts[303]).toBe(SIGN_IN_MAX_FAILURES)
  expect(counts[429]).toBe(60 - SIGN_IN_MAX_FAILURES)
  for (const a of answers.filter(a => a.statusCode === 429)) {
    expect(a.json().code).toBe('SIGN_IN_THROTTLED')
    expect(Number(a.headers['retry-after'])).toBeGreaterThan(0)
  }
})

it('the right key hidden in a parallel burst is not let through once the limit is used up', async () => {
  const burst = Array.from({ length: 59 }, (_, i) => `wrong-key-${i}-0123456789`)
  burst.splice(40, 0, t.keys.admin)
  const answers = await Promise.all(burst.map(async key => await signIn('10.60.0.2', key)))
  expect(answers[40].statusCode).toBe(429) // attempts are numbered as they arrive: the 41st is over the limit
  expect(answers.filter(a => a.headers['set-cookie'] !== undefined)).toHaveLength(0)
  expect(answers.filter(a => a.statusCode === 303 || a.headers['set-cookie'] !== undefined).length).toBeLessThanOrEqual(SIGN_IN_MAX_FAILURES)
})

it('wrong bearer keys from one address: 401 up to the limit, then 429 API_KEY_THROTTLED with Retry-After, even for the right key', async () => {
  const ask = async (key: string, remoteAddress = '10.61.0.1'): Promise<Awaited<ReturnType<typeof t.app.inject>>> =>
    await t.app.inject({ method: 'GET', url: '/v1/jobs', remoteAddress, headers: bearer(key) })
  for (let i = 0; i < API_KEY_MAX_FAILURES; i++) expect((await ask(`guess-${i}-0123456789`)).statusCode).toBe(401)
  const over = await ask('guess-over-0123456789')
  expect([over.statusCode, over.headers['content-type'], over.json().code]).toEqual([429, 'application/problem+json; charset=utf-8', 'API_KEY_THROTTLED'])
  expect(Number(over.headers['retry-after'])).toBeGreaterThan(0)
  const right = await ask(t.keys.viewer)
  expect([right.statusCode, right.json().code]).toEqual([429, 'API_KEY_THROTTLED'])
  expect((await ask(t.keys.viewer, '10.61.0.2')).statusCode).toBe(200) // another address is not affected
  expect(t.logs()).toMatch(/"level":40[^\n]*API key failures throttled/)
})

it('a parallel burst of wrong bearer keys gets at most the limit answered 401', async () => {
  const answers = await Promise.all(Array.from({ length: 60 }, async (_, i) =>
    await t.app.inject({ method: 'GET', url: '/v1/jobs', remoteAddress: '10.61.0.3', headers: bearer(`guess-${i}-0123456789`) })))
  const counts = statuses(answers)
  expect(counts[401]).toBe(API_KEY_MAX_FAILURES)
  expect(counts[429]).toBe(60 - API_KEY_MAX_FAILURES)
})
