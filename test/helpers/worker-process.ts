// A real worker process (src/server.ts with SPOKE_ROLE=worker, run by tsx) sharing a test spoke's Redis
// prefix, master key and simulator: for crash (SIGKILL) and multi-process tests.
import { randomUUID } from 'node:crypto'
import { freePort, startTsxProcess, type ChildProcessHandle } from './child-process'
import type { TestSpoke } from './spoke'

/** `base`: the worker's own HTTP port (/healthz, /readyz, /metrics). */
export interface WorkerProcess extends ChildProcessHandle { base: string }

/** Its workers are ready and its port is bound (the next freePort() cannot hand that port out again). */
export const WORKER_READY = /^(?=[\s\S]*workers started)(?=[\s\S]*spoke started)/

/** Starts the worker role and resolves once it logged "workers started" and listens on its port. */
export async function startWorkerProcess (t: TestSpoke, simUrl: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const port = await freePort()
  const proc = await startTsxProcess('src/server.ts', {
    ready: WORKER_READY,
    env: {
      NODE_ENV: 'test',
      SPOKE_ROLE: 'worker',
      PORT: String(port),
      REDIS_URL: t.config.redisUrl,
      SPOKE_KEY_PREFIX: t.config.keyPrefix,
      SPOKE_MASTER_KEY: (t.config.masterKey as Buffer).toString('base64'),
      SPOKE_API_KEYS: `admin:${randomUUID()}`,
      SPOKE_DATA_DIR: `/tmp/spoke-worker-${randomUUID()}`,
      ATLASSIAN_AUTH_URL: simUrl,
      ATLASSIAN_API_URL: simUrl,
      LOG_LEVEL: 'info',
      SPOKE_PRIVACY_REPORT_EVERY_SECONDS: '0',
      ...env
    }
  })
  return { ...proc, base: `http://127.0.0.1:${port}` }
}
