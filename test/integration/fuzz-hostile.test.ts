// The hostile-input fuzz of issue #15, beside fuzz-routes: malformed cookies on every browser route, deep JSON
// with and without Idempotency-Key, invalid Unicode in every string field of every action's input, raw
// malformed HTTP over a socket, and every spelling of an inside address as a callbackUrl or site.url.
// Asserts: never a 5xx, never a hang, every error problem+json with a code. Prints how many requests it sent.
import { connect as netConnect } from 'node:net'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, listen, simulatorEnv } from '../helpers/connect'

const SEED = 20261202
const HANG_MS = 5_000
let sim: Simulator
let t: TestSpoke
let sent = 0
let fiveXx = 0
const failures: string[] = []

beforeAll(async () => {
  sim = await startSimulator({ seed: 'fuzz-hostile', size: 5 })
  t = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_CALLBACK_SECRET: 'fuzz-hostile-callback-secret-0123456' })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
})
afterAll(async () => {
  console.log(`fuzz: ${sent} requests, ${fiveXx} 5xx`)
  await t?.close()
  await sim?.close()
})

async function withinTime<T> (what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${what}`)), HANG_MS) })])
  } finally { clearTimeout(timer) }
}

interface Answer { statusCode: number, headers: Record<string, unknown>, body: string }

/**
 * Records a 5xx, or an error that is not problem+json with a code. A console page asked for as HTML
 * (Accept: text/html) may answer an HTML error page instead, as long as it names the stable code.
 */
function judge (what: string, res: Answer, acceptsHtml = false): void {
  sent++
  if (res.statusCode >= 500) { fiveXx++; failures.push(`${what} → ${res.statusCode} ${res.body.slice(0, 200)}`); return }
  if (res.statusCode < 400) return
  const ctype = String(res.headers['content-type'] ?? '')
  if (acceptsHtml && ctype.startsWith('text/html') && /<code>[A-Z][A-Z_]+<\/code>/.test(res.body)) return
  let code: unknown
  try { code = (JSON.parse(res.body) as { code?: unknown }).code } catch {}
  if (!ctype.startsWith('application/problem+json') || typeof code !== 'string' || !/^[A-Z][A-Z_]+$/.test(code)) {
    failures.push(`${what} → ${res.statusCode} ${ctype} ${res.body.slice(0, 120)}`)
  }
}

async function inject (what: string, opts: InjectOptions): Promise<Answer> {
  const res = await withinTime(what, t.app.inject(opts))
  judge(what, res, /text\/html/.test(String((opts.headers as Record<string, string> | undefined)?.accept ?? '')))
  return res
}

const concrete = (url: string): string => url.replace(/\*$/, 'x').replace(/:([A-Za-z_]+)/g, (_, name: string) =>
  name === 'alias' ? 'confluence_cloud' : name === 'queueName' ? 'run-action' : 'x')

it('malformed session cookies on every browser route', async () => {
  const routes = t.app.routeTable.filter(r => r.browser === true && r.method !== 'HEAD')
  const browserish = [...routes.map(r => ({ method: r.method, url: concrete(r.url) })), { method: 'POST', url: '/admin/logout' }, { method: 'GET', url: '/admin/login' }]
  expect(routes.length).toBeGreaterThan(10)
  const cookieValue = fc.oneof(
    fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%%', '%C0%AF', '%ED%A0%80', '"', '""', ';', '=', 'a'.repeat(4_000), '%uD800', '\\'),
    fc.stringOf(fc.constantFrom('%', 'A', 'e', '0', 'F', '=', ';', ' ', ',', '"', '\\', '~'), { maxLength: 30 })
  )
  await fc.assert(fc.asyncProperty(fc.constantFrom(...browserish), cookieValue, fc.boolean(), async (r, value, html) => {
    await inject(`${r.method} ${r.url} cookie=${value.slice(0, 40)}`, {
      method: r.method as InjectOptions['method'], url: r.url,
      headers: { cookie: `other=1; spoke_session=${value}; x=%`, ...(html ? { accept: 'text/html' } : {}) }
    })
    return true
  }), { numRuns: 500, seed: SEED })
  expect(failures.slice(0, 10)).toEqual([])
})

it('deep JSON on every JSON route, with and without Idempotency-Key', async () => {
  const routes = t.app.routeTable.filter(r => ['POST', 'PUT', 'PATCH'].includes(r.method) && !r.url.startsWith('/admin'))
  // The envelope adds one level: every body is over the limit of 64.
  const nested = fc.tuple(fc.integer({ min: 64, max: 6_000 }), fc.array(fc.constantFrom('[', '{"a":', '{"input":'), { minLength: 1, maxLength: 3 }))
    .map(([depth, opens]) => {
      let open = ''
      let close = ''
      for (let i = 0; i < depth; i++) { const o = opens[i % opens.length]; open += o; close = (o === '[' ? ']' : '}') + close }
      return `{"input":${open}1${close}}`
    })
  await fc.assert(fc.asyncProperty(fc.constantFrom(...routes), nested, fc.option(fc.string({ minLength: 1, maxLength: 20 }).filter(s => /^[\x21-\x7e]+$/.test(s))), async (r, body, key) => {
    const roles = r.access === 'public' ? [] : r.access ?? ['admin']
    const auth = roles.includes('admin') ? t.keys.admin : t.keys.invoker
    const res = await inject(`${r.method} ${r.url} depth body ${body.length}B key=${String(key)}`, {
      method: r.method as InjectOptions['method'], url: concrete(r.url), payload: body,
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json', ...(key !== null ? { 'idempotency-key': key } : {}) }
    })
    return res.statusCode === 400 && JSON.parse(res.body).code === 'REQUEST_INVALID'
  }), { numRuns: 300, seed: SEED })
  expect(failures.slice(0, 10)).toEqual([])
})

type Schema = { type?: string | string[], items?: Schema, properties?: Record<string, Schema>, required?: string[], enum?: unknown[], minimum?: number }

/** A plausible value for a schema: enough to get past `required`, not necessarily valid. */
function sample (s: Schema): unknown {
  if (s.enum !== undefined) return s.enum[0]
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  if (type === 'integer' || type === 'number') return s.minimum ?? 1
  if (type === 'boolean') return false
  if (type === 'array') return [sample(s.items ?? { type: 'string' })]
  if (type === 'object') return Object.fromEntries((s.required ?? []).map(k => [k, sample(s.properties?.[k] ?? {})]))
  return '123'
}

it('invalid Unicode in every string field of every action input', async () => {
  const invalid = fc.oneof(
    fc.integer({ min: 0xd800, max: 0xdfff }).map(c => `a${String.fromCharCode(c)}b`),
    fc.integer({ min: 0xd800, max: 0xdfff }).map(c => String.fromCharCode(c)),
    fc.constantFrom('\ud83d', '\ude00x', 'x\ud83d\ud83d', '\ufffe', '\uffff', '\u0000', '\ufeff', '\u202e', 'a\u0000b', '%', '%ZZ', '../..', '\u{10ffff}', 'e\u0301'),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 20 })
  )
  const fields: Array<{ action: string, path: string[], array: boolean }> = []
  for (const a of t.core.actions.list()) {
    const props = (a.input as Schema).properties ?? {}
    for (const [name, s] of Object.entries(props)) {
      if (s.type === 'string') fields.push({ action: a.id, path: [name], array: false })
      if (s.type === 'array' && s.items?.type === 'string') fields.push({ action: a.id, path: [name], array: true })
    }
  }
  expect(fields.length).toBeGreaterThan(15)
  for (const f of fields) {
    const action = t.core.actions.get(f.action)
    const base = sample(action.summary.input as Schema) as Record<string, unknown>
    await fc.assert(fc.asyncProperty(invalid, async (bad) => {
      const input = { ...base, [f.path[0]]: f.array ? [bad] : bad }
      await inject(`${f.action} ${f.path.join('.')}=${JSON.stringify(bad)}`, {
        method: 'POST', url: `/v1/actions/${f.action}/execute`, payload: JSON.stringify({ input }),
        headers: { authorization: `Bearer ${t.keys.admin}`, 'content-type': 'application/json' }
      })
      return true
    }), { numRuns: 20, seed: SEED })
  }
  expect(failures.slice(0, 10)).toEqual([])
})

/** Raw bytes over a socket; the first status line, headers and body once the server closes (or HANG_MS). */
async function rawExchange (bytes: string): Promise<Answer | undefined> {
  const base = new URL(await listen(t))
  const text = await withinTime(`raw ${JSON.stringify(bytes.slice(0, 60))}`, new Promise<string>((resolve, reject) => {
    const socket = netConnect(Number(base.port), base.hostname)
    let answer = ''
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1') })
    socket.on('error', (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(answer) : reject(err))
    socket.on('close', () => resolve(answer))
    socket.end(Buffer.from(bytes, 'latin1'))
  }))
  if (text === '') return undefined
  const [head, ...rest] = text.split('\r\n\r\n')
  const [statusLine, ...headerLines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of headerLines) { const i = l.indexOf(':'); headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim() }
  // The first response only (an incomplete request may be answered twice: at its headers and at EOF).
  let body = rest.join('\r\n\r\n')
  if (headers['content-length'] !== undefined) body = Buffer.from(body, 'latin1').subarray(0, Number(headers['content-length'])).toString('latin1')
  else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n[\s\S]*$/, '')
  return { statusCode: Number(statusLine.split(' ')[1]), headers, body }
}

it('raw malformed HTTP over a socket', async () => {
  const fixed = [
    'GET /v1/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`,
    'GET /health HTTP/1.1\r\nHost: x\r\nExpect: fuzz\r\n\r\n',
    'GET /health HTTP/9.9\r\nHost: x\r\n\r\n',
    'G\u0000T /health HTTP/1.1\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
    'POST /v1/actions/confluence.user.current/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a"',
    'GET /health HTTP/1.1\nHost: x\n\n',
    '\r\n\r\n',
    'GET\r\n\r\n',
    'GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET /admin HTTP/1.1\r\nHost: x\r\nCookie: spoke_session=%\r\nAccept: text/html\r\nConnection: close\r\n\r\n',
    'GET /admin/queues/api/queues HTTP/1.1\r\nHost: x\r\nCookie: spoke_session=%E0%A4%A\r\nConnection: close\r\n\r\n'
  ]
  const garbageLine = fc.string({ unit: 'binary-ascii', maxLength: 60 })
  const generated = fc.tuple(
    fc.constantFrom('GET', 'POST', 'PUT', 'FOO', 'G T', 'PRI', ''),
    fc.constantFrom('/health', '/v1/jobs', '/admin', '*', 'http://x/', '/\u0001', '/a b'),
    fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', ''),
    fc.array(garbageLine, { maxLength: 4 })
  ).map(([m, p, v, lines]) => `${m} ${p} ${v}\r\nHost: x\r\nConnection: close\r\n${lines.map(l => `${l}\r\n`).join('')}\r\n`)
  const all = [...fixed, ...fc.sample(generated, { numRuns: 400, seed: SEED })]
  for (const bytes of all) {
    const res = await rawExchange(bytes)
    sent++
    if (res === undefined) continue // the server closed without a word (only for a bare reset): not an error answer
    sent-- // judge counts it
    judge(`raw ${JSON.stringify(bytes.slice(0, 80))}`, res)
  }
  expect(failures.slice(0, 10)).toEqual([])
})

