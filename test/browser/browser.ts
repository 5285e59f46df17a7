// A real browser for the console tests: Debian's chromium driven by puppeteer-core (which brings no browser of its
// own). Every page opened through `open` is watched: console errors, page errors, failed requests and error
// answers fail the test unless the step said it expects a refusal; every HTML answer and URL is kept for the
// secret scan; screenshots go to .data/screenshots/ (git-ignored), as CI artifacts.
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core'

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'].filter(Boolean) as string[]
export const chromiumPath: string | undefined = CANDIDATES.find(p => existsSync(p))
export const SCREENSHOTS = path.join(__dirname, '..', '..', '.data', 'screenshots')

export interface Watched {
  page: Page
  /** Problems seen so far (console errors, failed requests, unexpected error answers). */
  problems: string[]
  /** Allow error answers (and the console line Chromium writes for them) from URLs matching this, for a refusal step. */
  expectRefusal: (pattern: RegExp | undefined) => void
  /** Navigations answered with JSON (a person should always get a page). */
  jsonNavigations: string[]
  /** Pages of `layoutOrigin` laid out wider than the viewport, measured at each load ("url: scrollWidth > innerWidth"). */
  tooWide: string[]
  /** Waits for the layout measurements still running. */
  measured: () => Promise<void>
}

export class ConsoleBrowser {
  readonly urls: string[] = []
  readonly html: Array<{ url: string, body: string }> = []
  private readonly pending: Array<Promise<void>> = []
  private settled = 0
  private constructor (readonly browser: Browser) {}

  static async launch (): Promise<ConsoleBrowser> {
    mkdirSync(SCREENSHOTS, { recursive: true })
    const browser = await puppeteer.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions']
    })
    return new ConsoleBrowser(browser)
  }

  /** A fresh incognito context (its own cookies), optionally with JavaScript off. */
  async open (opts: { javaScript: boolean, viewport?: { width: number, height: number }, layoutOrigin?: string }): Promise<Watched & { context: BrowserContext }> {
    const context = await this.browser.createBrowserContext()
    const page = await context.newPage()
    await page.setJavaScriptEnabled(opts.javaScript)
    if (opts.viewport) await page.setViewport(opts.viewport)
    const jsonNavigations: string[] = []
    const tooWide: string[] = []
    const measuring: Array<Promise<void>> = []
    if (opts.layoutOrigin !== undefined) {
      const origin = opts.layoutOrigin
      page.on('load', () => {
        const url = page.url()
        if (!url.startsWith(origin)) return
        // page.evaluate runs with the page's JavaScript off too (it is the DevTools protocol's, not the page's).
        measuring.push(page.evaluate(() => { const g = globalThis as any; return [g.document.documentElement.scrollWidth, g.innerWidth] as [number, number] })
          .then(([scroll, inner]) => { if (scroll > inner) tooWide.push(`${url}: ${scroll} > ${inner}`) }, () => {}))
      })
    }
    page.setDefaultTimeout(15_000)
    const problems: string[] = []
    let allowed: RegExp | undefined
    const isAllowed = (url: string): boolean => allowed !== undefined && allowed.test(url)
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return
      const url = msg.location()?.url ?? ''
      if (isAllowed(url) || /favicon\.ico/.test(url)) return
      problems.push(`console error: ${msg.text()} (${url})`)
    })
    page.on('pageerror', (err) => { problems.push(`page error: ${String(err)}`) })
    page.on('requestfailed', (req) => {
      if (/favicon\.ico/.test(req.url())) return
      problems.push(`request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText ?? '?'})`)
    })
    page.on('request', (req) => { this.urls.push(req.url()) })
    page.on('response', (res) => {
      const url = res.url()
      if (res.status() >= 400 && !isAllowed(url) && !/favicon\.ico/.test(url)) problems.push(`error answer: ${res.status()} ${res.request().method()} ${url}`)
      const type = res.headers()['content-type'] ?? ''
      if (res.request().isNavigationRequest() && /json/.test(type)) jsonNavigations.push(`${res.status()} ${url}`)
      if (res.status() >= 300 && res.status() < 400) return
      if (/text\/html|json/.test(type)) this.pending.push(res.text().then(body => { this.html.push({ url, body }) }, () => {}).finally(() => { this.settled++ }))
      const location = res.headers().location
      if (location) this.urls.push(location)
    })
    return { page, context, problems, expectRefusal: (p) => { allowed = p }, jsonNavigations, tooWide, measured: async () => { await Promise.all(measuring) } }
  }

  /** Every answer body captured so far (waits for the ones still being read). */
  /**
   * Every answer body captured so far: waits for the ones still being read, at most 5 s (DevTools may never
   * hand over the body of a document the page left at once, such as a meta-refresh hop); those are listed.
   */
  async bodies (): Promise<{ read: Array<{ url: string, body: string }>, unreadable: number }> {
    const settled = await Promise.race([
      Promise.all(this.pending).then(() => true),
      new Promise<boolean>(resolve => setTimeout(() => resolve(false), 5_000).unref())
    ])
    return { read: this.html, unreadable: settled ? 0 : this.pending.length - this.settled }
  }

  async close (): Promise<void> { await this.browser.close() }
}

/** Polls the page's URL (works with JavaScript off, unlike waitForFunction). */
export async function waitForUrl (page: Page, test: (url: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (test(page.url())) return page.url()
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for the URL; still at ${page.url()}`)
}

/** Click and wait for the navigation it starts. */
export async function clickAndWait (page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)])
}

/** A screenshot artifact; one that cannot be taken is reported, never a test failure (it asserts nothing). */
export async function shot (page: Page, name: string): Promise<void> {
  try {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })
  } catch (err) {
    process.stderr.write(`screenshot ${name} not taken: ${err instanceof Error ? err.message : String(err)}\n`)
  }
}

/** The page's visible HTML (page.content works with JavaScript off: it reads the DOM over the protocol). */
export async function html (page: Page): Promise<string> {
  return page.content()
}
