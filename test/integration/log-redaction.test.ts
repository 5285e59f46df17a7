// A secret sent in a request never reaches the log output, whatever route it is sent to.
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'

let spoke: TestSpoke
beforeAll(async () => {
  spoke = await buildTestSpoke({ LOG_LEVEL: 'trace' }, {
    extend: (app) => {
      // A route that logs what it was given, the way a careless handler might.
      app.post('/v1/test-log', { config: { access: ['admin'] } }, async (req) => {
        req.log.info({ body: req.body, headers: req.headers }, 'handler saw the request')
        throw Object.assign(new Error('upstream said no'), { statusCode: 400 })
      })
    }
  })
})
afterAll(async () => { await spoke.close() })

it('keeps API keys, tokens, client secrets and OAuth codes out of the logs', async () => {
  const secrets = {
    clientSecret: 'cs-0f9e8d7c6b5a4f3e',
    refresh_token: 'rt-1a2b3c4d5e6f7a8b',
    accessToken: 'at-9z8y7x6w5v4u3t2s',
    apiKey: 'ak-aabbccddeeff0011'
  }
  await spoke.app.inject({
    method: 'POST',
    url: '/v1/test-log?code=oauth-code-77665544&state=st-11223344',
    headers: { authorization: `Bearer ${spoke.keys.admin}`, cookie: 'session=cookie-secret-99887766' },
    payload: { credential: secrets, nested: { deeper: { token: 'tk-5566778899aabbcc' } } }
  })
  await spoke.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-key-31415926535' } })
  const logs = spoke.logs()
  expect(logs).toContain('handler saw the request') // the line was written ...
  for (const s of [spoke.keys.admin, 'wrong-key-31415926535', 'cookie-secret-99887766', 'oauth-code-77665544', 'st-11223344',
    'tk-5566778899aabbcc', ...Object.values(secrets)]) {
    expect(logs).not.toContain(s) // ... without any secret in it
  }
})
