// Runs the simulator as its own process (`npx tsx simulator/src/main.ts`), configured from the environment,
// and exports what a sandbox script needs to wire the spoke to it.
import { DEFAULTS, DEFAULT_CLOUD_ID, startSimulator, type Simulator, type SimulatorOptions } from './index'
import { ADMIN_ACCOUNT_ID, SERVICE_ACCOUNT_ID } from './seed'

export { DEFAULT_CLOUD_ID, ADMIN_ACCOUNT_ID, SERVICE_ACCOUNT_ID }
export const DEFAULT_SIMULATOR_PORT = 4010
export const DEFAULT_ORG_ID = DEFAULTS.orgId
export const DEFAULT_ORG_ADMIN_KEY = DEFAULTS.adminApiKey

/** Simulator options from SIMULATOR_* variables and SPOKE_PUBLIC_URL (the redirect URI prefix). */
export function optionsFromEnv (env: NodeJS.ProcessEnv = process.env): SimulatorOptions {
  const size = env.SIMULATOR_SIZE !== undefined ? Number(env.SIMULATOR_SIZE) : undefined
  if (size !== undefined && (!Number.isInteger(size) || size < 1)) throw new Error(`SIMULATOR_SIZE must be a positive integer, got "${env.SIMULATOR_SIZE ?? ''}"`)
  const port = Number(env.SIMULATOR_PORT ?? DEFAULT_SIMULATOR_PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`SIMULATOR_PORT must be a port number, got "${env.SIMULATOR_PORT ?? ''}"`)
  return {
    port,
    host: env.SIMULATOR_HOST ?? '127.0.0.1',
    seed: env.SIMULATOR_SEED,
    size,
    clientId: env.SIMULATOR_CLIENT_ID,
    clientSecret: env.SIMULATOR_CLIENT_SECRET,
    autoConsent: env.SIMULATOR_AUTO_CONSENT === 'true',
    sparse: env.SIMULATOR_SPARSE === 'true',
    redirectUriPrefix: env.SPOKE_PUBLIC_URL
  }
}

export async function runFromEnv (env: NodeJS.ProcessEnv = process.env): Promise<Simulator> {
  const sim = await startSimulator(optionsFromEnv(env))
  process.stdout.write(`Confluence simulator listening on ${sim.url} (cloudId ${sim.defaultCloudId}, client ${sim.clientId})\n`)
  return sim
}

if (require.main === module) {
  runFromEnv().then((sim) => {
    const stop = (): void => { sim.close().finally(() => process.exit(0)) }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  }, (err: Error) => {
    process.stderr.write(`${err.message}\n`)
    process.exit(1)
  })
}
