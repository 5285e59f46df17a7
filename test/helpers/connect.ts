// Test helpers of the connection layer: real HTTP to a listening spoke (no inject), and
// `connectSimulatorAlias`, which registers an alias pointing at a running simulator and makes it active.
import { request } from 'undici'
import type { TestSpoke } from './spoke'

export interface HttpAnswer {
  status: number
  headers: Record<string, string>
  text: string
  json: () => any
}

const listening = new WeakMap<TestSpoke, string>()

/** Start the spoke's HTTP listener on an ephemeral port (once) and answer its base URL. */
export async function listen (spoke: TestSpoke): Promise<string> {
  const known = listening.get(spoke)
  if (known) return known
  await spoke.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = spoke.app.server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address')
  const base = `http://127.0.0.1:${addr.port}`
  listening.set(spoke, base)
  return base
}

/** One HTTP request to the spoke. `key` sends `Authorization: Bearer <key>`; `body` is sent as JSON. */
export async function http (spoke: TestSpoke, method: string, path: string, opts: { key?: string, body?: unknown, raw?: string, headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const base = await listen(spoke)
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  if (opts.key) headers.authorization = `Bearer ${opts.key}`
  let body: string | undefined
  if (opts.raw !== undefined) { body = opts.raw; headers['content-type'] ??= 'application/json' } else if (opts.body !== undefined) { body = JSON.stringify(opts.body); headers['content-type'] = 'application/json' }
  const res = await request(base + path, { method: method as 'GET', headers, body })
  const text = await res.body.text()
  const flat: Record<string, string> = {}
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v
  return { status: res.statusCode, headers: flat, text, json: () => JSON.parse(text) }
}
