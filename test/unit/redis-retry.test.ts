// retryWhileDisconnected (lib/redis.ts): work inside a job that goes through a fail-fast Redis client rides
// out the client's reconnection, and nothing else.
import { retryWhileDisconnected } from '../../src/lib/redis'

const offline = (): Error => new Error("Stream isn't writeable and enableOfflineQueue options is false")

it('runs again while the failure is a missing connection, and returns the first success', async () => {
  let calls = 0
  const out = await retryWhileDisconnected(async () => { if (++calls < 3) throw offline(); return 'done' })
  expect([out, calls]).toEqual(['done', 3])
})

it('throws any other error at once', async () => {
  let calls = 0
  await expect(retryWhileDisconnected(async () => { calls++; throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value') })).rejects.toThrow('WRONGTYPE')
  expect(calls).toBe(1)
})

it('gives up once its bound is spent', async () => {
  let calls = 0
  await expect(retryWhileDisconnected(async () => { calls++; throw offline() }, 200)).rejects.toThrow("Stream isn't writeable")
  expect(calls).toBeGreaterThan(1)
})
