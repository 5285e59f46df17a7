// A second spoke process for the refresh-storm test (run with tsx): the same Redis prefix, master key and
// simulator as the test process. Protocol on stdio: once its core is up it prints UP; on "WARM" it makes
// one call (the token is now in its memory) and prints READY; on "GO" it fires CALLS concurrent client
// calls, prints one JSON line { ok, failed, codes } and exits.
import { createInterface } from 'node:readline'
import { loadConfig } from '../../src/config/env'
import { createLogger } from '../../src/lib/logger'
import { createCore } from '../../src/core'

async function main (): Promise<void> {
  const env = process.env
  const config = loadConfig({
    NODE_ENV: 'test',
    REDIS_URL: env.REDIS_URL,
    SPOKE_KEY_PREFIX: env.STORM_PREFIX,
    SPOKE_MASTER_KEY: env.STORM_MASTER_KEY,
    ATLASSIAN_AUTH_URL: env.STORM_SIM_URL,
    ATLASSIAN_API_URL: env.STORM_SIM_URL,
    SPOKE_DATA_DIR: `/tmp/spoke-storm-${process.pid}`,
    LOG_LEVEL: 'warn'
  })
  const log = createLogger('warn', process.stderr)
  const core = await createCore(config, log)
  const alias = env.STORM_ALIAS as string
  const calls = Number(env.STORM_CALLS ?? '100')
  const path = env.STORM_PATH ?? '/wiki/rest/api/user/current'
  process.stdout.write('UP\n')
  const rl = createInterface({ input: process.stdin })
  for await (const line of rl) {
    if (line.trim() === 'WARM') {
      await core.confluence.call(alias, { method: 'GET', path })
      process.stdout.write('READY\n')
      continue
    }
    if (line.trim() !== 'GO') continue
    const results = await Promise.allSettled(Array.from({ length: calls }, () => core.confluence.call(alias, { method: 'GET', path })))
    const codes: Record<string, number> = {}
    let ok = 0
    for (const r of results) {
      if (r.status === 'fulfilled') { ok++; continue }
      const code = String((r.reason as { code?: string }).code ?? (r.reason as Error).message)
      codes[code] = (codes[code] ?? 0) + 1
    }
    process.stdout.write(JSON.stringify({ ok, failed: calls - ok, codes }) + '\n')
    break
  }
  rl.close()
  await core.close()
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`storm child failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
