// The auth matrix over EVERY registered route. A route added without an entry here, or with access that
// differs from this table (docs/api.md: roles admin / invoker / viewer, and the few public routes), fails.
import { buildTestSpoke, bearer, type TestSpoke } from '../helpers/spoke'
import type { RouteEntry } from '../../src/app'

type Role = 'admin' | 'invoker' | 'viewer'
type Expected = 'public' | Role[]

const READ: Role[] = ['admin', 'invoker', 'viewer']
const INVOKE: Role[] = ['admin', 'invoker']
const OBSERVE: Role[] = ['admin', 'viewer']
const ADMIN: Role[] = ['admin']

// [method, url pattern (Fastify syntax, or a RegExp for families of routes), expected access]
const EXPECTED: Array<[string, string | RegExp, Expected]> = [
  ['GET', '/healthz', 'public'],
  ['GET', '/readyz', 'public'],
  ['GET', '/openapi.json', 'public'],
  ['GET', /^\/docs(\/.*)?$/, 'public'],
  ['GET', '/v1/oauth/callback', 'public'],
  ['GET', '/metrics', OBSERVE],
  ['GET', '/v1/actions', READ],
  ['GET', '/v1/actions/:id', READ],
  ['POST', /^\/v1\/actions\/[^/]+\/execute$/, INVOKE],
  ['GET', '/v1/jobs', READ],
  ['GET', '/v1/jobs/:id', READ],
  ['POST', '/v1/jobs/:id/retry', ADMIN],
  ['POST', '/v1/jobs/:id/cancel', ADMIN],
  // MCP (docs/mcp.md): every key connects; what it may list and call is decided per tool (roles as on the JSON API).
  ['POST', '/mcp', READ],
  ['GET', '/mcp', READ],
  ['DELETE', '/mcp', READ],
  ['GET', '/v1/schedules', OBSERVE],
  ['GET', '/v1/schedules/:id', OBSERVE],
  ['PUT', '/v1/schedules/:id', ADMIN],
  ['DELETE', '/v1/schedules/:id', ADMIN],
  ['GET', '/v1/triggers', OBSERVE],
  ['GET', '/v1/triggers/:id', OBSERVE],
  ['GET', '/v1/triggers/:id/dead-letters', OBSERVE],
  ['PUT', '/v1/triggers/:id', ADMIN],
  ['DELETE', '/v1/triggers/:id', ADMIN],
  ['POST', /^\/v1\/triggers\/:id\/(pause|resume|test|dead-letters\/replay)$/, ADMIN],
  ['GET', '/v1/connections', OBSERVE],
  ['GET', '/v1/connections/:alias', OBSERVE],
  ['PUT', '/v1/connections/:alias', ADMIN],
  ['DELETE', '/v1/connections/:alias', ADMIN],
  ['GET', '/v1/connections/:alias/authorize', ADMIN],
  ['POST', '/v1/connections/:alias/token', ADMIN],
  ['POST', '/v1/connections/:alias/test', ADMIN],
  ['GET', '/v1/connections/:alias/setup', ADMIN],
  ['GET', '/v1/connections/:alias/groups', ADMIN],
  ['PUT', '/v1/connections/:alias/groups', ADMIN],
  ['GET', '/v1/connections/:alias/groups/available', ADMIN],
  ['GET', '/admin', OBSERVE],
  ['GET', '/admin/login', 'public'],
  ['POST', '/admin/login', 'public'],
  ['POST', '/admin/logout', 'public'],
  // The console (routes/admin/): pages for admins and viewers, forms and their changes for admins.
  ['GET', /^\/admin\/(continue|jobs|crawls|schedules|jobs\/:id|aliases\/:id|aliases\/:id\/groups|aliases\/:id\/spaces)$/, OBSERVE],
  ['GET', /^\/admin\/aliases\/(new|:id\/edit|:id\/delete)$/, ADMIN],
  ['POST', /^\/admin\/(aliases|aliases\/:id\/(edit|delete|test|token|site|groups|spaces|activate)|jobs\/:id\/(retry|cancel))$/, ADMIN],
  ['GET', /^\/admin\/triggers(\/:id)?$/, OBSERVE],
  ['POST', /^\/admin\/triggers(\/:id\/(edit|pause|resume|test|replay|delete))?$/, ADMIN],
  ['GET', '/admin/sessions', ADMIN],
  ['POST', '/admin/sessions/sign-out', ADMIN],
  ['GET', '/favicon.ico', 'public'],
  ['GET', /^\/admin\/queues(\/.*)?$/, OBSERVE],
  ['POST', /^\/admin\/queues\/api\/.*$/, ADMIN],
  ['PUT', /^\/admin\/queues\/api\/.*$/, ADMIN],
  ['DELETE', /^\/admin\/queues\/api\/.*$/, ADMIN],
  ['PATCH', /^\/admin\/queues\/api\/.*$/, ADMIN] // Bull Board's "update job data"
]

