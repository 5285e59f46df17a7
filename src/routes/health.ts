// Liveness, readiness and metrics. Readiness runs every registered check (Redis, actions loaded, ...)
// with a short timeout so a load balancer never waits on a dead Redis.
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../core'
import { OBSERVERS } from '../config/roles'

// Readiness plus the production preflight (src/preflight) as detail for operators.
const readiness = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
    preflight: {
      type: 'object',
      properties: {
        mode: { type: 'string' },
        outcome: { type: 'string' },
        checkedAt: { type: 'string' },
        findings: { type: 'array', items: { type: 'object', properties: { check: { type: 'string' }, level: { type: 'string' }, message: { type: 'string' } } } }
      }
    }
  }
}

const healthRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  app.get('/healthz', {
    config: { access: 'public' },
    schema: { tags: ['operations'], summary: 'The process is up', security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } }
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { access: 'public' },
    schema: {
      tags: ['operations'],
      summary: 'Redis reachable and actions loaded; the production preflight as detail',
      description: '`preflight` never changes readiness, except a refusal found at run time (Redis maxmemory-policy changed away from noeviction) under SPOKE_PREFLIGHT=enforce.',
      security: [],
      response: { 200: readiness, 503: readiness }
    }
  }, async (_req, reply) => {
    const [checks, preflight] = await Promise.all([core.readiness(), core.preflight.current()])
    if (core.preflight.runtimeRefusals(preflight).length > 0) checks.preflight = 'failed'
    const ready = Object.values(checks).every(c => c === 'ok')
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks, preflight })
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
