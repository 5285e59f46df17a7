// The triggers pages in a real browser (headless Debian chromium through puppeteer-core) on a phone, 390×844,
// JavaScript off: an admin creates a trigger with the "New trigger" form, sends a test event (it reaches the
// receiver signed), pauses and resumes it; a viewer sees both pages read-only. No page may be laid out wider than
// the viewport; any browser console error, failed request, unexpected error answer or JSON answer to a
// navigation fails it.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { webhookHeaders } from '../../src/http/signed-post'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, listen, simulatorEnv } from '../helpers/connect'
import { ConsoleBrowser, chromiumPath, clickAndWait, html, shot, waitForUrl, type Watched } from './browser'

const describeWithBrowser = chromiumPath ? describe : describe.skip
jest.setTimeout(60_000)

const SECRET = 'console-triggers-secret'
const PHONE = { width: 390, height: 844 }

let sim: Simulator
let spoke: TestSpoke
let browser: ConsoleBrowser
let base = ''
let alias = ''
let receiver: Server
let receiverUrl = ''
const got: Array<{ body: any, signed: boolean }> = []

async function signIn (w: Watched, key: string): Promise<void> {
  await w.page.goto(`${base}/admin/triggers`)
  await waitForUrl(w.page, u => u.includes('/admin/login'))
  await w.page.type('#apiKey', key)
  await clickAndWait(w.page, 'form[action="/admin/login"] button[type=submit]')
  await waitForUrl(w.page, u => u.endsWith('/admin/triggers'))
}

function clean (w: Watched): void {
  expect(w.tooWide).toEqual([])
  expect(w.jsonNavigations).toEqual([])
  expect(w.problems).toEqual([])
}

describeWithBrowser('the triggers pages on a phone, JavaScript off', () => {
  beforeAll(async () => {
    sim = await startSimulator({ seed: 28, size: 10 })
    spoke = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn', SPOKE_CALLBACK_SECRET: SECRET, SPOKE_CALLBACK_ALLOW_PRIVATE: 'true' }, { workers: true })
    base = await listen(spoke)
    ;({ alias } = await connectSimulatorAlias(spoke, sim, { grant: 'client_credentials' }))
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString()
        const expected = webhookHeaders(String(req.headers['webhook-id']), raw, SECRET, new Date(Number(req.headers['webhook-timestamp']) * 1000))['webhook-signature']
        got.push({ body: JSON.parse(raw), signed: req.headers['webhook-signature'] === expected })
        res.statusCode = 204
        res.end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
    browser = await ConsoleBrowser.launch()
  })
  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => receiver?.close(resolve))
    await spoke?.close()
    await sim?.close()
  })

  it('an admin creates a trigger, sends a test event, pauses and resumes it', async () => {
    const w = await browser.open({ javaScript: false, viewport: PHONE, layoutOrigin: base })
    const page = w.page
    await signIn(w, spoke.keys.admin)
    expect(await html(page)).toContain('No trigger yet.')
    await page.type('#id', 'phone')
    await page.select('#connection', alias)
    await page.click('#events-1') // page.updated
    await page.click('#events-0') // page.created
    await page.type('#url', receiverUrl)
    await page.$eval('#every', (e: any) => { e.value = '' })
    await page.type('#every', '30')
    await clickAndWait(page, '#trigger-form button[type=submit]')
    expect(page.url()).toBe(`${base}/admin/triggers/phone?done=trigger-saved`)
    expect(await html(page)).toContain('Trigger saved.')

    await clickAndWait(page, 'form[action="/admin/triggers/phone/test"] button')
    expect(page.url()).toContain('done=test-delivered')
    expect(got.find((g) => g.body.type === 'trigger.test')).toMatchObject({ signed: true, body: { subscription: 'phone' } })
    expect(await html(page)).toContain('delivered (204)</span> · test event')

    await clickAndWait(page, 'form[action="/admin/triggers/phone/pause"] button')
    expect(page.url()).toContain('done=trigger-paused')
    expect((await spoke.core.triggers.get('phone')).state).toBe('paused')
    await shot(page, 'console-triggers-detail-phone')
    await clickAndWait(page, 'form[action="/admin/triggers/phone/resume"] button')
    expect((await spoke.core.triggers.get('phone')).state).toBe('active')

    await page.goto(`${base}/admin/triggers`)
    expect(await html(page)).toContain('<a href="/admin/triggers/phone">')
    await shot(page, 'console-triggers-list-phone')
    await w.measured()
    clean(w)
    await w.context.close()
  })

  it('a viewer sees the list and the trigger read-only, laid out within the phone', async () => {
    const v = await browser.open({ javaScript: false, viewport: PHONE, layoutOrigin: base })
    await signIn(v, spoke.keys.viewer)
    const list = await html(v.page)
    expect(list).toContain('<a href="/admin/triggers/phone">')
    expect(list).not.toContain('New trigger')
    await v.page.goto(`${base}/admin/triggers/phone`)
    const detail = await html(v.page)
    expect(detail).toContain('Last deliveries')
    expect(detail).not.toContain('<button type="submit">Pause</button>')
    expect(detail).not.toContain('Send a test event')
    await v.measured()
    clean(v)
    await v.context.close()
  })
})
