// A stand-in Atlassian API host for the spec-sampled property tests: gateway requests
// (`/ex/confluence/{cloudId}/wiki/...`) are answered by the test (with bodies generated from the official
// spec); everything else (token, accessible-resources) is forwarded to a running simulator, so an alias can
// connect as usual with its connectionUrl pointing here.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'

export interface UpstreamRequest { method: string, /** site path, `/wiki/...` */ path: string, query: URLSearchParams }
export interface UpstreamAnswer { status: number, body?: unknown, headers?: Record<string, string> }
export type Answerer = (req: UpstreamRequest) => UpstreamAnswer

export interface SpecUpstream {
  url: string
  /** How gateway requests are answered from now on (default: 500, so a forgotten answer shows). */
  answer: (fn: Answerer) => void
  /** Answer this non-gateway path here instead of forwarding it (e.g. accessible-resources); undefined forwards again. */
  override: (path: string, fn: Answerer | undefined) => void
  close: () => Promise<void>
}

const GATEWAY = /^\/ex\/confluence\/[^/]+(\/wiki\/.*)$/

export async function startSpecUpstream (forwardTo: string): Promise<SpecUpstream> {
  let answerer: Answerer = () => ({ status: 500, body: { message: 'no answer configured' } })
  const overrides = new Map<string, Answerer>()

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => { res.statusCode = 599; res.end(err.message) })
  })
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://upstream.invalid')
    const gateway = GATEWAY.exec(url.pathname)
    const own = gateway !== null ? answerer : overrides.get(url.pathname)
    if (own !== undefined) {
      for await (const _ of req) { /* drain the request body */ }
      const out = own({ method: req.method ?? 'GET', path: gateway?.[1] ?? url.pathname, query: url.searchParams })
      res.writeHead(out.status, { ...(out.body !== undefined ? { 'content-type': 'application/json' } : {}), ...out.headers })
      res.end(out.body !== undefined ? JSON.stringify(out.body) : undefined)
      return
    }
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const headers: Record<string, string> = {}
    for (const h of ['authorization', 'content-type', 'accept']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h]
    const forwarded = await request(forwardTo + (req.url ?? '/'), { method: req.method as 'GET', headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined })
    const text = await forwarded.body.text()
    const type = forwarded.headers['content-type']
    res.writeHead(forwarded.statusCode, typeof type === 'string' ? { 'content-type': type } : {})
    res.end(text)
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    answer: (fn) => { answerer = fn },
    override: (path, fn) => { if (fn === undefined) overrides.delete(path); else overrides.set(path, fn) },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
