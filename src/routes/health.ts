// Liveness, readiness and metrics. Readiness runs every registered check (Redis, actions loaded, ...)
// with a short timeout so a load balancer never waits on a dead Redis.
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../core'
import { OBSERVERS } from '../config/roles'

const healthRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { tags: ['operations'], summary: 'The process is up', security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary: 'Redis reachable and actions loaded',
      security: [],
      response: {
        200: { $ref: 'Readiness#' },
        503: { $ref: 'Readiness#' }
      }
    }
  }, async (_req, reply) => {
    const checks = await core.readiness()
    const ready = Object.values(checks).every(c => c === 'ok')
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks })
  })

  app.get('/metrics', {
    config: { access: OBSERVERS },
    schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] }
  }, async (_req, reply) => {
    const text = await core.metrics.registry.metrics()
    return reply.type(core.metrics.registry.contentType).send(text)
  })
}

export default healthRoutes
