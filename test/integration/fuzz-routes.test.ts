// Malformed input on every registered route, with a key that may call it: the answer is never a 5xx,
// and every error is problem+json with a stable code. Property-based with fast-check.
import fc from 'fast-check'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import type { RouteEntry } from '../../src/app'

let spoke: TestSpoke
let routes: RouteEntry[]
beforeAll(async () => {
  spoke = await buildTestSpoke()
  routes = spoke.app.routeTable.filter(r => !['HEAD', 'OPTIONS'].includes(r.method) &&
    !r.url.startsWith('/docs') && !r.url.startsWith('/admin/queues')) // third-party UIs: static assets only
})
let sent = 0
let fiveXx = 0
afterAll(async () => {
  console.log(`fuzz: ${sent} requests, ${fiveXx} 5xx`)
  await spoke.close()
})

const segment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('confluence_cloud', 'confluence.page.get', '..', '%00', '%zz', 'a'.repeat(300), '0', '-1', '__proto__', 'constructor')
)
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ input: fc.jsonValue({ maxDepth: 3 }), connection: fc.jsonValue({ maxDepth: 1 }), mode: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
  fc.record({ name: fc.jsonValue({ maxDepth: 1 }), credential: fc.jsonValue({ maxDepth: 3 }), site: fc.jsonValue({ maxDepth: 2 }), managedGroups: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] })
)
const rawBody = fc.oneof(
  jsonish.map(v => JSON.stringify(v) ?? 'null'),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '{"input":', '[]', 'null', '"\\ud800"', '{"__proto__":{"polluted":true}}', '\u0000')
)
const query = fc.dictionary(fc.constantFrom('state', 'limit', 'cursor', 'action', 'connection', 'code', 'site', 'redirect'), fc.string({ maxLength: 30 }), { maxKeys: 3 })

function allowedKey (r: RouteEntry): string | undefined {
  const access = r.access
  if (access === 'public') return undefined
  const roles = access ?? ['admin']
  return roles.includes('admin') ? spoke.keys.admin : roles.includes('invoker') ? spoke.keys.invoker : spoke.keys.viewer
}

/** /mcp answers the protocol's own way: a JSON-RPC error object (the MCP transport), not a problem. */
function isJsonRpcError (body: string): boolean {
  try { const m = JSON.parse(body); return m.jsonrpc === '2.0' && typeof m.error?.code === 'number' } catch { return false }
}

it('no route answers 5xx to malformed params, queries or bodies, and errors are problem+json', async () => {
  const failures: string[] = []
  for (const r of routes) {
    await fc.assert(fc.asyncProperty(fc.array(segment, { minLength: 4, maxLength: 4 }), query, rawBody, async (segs, q, body) => {
      let i = 0
      const path = r.url.replace(/:[A-Za-z_]+/g, () => encodeURIComponent(segs[i++ % segs.length]) || 'x')
      const qs = new URLSearchParams(q).toString()
      const key = allowedKey(r)
      const res = await spoke.app.inject({
        method: r.method as 'GET',
        url: qs ? `${path}?${qs}` : path,
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json', ...(r.url === '/mcp' ? { accept: 'application/json, text/event-stream' } : {}) },
        ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: body })
      })
      const ctype = String(res.headers['content-type'] ?? '')
      sent++
      if (res.statusCode >= 500) fiveXx++
      if (res.statusCode >= 500) failures.push(`${r.method} ${path}?${qs} body=${body.slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 200)}`)
      else if (res.statusCode >= 400 && !ctype.startsWith('application/problem+json') && !ctype.startsWith('text/html') && !(r.url === '/mcp' && isJsonRpcError(res.body))) {
        failures.push(`${r.method} ${path} → ${res.statusCode} with content-type ${ctype}`)
      }
      return true
    }), { numRuns: 25, seed: 20261123 })
  }
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  expect(failures.slice(0, 10)).toEqual([])
})
