// Builds the real spoke (core + Fastify app) for integration tests: its own Redis key prefix per call so
// test files run in parallel, known API keys for each role, and a log capture for redaction checks.
import { randomBytes, randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../../src/config/env'
import { createLogger } from '../../src/lib/logger'
import { resolveSecrets } from '../../src/lib/secrets'
import { createCore, type Core, type CoreOptions } from '../../src/core'
import { buildApp } from '../../src/app'
import { startWorkers, type WorkerOptions } from '../../src/worker'

export interface TestSpoke {
  app: FastifyInstance
  core: Core
  config: Config
  keys: { admin: string, invoker: string, viewer: string }
  /** Every log line written so far (JSON text). */
  logs: () => string
  close: () => Promise<void>
}

export interface TestSpokeOptions {
  /** Extra routes or hooks, added before the app is ready (e.g. a route that throws for error tests). */
  extend?: (app: FastifyInstance) => void
  /** Run the BullMQ workers in this process too (role "all"), with optional worker options. */
  workers?: boolean | WorkerOptions
  /** Seams of the core (e.g. a wrapping token endpoint). */
  core?: CoreOptions
}

export async function buildTestSpoke (env: Record<string, string> = {}, opts: TestSpokeOptions = {}): Promise<TestSpoke> {
  const keys = { admin: `adm_${randomUUID()}`, invoker: `inv_${randomUUID()}`, viewer: `vwr_${randomUUID()}` }
  const config = loadConfig({
    NODE_ENV: 'test',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    SPOKE_KEY_PREFIX: `t${randomBytes(5).toString('hex')}`,
    SPOKE_MASTER_KEY: randomBytes(32).toString('base64'),
    SPOKE_API_KEYS: `admin:${keys.admin},invoker:${keys.invoker},viewer:${keys.viewer}`,
    SPOKE_DATA_DIR: `/tmp/spoke-test-${randomUUID()}`,
    LOG_LEVEL: 'info',
    // No default personal-data report schedule (it would run at once and add jobs and calls to every test
    // that stores an account); privacy-erasure.test.ts turns it on.
    SPOKE_PRIVACY_REPORT_EVERY_SECONDS: '0',
    ...env
  })
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const log = createLogger(config.logLevel, sink)
  const secrets = resolveSecrets(config, log, () => {})
  const core = await createCore(config, log, opts.core)
  const app = await buildApp({ core, apiKeys: secrets.apiKeys, logger: log })
  opts.extend?.(app)
  await app.ready()
  if (opts.workers) await startWorkers(core, opts.workers === true ? {} : opts.workers)
  return {
    app,
    core,
    config,
    keys,
    logs: () => lines.join(''),
    close: async () => {
      await app.close()
      await core.close()
    }
  }
}

export function bearer (key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` }
}
