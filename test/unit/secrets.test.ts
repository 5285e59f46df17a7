import { mkdtempSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config/env'
import { resolveSecrets } from '../../src/lib/secrets'
import { ApiKeyRing, hashApiKey } from '../../src/lib/api-keys'

const quietLog = { warn: () => {} }

describe('first-start secrets', () => {
  it('generates a master key and one admin key into the data dir (0600), announcing the key once', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spoke-secrets-'))
    const lines: string[] = []
    const first = resolveSecrets(loadConfig({ SPOKE_DATA_DIR: dataDir }), quietLog, (l) => lines.push(l))
    expect(first.masterKey).toHaveLength(32)
    expect(lines).toHaveLength(1)
    const key = /spk_[A-Za-z0-9_-]+/.exec(lines[0])?.[0] as string
    expect(new ApiKeyRing(first.apiKeys).roleOf(key)).toBe('admin')
    for (const f of ['master.key', 'api-keys.json']) expect(statSync(join(dataDir, f)).mode & 0o777).toBe(0o600)
    // Only the digest is on disk.
    expect(readFileSync(join(dataDir, 'api-keys.json'), 'utf8')).not.toContain(key)

    const again: string[] = []
    const second = resolveSecrets(loadConfig({ SPOKE_DATA_DIR: dataDir }), quietLog, (l) => again.push(l))
    expect(again).toHaveLength(0)
    expect(second.masterKey.equals(first.masterKey)).toBe(true)
    expect(new ApiKeyRing(second.apiKeys).roleOf(key)).toBe('admin')
  })

  it('hashes keys given in SPOKE_API_KEYS and forgets the plain text', () => {
    const config = loadConfig({ SPOKE_DATA_DIR: mkdtempSync(join(tmpdir(), 'spoke-secrets-')), SPOKE_API_KEYS: 'invoker:0123456789abcdef0123' })
    const { apiKeys } = resolveSecrets(config, quietLog, () => {})
    expect(config.apiKeys).toBeUndefined()
    expect(apiKeys).toEqual([{ role: 'invoker', sha256: hashApiKey('0123456789abcdef0123') }])
    const ring = new ApiKeyRing(apiKeys)
    expect(ring.roleOf('0123456789abcdef0123')).toBe('invoker')
    expect(ring.roleOf('0123456789abcdef0124')).toBeUndefined()
  })
})
