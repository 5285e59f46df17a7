// Connection admin API (docs/api.md#connections). Admin-only, except the two reads viewers may see too.
// Schemas: connection-schemas.ts.
import Ajv from 'ajv'
import type { FastifyPluginAsync, FastifySchemaCompiler } from 'fastify'
import type { Core } from '../core'
import { AppError } from '../errors/app-error'
import { RequestInvalidError } from '../errors/errors'
import { ADMIN_ONLY, OBSERVERS } from '../config/roles'
import { aliasBodySchema } from '../connections/alias-body-schema'
import type { ResolvedConnection } from '../connections/types'
import { aliasParams, aliasViewSchema, errors, groupSchema, nullableString, problem, tokenViewSchema } from './connection-schemas'

const GROUP_PAGE = 200
const MAX_GROUP_PAGES = 500

// Params and querystrings: a small Ajv that coerces (query values are strings). Bodies: validated by the
// connection layer itself (same schema as the files, plus the SSRF guard), so every error is listed once.
const paramAjv = new Ajv({ coerceTypes: true, allErrors: true, useDefaults: true, strict: false })
const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart === 'body') return () => true
  return paramAjv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>
}

interface ActionDef { id: string, scopes?: string[][] }
interface ActionList { list: () => ActionDef[] | Iterable<ActionDef> }

/** Per action, the scopes still missing for its cheapest scope set (actions fully covered are left out). */
export function missingScopes (granted: string[], actions: ActionDef[]): Record<string, string[]> {
  const have = new Set(granted)
  const out: Record<string, string[]> = {}
  for (const a of actions) {
    const sets = (a.scopes ?? []).filter(s => Array.isArray(s))
    if (sets.length === 0) continue
    let best: string[] | undefined
    for (const set of sets) {
      const missing = set.filter(s => !have.has(s))
      if (best === undefined || missing.length < best.length) best = missing
      if (missing.length === 0) break
    }
    if (best && best.length > 0) out[a.id] = best
  }
  return out
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
  }, async (req) => ({ alias: req.params.alias, token: await sessions.obtainNow(req.params.alias) }))

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
  }, async (req) => {
    const resolved = await sessions.resolve(req.params.alias)
    let site: { cloudId: string, url: string } | null = null
    let account: Record<string, unknown> | null = null
    let error: { code: string, message: string, retryable: boolean } | undefined
    try {
      site = await core.confluence.site(resolved)
      const res = await core.confluence.call(resolved, { method: 'GET', path: '/wiki/rest/api/user/current' })
      const b = (res.body ?? {}) as Record<string, unknown>
      account = {
        accountId: String(b.accountId ?? ''),
        ...(typeof b.displayName === 'string' ? { displayName: b.displayName } : {}),
        ...(typeof b.accountType === 'string' ? { accountType: b.accountType } : {}),
        email: typeof b.email === 'string' && b.email !== '' ? b.email : null
      }
    } catch (err) {
      if (!(err instanceof AppError)) throw err
      error = { code: err.code, message: err.message, retryable: err.retryable }
    }
    const after = await sessions.resolve(req.params.alias)
    const granted = after.grantedScopes ?? []
    const registry = (core as unknown as { actions?: ActionList }).actions
    const defs = registry && typeof registry.list === 'function' ? [...registry.list()] : []
    return {
      ok: error === undefined,
      connection: { requested: resolved.requested, resolved: resolved.resolved },
      site,
      account,
      grantedScopes: granted,
      missingScopes: missingScopes(granted, defs),
      ...(error ? { error } : {})
    }
  })

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
    const available = await allGroups(core, await sessions.resolve(req.params.alias))
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
  }, async (req) => {
    const view = await aliases.get(req.params.alias)
    const managed = new Set((view.managedGroups ?? []).map(g => g.groupId))
    const groups = await allGroups(core, await sessions.resolve(req.params.alias))
    return { groups: groups.map(g => ({ ...g, managed: managed.has(g.groupId) })) }
  })
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

/** Every page of GET /wiki/rest/api/group (offset paging, 200 a page). */
async function allGroups (core: Core, connection: ResolvedConnection): Promise<Array<{ groupId: string, name: string }>> {
  const out: Array<{ groupId: string, name: string }> = []
  const seen = new Set<string>()
  for (let page = 0, start = 0; page < MAX_GROUP_PAGES; page++) {
    const res = await core.confluence.call(connection, { method: 'GET', path: '/wiki/rest/api/group', query: { start, limit: GROUP_PAGE } })
    const body = (res.body ?? {}) as { results?: Array<{ id?: string, name?: string }>, size?: number, _links?: { next?: string } }
    const results = Array.isArray(body.results) ? body.results : []
    for (const g of results) {
      if (typeof g?.id !== 'string' || seen.has(g.id)) continue
      seen.add(g.id)
      out.push({ groupId: g.id, name: typeof g.name === 'string' ? g.name : '' })
    }
    if (results.length === 0 || (results.length < GROUP_PAGE && !body._links?.next)) break
    start += results.length
  }
  return out
}

export default connectionRoutes