function expectedFor (route: RouteEntry): Expected | undefined {
  const hit = EXPECTED.find(([m, u]) => m === route.method && (typeof u === 'string' ? u === route.url : u.test(route.url)))
  return hit?.[2]
}

function concreteUrl (url: string): string {
  return url.replace(/:[A-Za-z_]+/g, 'zz-does-not-exist').replace(/\*$/, 'x')
}

let spoke: TestSpoke
let routes: RouteEntry[]
beforeAll(async () => {
  spoke = await buildTestSpoke()
  routes = spoke.app.routeTable.filter(r => r.method !== 'HEAD' && r.method !== 'OPTIONS')
})
afterAll(async () => { await spoke.close() })

it('every registered route is in the access table with the access it declares', () => {
  expect(routes.length).toBeGreaterThan(0)
  const mismatches = routes
    .map(r => ({ route: `${r.method} ${r.url}`, declared: r.access ?? '(none: admin-only by default)', expected: expectedFor(r) ?? '(not in the table)' }))
    .filter(m => JSON.stringify([...(Array.isArray(m.declared) ? m.declared : [m.declared])].sort()) !==
                 JSON.stringify([...(Array.isArray(m.expected) ? m.expected : [m.expected])].sort()))
  expect(mismatches).toEqual([])
})

it('each route answers 401 without a key (unless public) and 403 to a role it does not allow', async () => {
  const failures: string[] = []
  for (const r of routes) {
    const expected = expectedFor(r)
    if (expected === undefined) continue // reported by the test above
    const url = concreteUrl(r.url)
    const method = r.method as 'GET' | 'POST' | 'PUT' | 'DELETE'
    const anonymous = await spoke.app.inject({ method, url })
    if (expected === 'public') {
      if (anonymous.statusCode === 401 || anonymous.statusCode === 403) failures.push(`${r.method} ${r.url}: public route answered ${anonymous.statusCode}`)
      continue
    }
    if (anonymous.statusCode !== 401 || anonymous.json().code !== 'UNAUTHENTICATED') failures.push(`${r.method} ${r.url}: no key answered ${anonymous.statusCode}`)
    for (const role of ['admin', 'invoker', 'viewer'] as Role[]) {
      const res = await spoke.app.inject({ method, url, headers: bearer(spoke.keys[role]) })
      const code = res.headers['content-type']?.toString().includes('json') ? res.json().code : undefined
      const refused = res.statusCode === 403 && code === 'FORBIDDEN'
      if (expected.includes(role) && (refused || res.statusCode === 401)) failures.push(`${r.method} ${r.url}: ${role} refused (${res.statusCode})`)
      if (!expected.includes(role) && !refused) failures.push(`${r.method} ${r.url}: ${role} not refused (${res.statusCode})`)
    }
  }
  expect(failures).toEqual([])
})
