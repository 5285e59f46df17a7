// Jest-only: the afterAll of every simulator-backed test file. Kept apart from connect.ts, which the
// benchmarks and the sandbox import outside jest.
import type { TestSpoke } from './spoke'

/**
 * afterAll of a simulator-backed file: close the spokes, then the simulator, then assert that the spoke
 * sent Confluence no request outside the official specs.
 */
export async function closeCheckingContract (sim: { invalidRequests: () => unknown[], close: () => Promise<void> } | undefined, ...spokes: Array<TestSpoke | undefined>): Promise<void> {
  const invalid = sim?.invalidRequests() ?? []
  for (const spoke of spokes) await spoke?.close()
  await sim?.close()
  expect(invalid).toEqual([])
}
