// Refresh storm: 200 concurrent client calls spread over two spoke processes (this one and a child
// process on the same Redis and simulator), with the access token expired, make exactly one token request.
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { expiredTokenStorm, startStormChild, storm, STORM_PATH } from '../helpers/refresh-storm'

let sim: Simulator
let t: TestSpoke
const children: ChildProcessWithoutNullStreams[] = []

beforeAll(async () => {
  sim = await startSimulator({ seed: 7, size: 5, accessTokenTtlSeconds: 3 })
  t = await buildTestSpoke(simulatorEnv(sim))
})
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await t?.close()
  await sim?.close()
})

it('200 calls over two processes on an expired access token make exactly one token request', async () => {
  const r = await expiredTokenStorm(t, sim, 'storm', 100, children)
  expect(r.genBeforeStorm).toBe(r.consentGen) // no refresh before the storm: both processes held the consent's token
  expect(r.hereErrors).toEqual([])
  expect(r.there).toEqual({ ok: 100, failed: 0, codes: {} })
  process.stdout.write(`refresh storm (expired token, 2 processes, 200 calls): ${r.tokenRequests} token request(s)\n`)
  expect(r.tokenRequests).toBe(1)
  expect(r.refreshGrants).toBe(1)
  expect(r.refused).toBe(0)
})

it('200 calls over two processes that all get 401 (token revoked upstream) make exactly one token request', async () => {
  sim.state.options.accessTokenTtlSeconds = 3600
  await connectSimulatorAlias(t, sim, { alias: 'storm401', scopes: ['read:confluence-user', 'offline_access'] })
  const child = startStormChild(t, sim, 'storm401', 100, children)
  expect(await child.next()).toBe('UP')
  child.proc.stdin.write('WARM\n')
  expect(await child.next()).toBe('READY')
  await t.core.confluence.call('storm401', { method: 'GET', path: STORM_PATH })
  sim.expireAllTokens() // both processes hold a token the gateway now refuses with 401
  const r = await storm(t, sim, 'storm401', child, 100)
  expect(r.hereErrors).toEqual([])
  expect(r.there.ok).toBe(100)
  process.stdout.write(`401 storm (2 processes, 200 calls): ${r.tokenRequests} token request(s)\n`)
  expect(r.tokenRequests).toBe(1)
})
