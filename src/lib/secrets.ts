// First-start secrets: without SPOKE_MASTER_KEY or SPOKE_API_KEYS the spoke generates them into
// SPOKE_DATA_DIR (mode 0600) so a fresh clone runs with nothing but Redis. The generated admin key is
// printed once; only its digest is written to disk.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, existsSync } from 'node:fs'
import { writeNewPrivateFileSync } from './private-file'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Config } from '../config/env'
import { ConfigError } from '../config/env'
import { hashApiKey, type HashedApiKey } from './api-keys'

export interface ResolvedSecrets { masterKey: Buffer, apiKeys: HashedApiKey[] }

const MASTER_KEY_FILE = 'master.key'
const API_KEYS_FILE = 'api-keys.json'

export function resolveSecrets (config: Config, log: Pick<Logger, 'warn'>, announce: (line: string) => void = (l) => process.stdout.write(l + '\n')): ResolvedSecrets {
  const masterKey = config.masterKey ?? loadOrCreateMasterKey(config.dataDir, log)
  const apiKeys = config.apiKeys
    ? config.apiKeys.map(k => ({ role: k.role, sha256: hashApiKey(k.key) }))
    : loadOrCreateApiKeys(config.dataDir, log, announce)
  // Plain keys are not kept beyond this point.
  delete config.apiKeys
  config.masterKey = masterKey
  return { masterKey, apiKeys }
}

function ensureDir (dir: string): void { mkdirSync(dir, { recursive: true, mode: 0o700 }) }

/** A new file only (never an existing one, never through a link), 0600 whatever the umask (lib/private-file). */
function writeSecretFile (path: string, content: string): void {
  writeNewPrivateFileSync(path, content)
}

function loadOrCreateMasterKey (dataDir: string, log: Pick<Logger, 'warn'>): Buffer {
  const path = join(dataDir, MASTER_KEY_FILE)
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
    if (key.length !== 32) throw new ConfigError('SPOKE_MASTER_KEY', `(from ${path}) must decode to 32 bytes`)
    return key
  }
  ensureDir(dataDir)
  const key = randomBytes(32)
  writeSecretFile(path, key.toString('base64') + '\n')
  log.warn({ path }, 'SPOKE_MASTER_KEY not set: generated a master key; back it up, losing it loses every stored secret')
  return key
}

function loadOrCreateApiKeys (dataDir: string, log: Pick<Logger, 'warn'>, announce: (line: string) => void): HashedApiKey[] {
  const path = join(dataDir, API_KEYS_FILE)
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as HashedApiKey[]
  ensureDir(dataDir)
  const key = `spk_${randomBytes(24).toString('base64url')}`
  const keys: HashedApiKey[] = [{ role: 'admin', sha256: hashApiKey(key) }]
  writeSecretFile(path, JSON.stringify(keys, null, 2) + '\n')
  log.warn({ path }, 'SPOKE_API_KEYS not set: generated one admin API key (shown once below; only its digest is stored)')
  announce(`\n  Admin API key (shown once): ${key}\n  Use it as: Authorization: Bearer ${key}\n`)
  return keys
}
