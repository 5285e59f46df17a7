// Wiring of the connection layer for createCore: keyring, one undici agent, the service, the client.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config/env'
import { SpokeConfluenceClient } from '../confluence/client'
import { createAgent } from '../confluence/http'
import { Keyring, previousKeysFromEnv } from '../lib/crypto'
import { ConnectionService } from './service'

export { ConnectionService, DEFAULT_ALIAS } from './service'
export type { AliasView, TokenView, Session } from './service'

export interface ConnectionLayer {
  connections: ConnectionService
  confluence: SpokeConfluenceClient
  close: () => Promise<void>
}

export async function createConnectionLayer (config: Config, redis: Redis, log: Logger): Promise<ConnectionLayer> {
  if (!config.masterKey) throw new Error('SPOKE_MASTER_KEY is not resolved: call resolveSecrets(config) before createCore')
  const keyring = new Keyring(config.masterKey, previousKeysFromEnv())
  const agent = createAgent({ timeoutMs: config.upstreamTimeoutMs })
  const connections = new ConnectionService({ config, redis, log, keyring, agent })
  const confluence = new SpokeConfluenceClient({ connections, agent, timeoutMs: config.upstreamTimeoutMs })
  try {
    await connections.start()
  } catch (err) {
    await connections.close()
    await agent.close()
    throw err
  }
  return {
    connections,
    confluence,
    close: async () => {
      await connections.close()
      await agent.close()
    }
  }
}
