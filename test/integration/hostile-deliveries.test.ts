// Issue #24, item 6: signed deliveries could be replayed (callbacks and webhook batches were signed over the
// body only, with no id or time). Every delivery now carries the Standard Webhooks headers; the receiver side
// is the official `standardwebhooks` package: a fresh delivery verifies, the same delivery replayed after the
// receiver's window (5 minutes) does not, and neither does one whose timestamp was moved forward to look
// fresh. Checked for job callbacks and for the crawl's webhook batches (each failed before: no headers).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'

// Not a whsec_ secret: the receiver passes `whsec_` + its base64 to the verifier (docs/webhooks.md).
const SECRET = 'hostile-deliveries-secret-0123456789'
const receiverSecret = `whsec_${Buffer.from(SECRET, 'utf8').toString('base64')}`

interface Delivery { path: string, headers: IncomingHttpHeaders, body: string, at: number }

let sim: Simulator
let t: TestSpoke
let server: Server
let base: string
const deliveries: Delivery[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  sim = await startSimulator({ seed: 'hostile-deliveries', size: { pages: 20, users: 10, groups: 2 } })
  t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_SECRET: SECRET, SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' }, { workers: true })
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
}, 30_000)
afterAll(async () => {
  await t?.close()
  await sim?.close()
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
})
afterEach(() => { jest.restoreAllMocks() })

const headersOf = (d: Delivery): Record<string, string> => Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, String(v)]))

async function until<T> (what: string, get: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = get()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** What a receiver following docs/webhooks.md does with one delivery, at receiver time `now`. */
function verifyAt (d: Delivery, now: number, headers = headersOf(d)): unknown {
  jest.spyOn(Date, 'now').mockReturnValue(now)
  try { return new Webhook(receiverSecret).verify(d.body, headers) } finally { jest.restoreAllMocks() }
}

function expectReplayRefused (d: Delivery): void {
  // fresh: verifies, and the id and timestamp are the Standard Webhooks ones
  expect(d.headers['webhook-id']).toMatch(/\S/)
  expect(d.headers['webhook-timestamp']).toMatch(/^\d+$/)
  expect(String(d.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
  expect(Math.abs(Number(d.headers['webhook-timestamp']) * 1000 - d.at)).toBeLessThan(60_000)
  expect(verifyAt(d, d.at)).toEqual(JSON.parse(d.body))
  // replayed six minutes later, as captured: refused (outside the 5-minute window)
  expect(() => verifyAt(d, d.at + 6 * 60_000)).toThrow(WebhookVerificationError)
  expect(() => verifyAt(d, d.at + 6 * 60_000)).toThrow(/too old/)
  // replayed with the timestamp moved to "now": the signature no longer matches
  const later = d.at + 6 * 60_000
  const moved = { ...headersOf(d), 'webhook-timestamp': String(Math.floor(later / 1000)) }
  expect(() => verifyAt(d, later, moved)).toThrow(/No matching signature/)
  // another message id with the same body and time: refused too (the id is signed)
  const renamed = { ...headersOf(d), 'webhook-id': `${String(d.headers['webhook-id'])}x` }
  expect(() => verifyAt(d, d.at, renamed)).toThrow(/No matching signature/)
}

it('a job callback carries webhook-id/-timestamp/-signature; a replay after the window fails verification', async () => {
  const id = await submitJob(t, 'confluence.user.current', { input: {}, callbackUrl: `${base}/callback?token=abc` })
  const d = await until('callback', () => deliveries.find((x) => x.path.startsWith('/callback') && JSON.parse(x.body).id === id))
  expect(JSON.parse(d.body)).toMatchObject({ id, state: 'completed' })
  // the message id is the delivery's: the same on every retry of this run's callback
  expect(d.headers['webhook-id']).toBe(`${id}-cb0`)
  expectReplayRefused(d)
  await waitForJob(t, id, (j) => j.callback?.state === 'delivered')
}, 30_000)

it('crawl webhook batches are signed the same way, one message id per batch', async () => {
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'webhook', url: `${base}/crawl` } } })
  const job = await waitForJob(t, id, undefined, 30_000)
  expect(job.state).toBe('completed')
  const batches = deliveries.filter((x) => x.path === '/crawl')
  expect(batches.length).toBeGreaterThan(1)
  expect(batches.map((b) => b.headers['webhook-id'])).toEqual(batches.map((b) => `${id}.${JSON.parse(b.body).sequence as number}`))
  for (const b of batches) expectReplayRefused(b)
}, 40_000)
