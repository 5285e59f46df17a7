// Callback delivery under the address policy, over real HTTP: the host is checked again at send time and the
// connection goes to the address that was checked (a second DNS answer cannot redirect it: no rebinding).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { deliver } from '../../src/jobs/callbacks'
import { AddressPolicy, type ResolvedAddress } from '../../src/lib/address-policy'

let server: Server
let port: number
const hits: Array<{ host?: string, path?: string }> = []
beforeAll(async () => {
  server = createServer((req, res) => { hits.push({ host: req.headers.host, path: req.url }); req.resume(); res.end() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(async () => { await new Promise(resolve => server.close(resolve)) })

const answers = (...seq: string[][]) => {
  let i = 0
  return async (): Promise<ResolvedAddress[]> => (seq[Math.min(i++, seq.length - 1)]).map(address => ({ address, family: 4 as const }))
}

it('connects to the address that was checked, keeping the name in Host', async () => {
  const policy = new AddressPolicy({ allowedCidrs: ['127.0.0.1/32'], resolve: answers(['127.0.0.1']) })
  expect(await deliver(`http://receiver.example:${port}/pinned`, '{}', 's', { policy, timeoutMs: 2_000, messageId: 'm1' })).toBe(200)
  expect(hits.find(h => h.path === '/pinned')).toEqual({ host: `receiver.example:${port}`, path: '/pinned' })
})

it('a name that was public when the job was accepted and resolves inside at send time is not called', async () => {
  const policy = new AddressPolicy({ resolve: answers(['93.184.216.34'], ['127.0.0.1']) })
  await policy.resolve('rebind.example') // the check at acceptance passes
  await expect(deliver(`http://rebind.example:${port}/rebind`, '{}', 's', { policy, timeoutMs: 2_000, messageId: 'm1' })).rejects.toThrow(/loopback/)
  expect(hits.find(h => h.path === '/rebind')).toBeUndefined()
})

it('refuses at send time what the policy refuses, whoever queued it, and every address of a name must pass', async () => {
  const strict = new AddressPolicy({ resolve: answers(['93.184.216.34', '127.0.0.1']) })
  await expect(deliver(`http://127.0.0.1:${port}/direct`, '{}', 's', { policy: strict, timeoutMs: 2_000, messageId: 'm1' })).rejects.toThrow(/loopback/)
  await expect(deliver(`http://mixed.example:${port}/mixed`, '{}', 's', { policy: strict, timeoutMs: 2_000, messageId: 'm1' })).rejects.toThrow(/127\.0\.0\.1/)
  expect(hits.filter(h => h.path === '/direct' || h.path === '/mixed')).toEqual([])
})
