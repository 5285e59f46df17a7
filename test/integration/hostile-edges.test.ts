// Issue #24, item 8: functional edges found from outside (each failed before its fix).
// (a) a valid CQL of ~1,300 CJK characters matching more than one page: Confluence's next link, percent-
//     encoded, is past 8,192 characters; the spoke follows its cursor on the request already accepted;
// (b) GET /v1/connections/{alias}/setup with an org admin key whose Organizations API never answers: 200 with
//     orgAdmin.error within a few seconds (it was 500 INTERNAL after 15 s);
// (c) every non-JSON content type on a JSON route is 415 UNSUPPORTED_MEDIA_TYPE (text/plain was 400).
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'

let sim: Simulator
let t: TestSpoke
// (b)'s Organizations API: accepts connections and never answers a byte
let blackhole: Server
const held = new Set<Socket>()
beforeAll(async () => {
  blackhole = createServer((s) => { held.add(s); s.on('error', () => {}) })
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve))
  sim = await startSimulator({ seed: 'hostile-edges', size: { pages: 60, users: 20, groups: 3 } })
  const silentHost = `127.0.0.1:${(blackhole.address() as AddressInfo).port}`
  t = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_ALLOWED_HOSTS: `${new URL(sim.url).host},${silentHost}`, LOG_LEVEL: 'warn' })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
}, 30_000)
afterAll(async () => {
  await t?.close()
  await sim?.close()
  for (const s of held) s.destroy()
  await new Promise((resolve) => blackhole.close(resolve))
})

describe('(a) a long CJK CQL that matches more than one page', () => {
  // 1,300 CJK characters: 3 UTF-8 bytes each, 9 characters once percent-encoded (~11,700 in the next link).
  const cjk = Array.from({ length: 1_300 }, (_, i) => String.fromCodePoint(0x4e00 + (i * 7) % 20_000)).join('')
  const cql = `type = page OR title = "${cjk}"`
  const pages = (): number => Array.from(sim.data.content()).filter((c) => c.kind === 'page' && c.status === 'current').length

  it('pages with the cursor: every page once, no 502', async () => {
    expect(encodeURIComponent(cql).length).toBeGreaterThan(8_192)
    expect(pages()).toBeGreaterThan(10)
    const exec = async (input: Record<string, unknown>): Promise<any> => {
      const res = await http(t, 'POST', '/v1/actions/confluence.content.search/execute', { key: t.keys.invoker, body: { input } })
      expect([res.status, res.json().code]).toEqual([200, undefined])
      return res.json()
    }
    // one page of 10, then the cursor handed out
    const first = await exec({ cql, limit: 10 })
    expect(first.output.results).toHaveLength(10)
    expect(typeof first.output.nextCursor).toBe('string')
    const second = await exec({ cql, limit: 10, cursor: first.output.nextCursor })
    expect(second.output.results.length).toBeGreaterThan(0)
    // and the whole walk in one call
    const all = await exec({ cql, limit: 10, all: true })
    const ids = all.output.results.map((r: any) => r.id ?? r.content?.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.length).toBe(pages())
    expect(new Set([...first.output.results, ...second.output.results].map((r: any) => r.id ?? r.content?.id)).size).toBe(first.output.results.length + second.output.results.length)
  }, 30_000)
})

describe('(b) /setup when the Organizations API does not answer', () => {
  it('answers 200 with orgAdmin.error (UPSTREAM_TIMEOUT), not 500', async () => {
    // the alias's Organizations API base (its connectionUrl) is a host that accepts and stays silent
    const silent = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/`
    await connectSimulatorAlias(t, sim, { alias: 'edges_org', grant: 'client_credentials', doc: { connectionUrl: silent, orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey } } })
    const started = Date.now()
    const res = await http(t, 'GET', '/v1/connections/edges_org/setup', { key: t.keys.admin })
    const tookMs = Date.now() - started
    console.log(`setup with a silent Organizations API: ${res.status} after ${tookMs} ms`)
    expect(res.status).toBe(200)
    expect(res.json().orgAdmin).toMatchObject({ keyWorks: false, managedAccounts: null, error: { code: 'UPSTREAM_TIMEOUT' } })
  }, 30_000)
})

describe('(c) JSON routes take JSON only', () => {
  it.each(['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'text/html', 'application/octet-stream'])('%s is 415 UNSUPPORTED_MEDIA_TYPE', async (type) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/actions/confluence.content.search/execute',
      headers: { authorization: `Bearer ${t.keys.invoker}`, 'content-type': type },
      payload: JSON.stringify({ input: { cql: 'type = page' } })
    })
    expect([res.statusCode, String(res.headers['content-type']).split(';')[0], JSON.parse(res.body).code]).toEqual([415, 'application/problem+json', 'UNSUPPORTED_MEDIA_TYPE'])
  })
})
