// buildApp: the Fastify app as a plain factory (no listen, no signals) so tests build the real thing.
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Core } from './core'
import { ApiKeyRing, type HashedApiKey } from './lib/api-keys'
import { SessionStore } from './lib/sessions'
import { ApiKeyFailureThrottle } from './lib/sign-in-throttle'
import adminPages from './routes/admin-pages'
import errorHandler, { sendProblem } from './plugins/error-handler'
import { RequestInvalidError } from './errors/errors'
import { limitJsonDepth } from './lib/json-depth'
import { answerExpectation, clientErrorHandler } from './plugins/client-errors'
import auth, { type RouteAccess } from './plugins/auth'
import metricsPlugin from './plugins/metrics'
import openapi from './plugins/openapi'
import securityHeaders from './plugins/security-headers'
import { traceRequests } from './plugins/tracing'
import healthRoutes from './routes/health'
import actionRoutes from './routes/actions'
import connectionRoutes from './routes/connections'
import connectionSetupRoutes from './routes/connection-setup'
import oauthRoutes from './routes/oauth'
import jobRoutes from './routes/jobs'
import scheduleRoutes from './routes/schedules'
import triggerRoutes from './routes/triggers'
import queuesDashboard from './routes/queues-dashboard'
import mcpRoutes from './routes/mcp'
import { parseTraceparent, traceIdOf } from './lib/trace-context'
import { HTTP } from './lib/ajv-options'

export interface BuildAppOptions {
  core: Core
  apiKeys: HashedApiKey[]
  logger: Logger
  /** Largest accepted request body; big enough for a 10,000-account bulk job. */
  bodyLimit?: number
  /** Serve only /healthz, /readyz and /metrics (a worker process, SPOKE_ROLE=worker). */
  operationsOnly?: boolean
}

export interface RouteEntry { method: string, url: string, access?: RouteAccess, browser?: boolean }

declare module 'fastify' {
  interface FastifyInstance { routeTable: RouteEntry[] }
}

/** A hop count as Fastify applies it (its types omit the number form). */
function trustProxyOption (trust: boolean | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export async function buildApp (opts: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit ?? 2 * 1024 * 1024,
    requestIdHeader: false,
    // Behind a load balancer, req.ip is the caller's address only for the proxies the operator trusts.
    trustProxy: trustProxyOption(opts.core.config.trustProxy),
    // Accept a caller's request id only when it is well formed; otherwise make one.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    // A caller's W3C trace id on every log line of its request (lib/trace-context.ts); nothing when absent.
    childLoggerFactory: (logger, bindings, opts, raw) => {
      const tp = parseTraceparent(raw.headers.traceparent)
      return logger.child(tp === undefined ? bindings : { ...bindings, traceId: traceIdOf(tp) }, opts)
    },
    ajv: { customOptions: { ...HTTP } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors the router raises before any route or hook runs: answer them as problems too.
    frameworkErrors: (err, _req, reply) => {
      const detail = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is longer than 200 characters' : 'The URL is not valid'
      void sendProblem(reply, new RequestInvalidError(detail))
    },
    // Malformed HTTP that never becomes a request: a problem+json answer on the socket.
    clientErrorHandler: clientErrorHandler(opts.logger),
    forceCloseConnections: 'idle',
    // One line per request (the onResponse hook below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true
  }) as unknown as FastifyInstance
  app.server.on('checkExpectation', answerExpectation)
  limitJsonDepth(app)
  // JSON routes take JSON only: Fastify's built-in text/plain parser would hand them a string (a 400), the
  // documented answer is 415 UNSUPPORTED_MEDIA_TYPE (the console's forms register their own parser).
  app.removeContentTypeParser('text/plain')
  app.addHook('onRequest', async (req, reply) => { reply.header('x-request-id', req.id) })
  // Server spans only when tracing is on (plugins/tracing.ts); with it off no hook is added.
  if (opts.core.tracing.enabled) traceRequests(app, opts.core.tracing)
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ req, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request completed')
  })
  // Every route and the access it declares, for the auth-matrix test and the admin page.
  const routeTable: RouteEntry[] = []
  app.decorate('routeTable', routeTable)
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    // Read access lazily: onRoute hooks of inner scopes (e.g. the docs scope) may still set it.
    for (const method of methods) routeTable.push({ method, url: route.url, get access () { return route.config?.access }, get browser () { return route.config?.browser } })
  })

  await app.register(errorHandler)
  await app.register(securityHeaders)
  await app.register(metricsPlugin, { metrics: opts.core.metrics })
  const keys = new ApiKeyRing(opts.apiKeys)
  const sessions = new SessionStore(opts.core.redis.store, opts.core.config.keyPrefix)
  const keyThrottle = new ApiKeyFailureThrottle(opts.core.redis.store, opts.core.config.keyPrefix)
  await app.register(auth, { keys, sessions, keyThrottle })
  // A worker process is watched like any other (liveness, readiness, its job and crawl metrics) and serves
  // nothing else: no actions, connections, docs or admin pages.
  if (opts.operationsOnly === true) {
    await app.register(healthRoutes, { core: opts.core })
    return app
  }
  await app.register(openapi)
  await app.register(healthRoutes, { core: opts.core })
  await app.register(actionRoutes, { core: opts.core })
  await app.register(connectionRoutes, { core: opts.core })
  await app.register(connectionSetupRoutes, { core: opts.core })
  await app.register(oauthRoutes, { core: opts.core })
  await app.register(jobRoutes, { core: opts.core })
  await app.register(scheduleRoutes, { core: opts.core })
  await app.register(triggerRoutes, { core: opts.core })
  await app.register(queuesDashboard, { core: opts.core })
  await app.register(mcpRoutes, { core: opts.core })
  await app.register(adminPages, { core: opts.core, keys, sessions })
  return app
}
