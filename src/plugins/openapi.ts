// /openapi.json (OpenAPI 3.1, generated from the route schemas, amended by routes/api-docs.ts) and /docs (Swagger UI),
// both public. Swagger UI loads nothing from outside hosts (no validator badge) and links back to the console.
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { problemSchema } from '../lib/problem'
import { documentRoute } from '../routes/api-docs'

export default fp(async (app) => {
  app.addSchema(problemSchema)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Confluence Cloud spoke',
        version: '1.0.0',
        description: 'Declarative actions against Confluence Cloud, connection aliases with OAuth 2.0, and jobs.\n\n[← Admin console](/admin) · [Queue dashboard](/admin/queues)'
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <api key>' } } },
      security: [{ apiKey: [] }]
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json.$id ?? `def-${i}`) },
    transform: documentRoute as never
  })
  await app.register(async (docs) => {
    // Routes registered by Swagger UI carry no config of ours: mark them public here.
    docs.addHook('onRoute', (route) => { route.config = { ...(route.config ?? {}), access: 'public' } })
    await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, validatorUrl: null } })
  })
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger())
}, { name: 'openapi' })
