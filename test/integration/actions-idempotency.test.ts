// The Idempotency-Key store on a real Redis: first result kept, same body replayed, other body 409,
// concurrent repeats run once, failures release the key.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { createIdempotencyStore, fingerprint, type StoredResponse } from '../../src/actions/idempotency'

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const prefix = `t${randomBytes(5).toString('hex')}`
const store = createIdempotencyStore(redis, { keyPrefix: prefix })
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

const ok = (n: number): StoredResponse => ({ status: 200, body: { n } })

it('returns the first result to a repeat with the same body, and keeps it for 24 h', async () => {
  let runs = 0
  const first = await store.run({ scope: 'a.b', key: 'k1', fingerprint: fingerprint({ x: 1, y: [1, 2] }) }, async () => ok(++runs))
  const again = await store.run({ scope: 'a.b', key: 'k1', fingerprint: fingerprint({ y: [1, 2], x: 1 }) }, async () => ok(++runs))
  expect(first).toEqual({ response: ok(1), replayed: false })
  expect(again).toEqual({ response: ok(1), replayed: true })
  expect(runs).toBe(1)
  const ttl = await redis.pttl(`${prefix}:idem:a.b:k1`)
  expect(ttl).toBeGreaterThan(24 * 3600 * 1000 - 60_000)
})

it('answers 409 IDEMPOTENCY_CONFLICT for the same key with another body; keys are per scope', async () => {
  await store.run({ scope: 'a.b', key: 'k2', fingerprint: fingerprint({ x: 1 }) }, async () => ok(1))
  await expect(store.run({ scope: 'a.b', key: 'k2', fingerprint: fingerprint({ x: 2 }) }, async () => ok(2)))
    .rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', statusCode: 409, retryable: false })
  expect((await store.run({ scope: 'other', key: 'k2', fingerprint: fingerprint({ x: 2 }) }, async () => ok(3))).replayed).toBe(false)
})

it('runs concurrent repeats once: the others wait for the first result', async () => {
  let runs = 0
  const slow = async (): Promise<StoredResponse> => { runs++; await new Promise(r => setTimeout(r, 150)); return ok(runs) }
  const f = fingerprint({ q: 'same' })
  const all = await Promise.all(Array.from({ length: 5 }, () => store.run({ scope: 's', key: 'k3', fingerprint: f }, slow)))
  expect(runs).toBe(1)
  expect(all.map(r => r.response)).toEqual(Array(5).fill(ok(1)))
  expect(all.filter(r => !r.replayed)).toHaveLength(1)
})

it('releases the key when the run throws, so a retry runs again', async () => {
  const f = fingerprint({})
  await expect(store.run({ scope: 's', key: 'k4', fingerprint: f }, async () => { throw new Error('upstream down') })).rejects.toThrow('upstream down')
  expect(await store.run({ scope: 's', key: 'k4', fingerprint: f }, async () => ok(7))).toEqual({ response: ok(7), replayed: false })
})

it('runs once across processes too (two stores on one Redis)', async () => {
  const other = createIdempotencyStore(redis, { keyPrefix: prefix })
  let runs = 0
  const slow = async (): Promise<StoredResponse> => { runs++; await new Promise(r => setTimeout(r, 100)); return ok(runs) }
  const f = fingerprint({ q: 'x' })
  const [a, b] = await Promise.all([store.run({ scope: 's', key: 'k5', fingerprint: f }, slow), other.run({ scope: 's', key: 'k5', fingerprint: f }, slow)])
  expect(runs).toBe(1)
  expect(a.response).toEqual(b.response)
  await expect(other.run({ scope: 's', key: 'k5', fingerprint: fingerprint({ q: 'y' }) }, slow)).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' })
})
