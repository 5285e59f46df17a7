// GET /v1/connections/{alias}/setup (admin): what to register at Atlassian for this alias and what is still
// missing — the redirect URI, the grant, per action the scopes it needs and which of them the grant lacks
// (granted scopes once a token exists, else the alias's requested scopes), and, with an org admin key,
// whether the Organizations API accepts it and how many managed accounts it lists (emails included).
import type { FastifyPluginAsync } from 'fastify'
import type { Core } from '../core'
import { traceparentOf } from '../plugins/tracing'
import { ADMIN_ONLY } from '../config/roles'
import { AppError } from '../errors/app-error'
import { aliasNotFound } from '../connections/errors'
import { actionNeeds, setKind } from '../connections/scopes'
import type { HandlerServices } from '../actions/handlers/types'
import { orgAccess, orgUserPages } from '../licence/org-users'
import { aliasParams, errors, nullableString } from './connection-schemas'

const strings = { type: 'array', items: { type: 'string' } } as const
const setupSchema = {
  type: 'object',
  properties: {
    alias: { type: 'string' },
    resolvesTo: { type: 'string' },
    grant: nullableString,
    redirectUri: nullableString,
    register: strings,
    scopes: {
      type: 'object',
      properties: {
        basis: { type: 'string', enum: ['granted', 'requested'] },
        requested: strings,
        granted: { anyOf: [strings, { type: 'null' }] },
        family: { type: 'string' },
        needed: strings,
        missing: { type: 'object', additionalProperties: strings },
        actions: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              action: { type: 'string' },
              sets: { type: 'array', items: { type: 'object', properties: { kind: { type: 'string' }, scopes: strings } } },
              closest: strings,
              missing: strings
            }
          }
        }
      }
    },
    orgAdmin: {
      anyOf: [{ type: 'null' }, {
        type: 'object',
        properties: {
          orgId: nullableString,
          keyWorks: { type: 'boolean' },
          managedAccounts: { type: ['integer', 'null'] },
          emailsOnFirstPage: { type: 'integer' },
          firstPageSize: { type: 'integer' },
          error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } }
        }
      }]
    }
  }
} as const

const connectionSetupRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const { aliases, sessions } = core.connections

  app.get<{ Params: { alias: string } }>('/v1/connections/:alias/setup', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['connections'],
      summary: 'What to register at Atlassian for this alias, and what its grant still lacks',
      description: 'The redirect URI (3LO), the grant type, per action the scope sets and what the grant lacks (granted scopes once a token exists, else the requested ones), and with orgAdmin whether the Organizations API accepts the key (one call).',
      params: aliasParams,
      response: { 200: setupSchema, ...errors }
    }
  }, async (req) => {
    const id = req.params.alias
    const view = await aliases.get(id)
    const alias = await sessions.alias(id)
    if (alias === undefined) throw aliasNotFound(id)
    const granted = view.token.grantedScopes.length > 0 ? view.token.grantedScopes : null
    const have = granted ?? alias.scopes
    const needs = actionNeeds(have, core.actions.list())
    const missing = Object.fromEntries(needs.filter(n => n.missing.length > 0).map(n => [n.action, n.missing]))
    const threeLo = alias.grant === 'oauth2_authorization_code'
    const redirectUri = threeLo ? `${core.config.publicUrl}/v1/oauth/callback` : null
    return {
      alias: id,
      resolvesTo: view.resolvesTo,
      grant: alias.grant ?? null,
      redirectUri,
      register: steps(id, alias.grant, redirectUri, Object.keys(missing).length > 0),
      scopes: {
        basis: granted ? 'granted' : 'requested',
        requested: alias.scopes,
        granted,
        family: setKind(alias.scopes),
        needed: [...new Set(needs.flatMap(n => n.closest))].sort(),
        missing,
        actions: needs
      },
      orgAdmin: alias.orgAdmin ? await orgCheck(core, id, alias.orgAdmin.orgId, req.log, traceparentOf(req)) : null
    }
  })
}

function steps (id: string, grant: string | undefined, redirectUri: string | null, lacking: boolean): string[] {
  if (grant === 'oauth2_authorization_code') {
    return [
      `developer.atlassian.com → Developer console → your OAuth 2.0 integration → Authorization → OAuth 2.0 (3LO): callback URL ${redirectUri ?? ''}`,
      'Permissions → Confluence API → add the scopes in scopes.needed (and the User identity API for read:me, if requested)',
      `Settings → copy Client ID and Secret into the alias (credential.clientId / clientSecret), then GET /v1/connections/${id}/authorize as an Atlassian admin`,
      ...(lacking ? [`The grant lacks scopes (scopes.missing): add them to the app and to credential.scopes, then run the consent again (GET /v1/connections/${id}/authorize)`] : [])
    ]
  }
  if (grant === 'oauth2_client_credentials') {
    return [
      'admin.atlassian.com → Directory → Service accounts → the account → Create credentials → OAuth 2.0: pick the scopes in scopes.needed',
      'Give the service account the Confluence product access and groups it needs (group writes need it to be a site admin)',
      `Copy client ID and secret into the alias (credential.clientId / clientSecret), set site.url or site.cloudId, then POST /v1/connections/${id}/token`,
      ...(lacking ? ['The token lacks scopes (scopes.missing): edit the credential\'s scopes at admin.atlassian.com, then POST /v1/connections/' + id + '/token'] : [])
    ]
  }
  return [`Set credential.type (and client id and secret) on the alias: PUT /v1/connections/${id}`]
}

interface OrgCheck { orgId: string | null, keyWorks: boolean, managedAccounts: number | null, emailsOnFirstPage: number, firstPageSize: number, error?: { code: string, message: string } }

/** How long the setup page waits for the Organizations API: it answers 200 with orgAdmin.error after that. */
const ORG_CHECK_MS = 4_000

/** One page of the org's managed accounts, with the alias's key, through the licence actions' client. */
async function orgCheck (core: Core, id: string, orgId: string | undefined, log: { warn: (o: object, m: string) => void }, traceparent?: string): Promise<OrgCheck> {
  // orgAccess reads nothing of the services but orgAdmin and tracing (its client spans go under the request's).
  const services = { orgAdmin: core.orgAdmin, tracing: core.tracing } as Partial<HandlerServices> as HandlerServices
  const signal = AbortSignal.timeout(ORG_CHECK_MS)
  try {
    const access = await orgAccess({ services, connection: await core.connections.sessions.resolve(id), signal, traceparent })
    const first = await orgUserPages(access, signal).next()
    const users = first.done === true ? [] : first.value.users
    const total = first.done === true ? undefined : first.value.total
    const emails = users.filter(u => typeof (u as { email?: unknown }).email === 'string' && (u as { email: string }).email !== '').length
    return { orgId: access.orgId, keyWorks: true, managedAccounts: total ?? null, emailsOnFirstPage: emails, firstPageSize: users.length }
  } catch (err) {
    // Our own deadline (the API unreachable, or retried until then) is an answer of this check, not a 500.
    const failure = err instanceof AppError
      ? { code: err.code, message: err.message }
      : signal.aborted ? { code: 'UPSTREAM_TIMEOUT', message: `The Organizations API did not answer within ${ORG_CHECK_MS / 1000} s` } : undefined
    if (failure === undefined) throw err
    log.warn({ alias: id, code: failure.code }, 'setup: the Organizations API check failed')
    return { orgId: orgId ?? null, keyWorks: false, managedAccounts: null, emailsOnFirstPage: 0, firstPageSize: 0, error: failure }
  }
}

export default connectionSetupRoutes
