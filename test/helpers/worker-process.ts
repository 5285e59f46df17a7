// A real worker process (src/server.ts with SPOKE_ROLE=worker, run by tsx) sharing a test spoke's Redis
// prefix, master key and simulator: for crash (SIGKILL) and multi-process tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { TestSpoke } from './spoke'

const ROOT = join(__dirname, '../..')

export interface WorkerProcess { proc: ChildProcess, output: () => string, kill: (signal?: NodeJS.Signals) => Promise<void> }

/** Starts the worker role and resolves once it logged "workers started". */
export async function startWorkerProcess (t: TestSpoke, simUrl: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const proc = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      SPOKE_ROLE: 'worker',
      REDIS_URL: t.config.redisUrl,
      SPOKE_KEY_PREFIX: t.config.keyPrefix,
      SPOKE_MASTER_KEY: (t.config.masterKey as Buffer).toString('base64'),
      SPOKE_API_KEYS: `admin:${randomUUID()}`,
      SPOKE_DATA_DIR: `/tmp/spoke-worker-${randomUUID()}`,
      ATLASSIAN_AUTH_URL: simUrl,
      ATLASSIAN_API_URL: simUrl,
      LOG_LEVEL: 'info',
      ...env
    }
  })
  let out = ''
  proc.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  proc.stderr?.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process did not start: ${out.slice(-2000)}`)), 30_000)
    const check = (): void => { if (out.includes('workers started')) { clearTimeout(timer); resolve() } }
    proc.stdout?.on('data', check)
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`worker process exited with ${code}: ${out.slice(-2000)}`)) })
  })
  return {
    proc,
    output: () => out,
    kill: async (signal = 'SIGTERM') => { if (proc.exitCode === null && proc.signalCode === null) { proc.kill(signal); await exited } }
  }
}
