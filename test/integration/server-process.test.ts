// The real entry point as a child process: configuration errors stop the start naming the variable,
// a good start serves /healthz, and SIGTERM shuts down cleanly.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { join } from 'node:path'

const ROOT = join(__dirname, '..', '..')
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx')

function run (env: Record<string, string>): { child: ChildProcess, output: () => string, exited: Promise<number | null> } {
  let out = ''
  const child = spawn(TSX, ['src/server.ts'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (d) => { out += String(d) })
  child.stderr!.on('data', (d) => { out += String(d) })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => out, exited }
}

async function freePort (): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as net.AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

it.each([
  [{ PORT: 'abc' }, 'PORT'],
  [{ SPOKE_MASTER_KEY: 'c2hvcnQ=' }, 'SPOKE_MASTER_KEY'],
  [{ SPOKE_ROLE: 'everything' }, 'SPOKE_ROLE']
])('exits non-zero on %j, naming %s', async (env, variable) => {
  const p = run(env as Record<string, string>)
  const code = await p.exited
  expect(code).not.toBe(0)
  expect(p.output()).toContain(variable)
})

it('starts, serves /healthz, and exits 0 on SIGTERM', async () => {
  const port = await freePort()
  const key = randomBytes(16).toString('hex')
  const p = run({
    PORT: String(port),
    SPOKE_API_KEYS: `admin:${key}`,
    SPOKE_MASTER_KEY: randomBytes(32).toString('base64'),
    SPOKE_DATA_DIR: `/tmp/spoke-proc-${randomBytes(4).toString('hex')}`,
    SPOKE_KEY_PREFIX: `proc${randomBytes(4).toString('hex')}`
  })
  let health: Response | undefined
  // Bounded by time, not by a count of tries (a loaded machine took over 15 s to start the child once).
  for (const deadline = Date.now() + 120_000; health === undefined && Date.now() < deadline;) {
    health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(async () => { await new Promise(r => setTimeout(r, 150)); return undefined })
  }
  expect(health?.status).toBe(200)
  expect(await health!.json()).toEqual({ status: 'ok' })
  const unauth = await fetch(`http://127.0.0.1:${port}/metrics`)
  expect(unauth.status).toBe(401)
  const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${key}` } })
  expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/)
  expect(await metrics.text()).toContain('spoke_http_request_duration_seconds_bucket')
  p.child.kill('SIGTERM')
  expect(await p.exited).toBe(0)
  expect(p.output()).not.toContain(key)
}, 150_000)
