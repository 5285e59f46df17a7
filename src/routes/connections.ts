// Connection admin API (docs/api.md#connections). Admin-only, except the two reads viewers may see too.
// Schemas: connection-schemas.ts. What /test and the group routes ask of Confluence runs through the action
// engine (actions/connection-checks.ts), the same functions an admin console calls.
import Ajv from 'ajv'
import type { FastifyPluginAsync, FastifySchemaCompiler } from 'fastify'
import type { Core } from '../core'
import { traceparentOf } from '../plugins/tracing'
import { RequestInvalidError } from '../errors/errors'
import { ADMIN_ONLY, OBSERVERS } from '../config/roles'
import { aliasBodySchema } from '../connections/alias-body-schema'
import { aliasParams, aliasViewSchema, errors, groupSchema, nullableString, problem, tokenViewSchema } from './connection-schemas'
import { siteGroups } from '../actions/connection-checks'
import { availableGroups, testConnection } from './connection-checks'
import { HTTP } from '../lib/ajv-options'
import { browserErrorHandler } from './admin/errors'

// Params and querystrings: the HTTP options every route validates with (lib/ajv-options.ts; query values are
// strings). Bodies: validated by the connection layer itself (same schema as the files, plus the SSRF
// guard), so every error is listed once.
const paramAjv = new Ajv({ ...HTTP, strict: false })
const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart === 'body') return () => true
  return paramAjv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>
}

const connectionRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const { aliases, sessions, consent } = core.connections
  app.setValidatorCompiler(validatorCompiler)

  app.get('/v1/connections', {
    config: { access: OBSERVERS },
    schema: {
      tags: ['connections'],
      summary: 'List the connection aliases (secrets never included)',
      response: { 200: { type: 'object', properties: { connections: { type: 'array', items: aliasViewSchema } } }, 401: problem, 403: problem }
    }
  }, async () => ({ connections: await aliases.list() }))

  app.get<{ Params: { alias: string } }>('/v1/connections/:alias', {
    config: { access: OBSERVERS },
    schema: { tags: ['connections'], summary: 'One alias with its token status', params: aliasParams, response: { 200: aliasViewSchema, ...errors } }
  }, async (req) => aliases.get(req.params.alias))

  app.put<{ Params: { alias: string }, Body: unknown }>('/v1/connections/:alias', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['connections'],
      summary: 'Create or replace an alias',
      description: 'Secrets (credential.clientSecret, orgAdmin.apiKey) are write-only; leave them out to keep the stored ones (same client).',
      params: aliasParams,
      body: aliasBodySchema(),
      response: { 200: aliasViewSchema, 201: aliasViewSchema, ...errors }
    }
  }, async (req, reply) => {
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new RequestInvalidError('The body must be a JSON alias document (object)')
    }
    const { view, created } = await aliases.put(req.params.alias, req.body)
    return reply.code(created ? 201 : 200).send(view)
  })

  app.delete<{ Params: { alias: string } }>('/v1/connections/:alias', {
    config: { access: ADMIN_ONLY },
    schema: { tags: ['connections'], summary: 'Delete an alias and its tokens', params: aliasParams, response: { 204: { type: 'null' }, ...errors } }
  }, async (req, reply) => {
    await aliases.delete(req.params.alias)
    return reply.code(204).send()
  })

  app.get<{ Params: { alias: string }, Querystring: { site?: string, redirect?: boolean } }>('/v1/connections/:alias/authorize', {
    config: { access: ADMIN_ONLY, browser: true },
    errorHandler: browserErrorHandler, // the console's "Get OAuth Token" link: a refusal is a page to a person
    schema: {
      tags: ['connections'],
      summary: 'Get OAuth Token (authorization code): redirect to Atlassian\'s consent page',
      description: '302 to the consent page, with a single-use state valid 10 minutes. `site` (URL or cloudId) picks the site when the grant reaches several. `redirect=false` answers the URL as JSON instead (for pages that cannot follow a redirect with an API key).',
      params: aliasParams,
      querystring: {
        type: 'object',
        properties: { site: { type: 'string', maxLength: 2048 }, redirect: { type: 'boolean', default: true } }
      },
      response: {
        200: { type: 'object', properties: { authorizeUrl: { type: 'string' }, expiresAt: { type: 'string' } } },
        302: { type: 'null', description: 'Location: the consent page' },
        ...errors
      }
    }
  }, async (req, reply) => {
    const { url, expiresAt } = await consent.begin(req.params.alias, req.query.site)
    if (req.query.redirect === false) return { authorizeUrl: url, expiresAt }
    return reply.redirect(url, 302)
  })

  app.post<{ Params: { alias: string } }>('/v1/connections/:alias/token', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['connections'],
      summary: 'Get OAuth Token: obtain (client credentials) or refresh (authorization code) now',
      params: aliasParams,
      response: { 200: { type: 'object', properties: { alias: { type: 'string' }, token: tokenViewSchema } }, ...errors, 502: problem, 504: problem }
    }
  }, async (req) => ({ alias: req.params.alias, token: await sessions.obtainNow(req.params.alias, traceparentOf(req)) }))

  app.post<{ Params: { alias: string } }>('/v1/connections/:alias/test', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['connections'],
      summary: 'Test a connection: site, account, granted scopes versus each action\'s scopes',
      params: aliasParams,
      response: {
        200: {
          type: 'object',
          properties: {
            ok: { type: 'boolean' },
            connection: { type: 'object', properties: { requested: { type: 'string' }, resolved: { type: 'string' } } },
            site: { anyOf: [{ type: 'object', properties: { cloudId: { type: 'string' }, url: { type: 'string' } } }, { type: 'null' }] },
            account: {
              anyOf: [{
                type: 'object',
                properties: { accountId: { type: 'string' }, displayName: { type: 'string' }, accountType: { type: 'string' }, email: nullableString }
              }, { type: 'null' }]
            },
            grantedScopes: { type: 'array', items: { type: 'string' } },
            missingScopes: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
            error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, retryable: { type: 'boolean' } } }
          }
        },
        ...errors
      }
    }
  }, async (req) => await testConnection(core, req.params.alias, req.id, traceparentOf(req)))

  const groupsBody = {
    type: 'object',
    required: ['groups'],
    additionalProperties: false,
    properties: { groups: { type: 'array', maxItems: 1000, items: groupSchema } }
  } as const

  app.get<{ Params: { alias: string } }>('/v1/connections/:alias/groups', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['connections'],
      summary: 'The managed groups (membership writes are refused for any other group)',
      params: aliasParams,
      response: { 200: { type: 'object', properties: { groups: { type: 'array', items: groupSchema } } }, ...errors }
    }
  }, async (req) => {
    const view = await aliases.get(req.params.alias)
    return { groups: view.managedGroups ?? [] }
  })

  app.put<{ Params: { alias: string }, Body: { groups: Array<{ groupId: string, name?: string }> } }>('/v1/connections/:alias/groups', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['connections'],
      summary: 'Replace the managed groups (each must exist on the site; names are filled in from Confluence)',
      params: aliasParams,
      body: groupsBody,
      response: { 200: { type: 'object', properties: { groups: { type: 'array', items: groupSchema } } }, ...errors, 502: problem, 504: problem }
    }
  }, async (req) => {
    const body = req.body as unknown
    const issues = validateGroupsBody(body)
    if (issues.length > 0) throw new RequestInvalidError(`Invalid body: ${issues.map(i => `${i.path} ${i.message}`).join('; ')}`, { errors: issues.map(i => ({ in: 'body', ...i })) })
    const wanted = (body as { groups: Array<{ groupId: string, name?: string }> }).groups
    await aliases.get(req.params.alias) // 404 first
    const available = await siteGroups(core, req.params.alias, req.id, traceparentOf(req))
    const byId = new Map(available.map(g => [g.groupId, g]))
    const unknown = wanted.filter(g => !byId.has(g.groupId))
    if (unknown.length > 0) {
      throw new RequestInvalidError(`Unknown group ids on the site: ${unknown.map(g => g.groupId).join(', ')}`, {
        errors: unknown.map(g => ({ in: 'body', path: '/groups', message: `group ${g.groupId} does not exist on the site`, params: { groupId: g.groupId } }))
      })
    }
    const seen = new Set<string>()
    const groups = wanted.filter(g => !seen.has(g.groupId) && seen.add(g.groupId)).map(g => ({ groupId: g.groupId, name: byId.get(g.groupId)?.name ?? g.name ?? '' }))
    await aliases.setManagedGroups(req.params.alias, groups)
    return { groups }
  })

  app.get<{ Params: { alias: string } }>('/v1/connections/:alias/groups/available', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['connections'],
      summary: 'Every group of the site, live from Confluence, with whether it is managed',
      params: aliasParams,
      response: {
        200: {
          type: 'object',
          properties: { groups: { type: 'array', items: { type: 'object', properties: { groupId: { type: 'string' }, name: { type: 'string' }, managed: { type: 'boolean' } } } } }
        },
        ...errors,
        429: problem,
        502: problem,
        504: problem
      }
    }
  }, async (req) => ({ groups: await availableGroups(core, req.params.alias, req.id, traceparentOf(req)) }))
}

function validateGroupsBody (body: unknown): Array<{ path: string, message: string }> {
  const issues: Array<{ path: string, message: string }> = []
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [{ path: '/', message: 'must be an object { groups: [...] }' }]
  const b = body as Record<string, unknown>
  for (const k of Object.keys(b)) if (k !== 'groups') issues.push({ path: `/${k}`, message: 'is not allowed' })
  if (!Array.isArray(b.groups)) { issues.push({ path: '/groups', message: 'must be an array' }); return issues }
  if (b.groups.length > 1000) issues.push({ path: '/groups', message: 'must have at most 1000 items' })
  b.groups.forEach((g: unknown, i: number) => {
    if (g === null || typeof g !== 'object') { issues.push({ path: `/groups/${i}`, message: 'must be an object' }); return }
    const o = g as Record<string, unknown>
    if (typeof o.groupId !== 'string' || o.groupId.length === 0 || o.groupId.length > 128) issues.push({ path: `/groups/${i}/groupId`, message: 'must be a non-empty string (≤ 128)' })
    if (o.name !== undefined && typeof o.name !== 'string') issues.push({ path: `/groups/${i}/name`, message: 'must be a string' })
    for (const k of Object.keys(o)) if (k !== 'groupId' && k !== 'name') issues.push({ path: `/groups/${i}/${k}`, message: 'is not allowed' })
  })
  return issues
}

export default connectionRoutes
