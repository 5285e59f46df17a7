// Process entry: load and validate configuration, build the core, then serve HTTP (role api/all) and/or
// run workers (role worker/all). SIGTERM/SIGINT: stop accepting, finish in-flight work, close Redis.
import closeWithGrace from 'close-with-grace'
import type { DestinationStream } from 'pino'
import { loadConfig, ConfigError, type Config } from './config/env'
import { createLogger } from './lib/logger'
import { resolveSecrets } from './lib/secrets'
import { createCore } from './core'
import { buildApp } from './app'
import { startWorkers } from './worker'
import { preflightAtStart } from './preflight/preflight'

export interface MainOptions {
  /** Runs after the spoke has closed on shutdown (the sandbox stops its simulator here). */
  afterClose?: () => Promise<void>
  /** Where log lines go (default stdout as JSON; the sandbox passes a pretty printer on a terminal). */
  logDestination?: DestinationStream
  /** The sandbox: the production preflight reports but never logs or refuses. */
  sandbox?: boolean
}

export interface Started { config: Config, close: () => Promise<void> }

export async function main (env: NodeJS.ProcessEnv = process.env, opts: MainOptions = {}): Promise<Started> {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(78) // EX_CONFIG
    }
    throw err
  }
  if (opts.sandbox === true) config.preflight = 'sandbox'
  const log = createLogger(config.logLevel, opts.logDestination)
  const secrets = resolveSecrets(config, log)
  const core = await createCore(config, log)
  const refusals = await preflightAtStart(core.preflight, log)
  if (refusals.length > 0) {
    process.stderr.write(`Refusing to start (production preflight; SPOKE_PREFLIGHT=warn starts anyway):\n${refusals.map(f => `  - ${f.check}: ${f.message}`).join('\n')}\n`)
    await core.close()
    process.exit(78) // EX_CONFIG
  }

  // Every role listens on PORT: a worker serves /healthz, /readyz and /metrics only (the image's
  // HEALTHCHECK and a Prometheus scrape work for each process).
  const app = await buildApp({ core, apiKeys: secrets.apiKeys, logger: log, operationsOnly: config.role === 'worker' })
  if (config.role !== 'api') await startWorkers(core)

  const close = async (): Promise<void> => {
    await app.close()
    await core.close()
    await opts.afterClose?.()
  }
  closeWithGrace({ delay: config.shutdownTimeoutMs, logger: log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'shutting down after an error')
    else log.info({ signal }, 'shutting down')
    await close()
  })

  await app.listen({ port: config.port, host: config.host })
  const address = app.server.address()
  log.info({ role: config.role, port: typeof address === 'object' && address !== null ? address.port : config.port }, 'spoke started')
  return { config, close }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`Failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(1)
  })
}
