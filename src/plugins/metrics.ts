import fp from 'fastify-plugin'
import type { Metrics } from '../lib/metrics'

export default fp<{ metrics: Metrics }>(async (app, { metrics }) => {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    metrics.httpDuration.observe(
      { method: req.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000
    )
  })
}, { name: 'metrics' })
