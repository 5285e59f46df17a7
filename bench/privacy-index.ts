// The cost the personal-data index adds where the spoke stores a response (docs/privacy.md): the walk that
// finds accountIds (CPU) and the pipelined write (one Redis round trip), for a user.get output and a page of
// 200 group members, against real Redis. Run: npx tsx bench/privacy-index.ts
import { randomBytes } from 'node:crypto'
import { collectAccountIds } from '../src/privacy/collect'
import { PersonalDataIndex } from '../src/privacy/personal-data-index'
import { createRedis } from '../src/lib/redis'
import { removeKeys } from './async'
import { benchKeyPrefix, benchRedisTarget } from './redis-env'

const user = (i: number) => ({ accountId: `712020:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, displayName: `User ${i}`, email: `u${i}@acme.example`, accountType: 'atlassian', active: true })
const bodies = { 'user.get': { output: user(1), meta: { connection: { resolved: 'a' } } }, 'group.members (200)': { output: { results: Array.from({ length: 200 }, (_, i) => user(i)) }, meta: { connection: { resolved: 'a' } } } }
const page = { output: { id: '1', title: 'A page', body: 'x'.repeat(2000), version: 3 }, meta: { connection: { resolved: 'a' } } }

async function main (): Promise<void> {
  const target = benchRedisTarget()
  const redis = createRedis(target, 'worker')
  const prefix = benchKeyPrefix(`bench${randomBytes(4).toString('hex')}`, target)
  const index = new PersonalDataIndex(redis, prefix)
  for (const [name, body] of Object.entries({ ...bodies, 'page.get (no account)': page })) {
    const n = 20_000
    let t0 = performance.now()
    for (let i = 0; i < n; i++) collectAccountIds(body.output)
    const walkUs = (performance.now() - t0) * 1000 / n
    const m = 2_000
    t0 = performance.now()
    for (let i = 0; i < m; i++) await index.recordReplay('confluence.x', `k${i}`, { status: 200, body })
    const recordUs = (performance.now() - t0) * 1000 / m
    console.log(`${name}: walk ${walkUs.toFixed(2)} µs; walk + indexed write ${recordUs.toFixed(1)} µs per stored response`)
  }
  await removeKeys(target, [`${prefix}:*`])
  redis.disconnect()
}

void main()