it('every spelling of an inside address as a callbackUrl or site.url', async () => {
  const hosts = ['127.0.0.1:6379', '[::1]', '0x7f000001', '2130706433', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', 'localhost:6379',
    'LOCALHOST', 'localhost.', '10.0.0.1', '192.168.0.1', '172.16.0.1', '100.64.0.1', '169.254.169.254', '[fe80::1]', '[fd12::1]', '0.0.0.0', '0', '[::]',
    '[64:ff9b::a9fe:a9fe]', '[::127.0.0.1]', '[2002:a9fe:a9fe::]', '224.0.0.1', '255.255.255.255', '①②⑦.0.0.1', '127.0.0.1.', '0x7f.1', '017700000001',
    'metadata.google.internal', '169.254.169.254.nip.io', 'nowhere.invalid']
  for (const host of hosts) {
    for (const scheme of ['http', 'https']) {
      const callbackUrl = `${scheme}://${host}/hook`
      const res = await inject(`callbackUrl ${callbackUrl}`, {
        method: 'POST', url: '/v1/actions/confluence.user.current/execute', payload: { input: {}, mode: 'async', callbackUrl },
        headers: { authorization: `Bearer ${t.keys.invoker}` }
      })
      // Refused by the policy, or before it by the envelope schema (a non-ASCII host is not a `uri`).
      if (res.statusCode !== 400 || !['CALLBACK_URL_FORBIDDEN', 'REQUEST_INVALID'].includes(JSON.parse(res.body).code)) failures.push(`callbackUrl ${callbackUrl} accepted: ${res.statusCode}`)
      const site = await inject(`site.url ${callbackUrl}`, {
        method: 'PUT', url: '/v1/connections/fuzzsite', payload: { site: { url: callbackUrl }, credential: { type: 'oauth2_client_credentials', clientId: 'a', clientSecret: 'b' } },
        headers: { authorization: `Bearer ${t.keys.admin}` }
      })
      if (site.statusCode !== 400) failures.push(`site.url ${callbackUrl} accepted: ${site.statusCode}`)
    }
  }
  expect(failures.slice(0, 10)).toEqual([])
  expect(fiveXx).toBe(0)
})
