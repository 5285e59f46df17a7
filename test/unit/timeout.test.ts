// lib/timeout.ts: the one bounded wait.
import { within } from '../../src/lib/timeout'

it('answers the value, passes a rejection through, and fails with the caller\'s error when time runs out', async () => {
  await expect(within(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7)
  await expect(within(Promise.reject(new Error('own')), 1_000, () => new Error('late'))).rejects.toThrow('own')
  await expect(within(new Promise(() => {}), 10, () => new Error('late'))).rejects.toThrow('late')
})

it('leaves no timer behind once the promise settled', async () => {
  const before = process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
  await within(Promise.resolve(1), 60_000, () => new Error('late'))
  expect(process.getActiveResourcesInfo().filter(r => r === 'Timeout').length).toBe(before)
})
