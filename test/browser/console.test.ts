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
    expect(await page.$eval('#remove', (el: any) => [...el.options].map((o: any) => String(o.value)))).toEqual([group.id])
    await shot(page, '07-groups')
    const view = await spoke.core.connections.aliases.get(ALIAS)
    expect(view.managedGroups).toEqual([{ groupId: group.id, name: group.name }])
    noProblems(admin)
  })

  let jobId: string
  let failedJobId: string
  it('runs an action that needs a managed group (dry run, as a job) and follows the job in the console', async () => {
    const group = (await spoke.core.connections.aliases.get(ALIAS)).managedGroups![0]
    const accountId = sim.data.users().find(u => u.accountType === 'atlassian')!.accountId
    const run = async (groupId: string): Promise<string> => {
      const res = await request(`${base}/v1/actions/confluence.group.member.add/execute`, {
        method: 'POST',
        headers: { authorization: `Bearer ${spoke.keys.invoker}`, 'content-type': 'application/json' },
        body: JSON.stringify({ connection: ALIAS, mode: 'async', input: { groupId, accountId, dryRun: true } })
      })
      expect(res.statusCode).toBe(202)
      return ((await res.body.json()) as { jobId: string }).jobId
    }
    jobId = await run(group.groupId)
    failedJobId = await run('not-a-managed-group') // refused: GROUP_NOT_MANAGED
    const { page } = admin
    await clickAndWait(page, 'a[href="/admin/jobs"]')
    await clickAndWait(page, `a[href="/admin/jobs/${jobId}"]`)
    for (let i = 0; i < 50 && !(await html(page)).includes('<td>completed</td>'); i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      await page.reload()
    }
    const text = await html(page)
    expect(text).toContain('<td>completed</td>')
    expect(text).toContain('"dryRun": true')
    await shot(page, '08-job')
    noProblems(admin)
  })

  it('retries a failed job from its page', async () => {
    const { page } = admin
    await page.goto(`${base}/admin/jobs/${failedJobId}`)
    for (let i = 0; i < 50 && !(await html(page)).includes('GROUP_NOT_MANAGED'); i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      await page.reload()
    }
    expect(await html(page)).toContain('GROUP_NOT_MANAGED')
    await clickAndWait(page, `form[action="/admin/jobs/${failedJobId}/retry"] button`)
    expect(await html(page)).toContain('Job queued again.')
    noProblems(admin)
  })

  it('refuses a change posted without the session\'s CSRF token', async () => {
    const { page } = admin
    admin.expectRefusal(new RegExp(`/admin/aliases/${ALIAS}/test$`))
    await Promise.all([page.waitForNavigation(), page.evaluate((action: string) => {
      const document = (globalThis as any).document // runs in the page (no DOM types in this project)
      const f = document.createElement('form')
      f.method = 'post'; f.action = action
      document.body.append(f); f.submit()
    }, `/admin/aliases/${ALIAS}/test`)])
    expect(await html(page)).toContain('CSRF token missing or wrong')
    admin.expectRefusal(undefined)
    expect(admin.problems).toEqual([])
  })

  it('signs out', async () => {
    const { page } = admin
    await clickAndWait(page, 'form[action="/admin/logout"] button')
    expect(page.url()).toContain('/admin/login')
    noProblems(admin)
  })

  for (const javaScript of [false, true]) {
    it(`signs in from a "Get OAuth Token" link and reaches the consent (JavaScript ${javaScript ? 'on' : 'off'})`, async () => {
      const w = await open(javaScript)
      await signIn(w, spoke.keys.admin, `${base}/v1/connections/${ALIAS}/authorize`)
      await waitForUrl(w.page, u => u.startsWith(`${sim.url}/authorize`))
      await clickAndWait(w.page, 'button[name=decision][value=approve]')
      await waitForUrl(w.page, u => u.startsWith(`${base}/v1/oauth/callback`))
      expect(await html(w.page)).toContain('Connected')
      await shot(w.page, `10-signin-then-consent-js-${javaScript ? 'on' : 'off'}`)
      noProblems(w)
    })
  }

  it('works without JavaScript for an admin: Test connection and the groups picker', async () => {
    const w = await open(false)
    await signIn(w, spoke.keys.admin)
    await w.page.goto(`${base}/admin/aliases/${ALIAS}`)
    await clickAndWait(w.page, `form[action="/admin/aliases/${ALIAS}/test"] button`)
    expect(await html(w.page)).toContain('Test connection: <span class="ok">OK</span>')
    await w.page.goto(`${base}/admin/aliases/${ALIAS}/groups`)
    const managedNow = (await spoke.core.connections.aliases.get(ALIAS)).managedGroups!.map(g => g.groupId)
    const other = sim.data.groups().find(g => g.name !== 'site-admins' && !managedNow.includes(g.id))!
    await w.page.select('#add', other.id)
    await clickAndWait(w.page, 'button[name=op][value=add]')
    expect(await html(w.page)).toContain('Managed groups saved.')
    const managed = (await spoke.core.connections.aliases.get(ALIAS)).managedGroups!.map(g => g.groupId)
    expect(managed).toContain(other.id)
    await w.page.select('#remove', other.id)
    await clickAndWait(w.page, 'button[name=op][value=remove]')
    expect((await spoke.core.connections.aliases.get(ALIAS)).managedGroups!.map(g => g.groupId)).not.toContain(other.id)
    noProblems(w)
  })

  it('shows a viewer everything read-only (JavaScript off): no form but sign-out, admin pages refused', async () => {
    const w = await open(false)
    await signIn(w, spoke.keys.viewer)
    for (const path of ['/admin', `/admin/aliases/${ALIAS}`, `/admin/aliases/${ALIAS}/groups`, '/admin/jobs', `/admin/jobs/${jobId}`, `/admin/jobs/${failedJobId}`, '/admin/crawls', '/admin/schedules']) {
      await w.page.goto(`${base}${path}`)
      const forms = await w.page.$$eval('form', (fs) => fs.map(f => f.getAttribute('action')))
      expect({ path, forms: forms.filter(a => a !== '/admin/logout' && a !== '/admin/jobs' && a !== '/admin/crawls') }).toEqual({ path, forms: [] })
      const text = await html(w.page)
      expect(text).toContain('Signed in as viewer (read-only)')
      for (const word of ['Edit alias', 'New alias', '>Edit<', 'Get OAuth Token</a>', 'Delete', '>Retry<', '>Cancel<']) expect({ path, has: text.includes(word), word }).toEqual({ path, has: false, word })
    }
    await shot(w.page, '11-viewer')
    w.expectRefusal(/\/admin\/aliases\/new$/)
    await w.page.goto(`${base}/admin/aliases/new`)
    expect(await html(w.page)).toContain('Not allowed')
    w.expectRefusal(undefined)
    expect(w.problems).toEqual([])
  })

  it('adds a child alias, inactive: the parent keeps running as itself', async () => {
    const w = await open(true)
    await signIn(w, spoke.keys.admin, `${base}/admin/aliases/${ALIAS}`)
    const { page } = w
    await clickAndWait(page, `a[href="/admin/aliases/new?parent=${ALIAS}"]`)
    await page.type('#id', 'acme_emea')
    await page.type('#name', 'Acme EMEA')
    await page.select('#grant', '') // the parent's credential
    await clickAndWait(page, 'button[name=then][value=view]')
    expect(page.url()).toBe(`${base}/admin/aliases/acme_emea?done=saved`)
    expect(await html(page)).toContain('not the active child') // a child without a token would break its parent
    await clickAndWait(page, `a[href="/admin/aliases/${ALIAS}"]`)
    expect(await html(page)).toContain(`run as <strong>${ALIAS}</strong> (no active child)`)
    await shot(page, '09-parent-resolves-to-child')
    noProblems(w)
  })


  it('Bull Board and Swagger UI load nothing from outside, raise no CSP error, link back, and hide stack traces from viewers', async () => {
    const w = await open(true)
    await signIn(w, spoke.keys.viewer, `${base}/admin/queues`)
    await w.page.goto(`${base}/admin/queues`, { waitUntil: 'networkidle0' })
    expect(await w.page.$eval('#spoke-console-link', (a: any) => String(a.getAttribute('href')))).toBe('/admin')
    await shot(w.page, '12-bull-board')
    const failed = `${base}/admin/queues/api/queues?activeQueue=${spoke.core.jobs.queue.name}&status=failed&page=1`
    // An admin sees the failed job's stack trace (so the viewer's check below is not vacuous)...
    const asAdmin = await request(failed, { headers: { authorization: `Bearer ${spoke.keys.admin}` } })
    expect(await asAdmin.body.text()).toMatch(/"stacktrace":\["/)
    // ...a viewer does not.
    await w.page.goto(failed)
    const listed = await html(w.page)
    expect(listed).toContain('GROUP_NOT_MANAGED')
    expect(listed).not.toMatch(/"stacktrace":\["/)
    expect(listed).not.toMatch(/\.ts:\d+|node_modules/)
    await w.page.goto(`${base}/docs`, { waitUntil: 'networkidle0' })
    await w.page.waitForSelector('.swagger-ui .info')
    expect(await w.page.$('.swagger-ui .info a[href="/admin"]')).not.toBeNull()
    await shot(w.page, '13-swagger')
    expect(browser.urls.filter(u => !u.startsWith(base) && !u.startsWith(sim.url) && !u.startsWith('data:'))).toEqual([])
    noProblems(w)
  })

  it('leaves no secret in any page, URL or log line of the walk, and stays quick', async () => {
    const tokens = await spoke.core.connections.tokens.readTokens(ALIAS)
    const secrets: Record<string, string | undefined> = {
      'client secret': sim.clientSecret,
      'wrong client secret': WRONG_SECRET,
      'admin key': spoke.keys.admin,
      'invoker key': spoke.keys.invoker,
      'viewer key': spoke.keys.viewer,
      'access token': tokens.set?.accessToken,
      'refresh token': tokens.set?.refreshToken
    }
    sessionIds.forEach((id, i) => { secrets[`session id ${i}`] = id })
    expect(tokens.set?.accessToken).toBeTruthy()
    expect(sessionIds.length).toBeGreaterThanOrEqual(5)
    const { read: bodies, unreadable } = await browser.bodies()
    expect(bodies.length).toBeGreaterThan(20)
    if (unreadable > 0) process.stderr.write(`secret scan: ${unreadable} answer bodies could not be read from the browser\n`)
    expect(unreadable).toBeLessThanOrEqual(2)
    const places: Array<[string, string]> = [
      ...bodies.map(b => [`page ${b.url}`, b.body] as [string, string]),
      ...browser.urls.map(u => [`URL ${u}`, decodeURIComponent(u)] as [string, string]),
      ['spoke log', spoke.logs()]
    ]
    const found: string[] = []
    for (const [what, secret] of Object.entries(secrets)) {
      if (!secret) continue
      for (const [where, text] of places) if (text.includes(secret)) found.push(`${what} in ${where.slice(0, 120)}`)
    }
    expect(found).toEqual([])
    // Who did what: audit lines name the role and the key's fingerprint.
    expect(spoke.logs()).toMatch(/"audit":"alias created","by":\{"role":"admin","keyId":"[0-9a-f]{8}"\}/)
    for (const w of watched) expect(w.problems).toEqual([])
    expect(Date.now() - started).toBeLessThan(90_000)
  })
})
