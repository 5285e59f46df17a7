// Refresh storm: 200 concurrent client calls spread over two spoke processes (this one and a child
// process on the same Redis and simulator), with the access token expired, make exactly one token request.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { startSimulator, type Simulator } from '../simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'

const ROOT = join(__dirname, '../..')
const PATH = '/wiki/rest/api/user/current'

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

interface Child { proc: ChildProcessWithoutNullStreams, next: () => Promise<string> }

function startChild (alias: string, calls: number): Child {
  // node --import tsx (not the tsx CLI, whose own child would outlive a SIGKILL)
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/token-storm-child.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: t.config.redisUrl,
      STORM_PREFIX: t.config.keyPrefix,
      STORM_MASTER_KEY: (t.config.masterKey as Buffer).toString('base64'),
      STORM_SIM_URL: sim.url,
      STORM_ALIAS: alias,
      STORM_CALLS: String(calls),
      STORM_PATH: PATH
    }
  })
  children.push(proc)
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  return {
    proc,
    next: async () => {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`child silent for 20 s: ${stderr}`)), 20_000) })
      try {
        const r = await Promise.race([lines.next(), timeout])
        if (r.done) throw new Error(`child ended early: ${stderr}`)
        return r.value
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

async function storm (alias: string, child: Child, calls: number) {
  child.proc.stdin.write('GO\n')
  const here = await Promise.allSettled(Array.from({ length: calls }, () => t.core.confluence.call(alias, { method: 'GET', path: PATH })))
  const there = JSON.parse(await child.next()) as { ok: number, failed: number, codes: Record<string, number> }
  return { hereOk: here.filter(r => r.status === 'fulfilled').length, hereErrors: here.flatMap(r => r.status === 'rejected' ? [String(r.reason?.code ?? r.reason)] : []), there }
}

it('200 calls over two processes on an expired access token make exactly one token request', async () => {
  const child = startChild('storm', 100)
  expect(await child.next()).toBe('UP')
  await connectSimulatorAlias(t, sim, { alias: 'storm', scopes: ['read:confluence-user', 'read:page:confluence', 'offline_access'] })
  // the consent's token lives 3 s; the refreshed one an hour (so the storm itself cannot expire it again)
  sim.state.options.accessTokenTtlSeconds = 3600
  const consented = (await t.core.connections.store.readTokens('storm')).set!
  child.proc.stdin.write('WARM\n')
  expect(await child.next()).toBe('READY') // the child has the (still fresh) token in memory
  await t.core.confluence.call('storm', { method: 'GET', path: PATH })
  const stored = (await t.core.connections.store.readTokens('storm')).set!
  expect(stored.gen).toBe(consented.gen) // no refresh yet: both processes hold the consent's token
  await new Promise(resolve => setTimeout(resolve, Math.min(5_000, Math.max(0, stored.expiresAt - Date.now()) + 50)))

  const before = sim.counters()
  const r = await storm('storm', child, 100)
  const after = sim.counters()
  expect(r.hereErrors).toEqual([])
  expect(r.there).toEqual({ ok: 100, failed: 0, codes: {} })
  expect(r.hereOk).toBe(100)
  const tokenRequests = after.tokenRequests - before.tokenRequests
  process.stdout.write(`refresh storm (expired token, 2 processes, 200 calls): ${tokenRequests} token request(s)\n`)
  expect(tokenRequests).toBe(1)
  expect(after.tokensGranted.refresh_token - before.tokensGranted.refresh_token).toBe(1)
  expect((after.byOperationStatus['oauth.token'] ?? {})['403'] ?? 0).toBe((before.byOperationStatus['oauth.token'] ?? {})['403'] ?? 0)
})

it('200 calls over two processes that all get 401 (token revoked upstream) make exactly one token request', async () => {
  sim.state.options.accessTokenTtlSeconds = 3600
  await connectSimulatorAlias(t, sim, { alias: 'storm401', scopes: ['read:confluence-user', 'offline_access'] })
  const child = startChild('storm401', 100)
  expect(await child.next()).toBe('UP')
  child.proc.stdin.write('WARM\n')
  expect(await child.next()).toBe('READY')
  await t.core.confluence.call('storm401', { method: 'GET', path: PATH })
  sim.expireAllTokens() // both processes hold a token the gateway now refuses with 401
  const before = sim.counters()
  const r = await storm('storm401', child, 100)
  const after = sim.counters()
  expect(r.hereErrors).toEqual([])
  expect(r.there.ok).toBe(100)
  const tokenRequests = after.tokenRequests - before.tokenRequests
  process.stdout.write(`401 storm (2 processes, 200 calls): ${tokenRequests} token request(s)\n`)
  expect(tokenRequests).toBe(1)
})
