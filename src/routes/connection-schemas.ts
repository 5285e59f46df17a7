// Schemas of the connection admin API (routes/connections.ts). Response schemas list every field a view may
// carry, so the serializer drops anything else (secrets included).
import { ALIAS_ID_PATTERN } from '../connections/alias-id'
import { problemResponses } from '../lib/problem'

export const aliasParams = {
  type: 'object',
  required: ['alias'],
  properties: { alias: { type: 'string', pattern: ALIAS_ID_PATTERN, description: 'Alias id' } }
} as const

export const problem = { $ref: 'Problem#' } as const
export const errors = problemResponses(400, 401, 403, 404, 409)

export const nullableString = { type: ['string', 'null'] } as const
export const groupSchema = { type: 'object', required: ['groupId'], properties: { groupId: { type: 'string' }, name: { type: 'string' } } } as const
const siteSchema = { type: 'object', properties: { cloudId: { type: 'string' }, url: { type: 'string' }, name: { type: 'string' } } } as const

export const tokenViewSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['active', 'needs_consent', 'needs_configuration', 'refresh_failed', 'expired'] },
    expiresAt: nullableString,
    grantedScopes: { type: 'array', items: { type: 'string' } },
    lastRefreshAt: nullableString,
    error: { type: 'string' },
    consentError: { type: 'string', description: 'Why the last "Get OAuth Token" failed, while consent is still needed' }
  }
} as const

export const aliasViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    parent: { type: 'string' },
    active: { type: 'boolean' },
    connectionUrl: { type: 'string' },
    site: { type: 'object', properties: { cloudId: { type: 'string' }, url: { type: 'string' } } },
    credential: {
      type: 'object',
      properties: {
        type: { type: 'string' },
        clientId: { type: 'string' },
        scopes: { type: 'array', items: { type: 'string' } },
        authorizeUrl: { type: 'string' },
        tokenUrl: { type: 'string' }
      }
    },
    retryPolicy: {
      type: 'object',
      properties: { strategy: { type: 'string' }, maxAttempts: { type: 'integer' }, maxElapsedSeconds: { type: 'integer' }, delaySeconds: { type: 'number' } }
    },
    managedGroups: { type: 'array', items: groupSchema },
    managedSpaces: { type: 'array', items: { type: 'object', required: ['spaceId'], properties: { spaceId: { type: 'string' }, key: { type: 'string' } } } },
    orgAdmin: { type: 'object', properties: { orgId: { type: 'string' } } },
    secrets: {
      type: 'object',
      description: 'Which secrets are set (never their values)',
      properties: { clientSecret: { type: 'boolean' }, orgAdminApiKey: { type: 'boolean' } }
    },
    source: { type: 'string', enum: ['file', 'api'] },
    file: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    children: { type: 'array', items: { type: 'string' } },
    resolvesTo: { type: 'string' },
    token: tokenViewSchema,
    boundSite: { anyOf: [siteSchema, { type: 'null' }] },
    siteChoices: { type: 'array', items: siteSchema },
    ready: { type: 'boolean' },
    problems: { type: 'array', items: { type: 'string' } }
  }
} as const
