// Amendments to the generated OpenAPI document (plugins/openapi.ts applies them through @fastify/swagger's
// `transform`, on copies: the schemas that validate requests stay as the routes declare them). Every response
// gets a real description (not "Default Response"), PUT alias shows a real alias document as its example, and
// the consent redirect is marked as a browser link: Swagger's "Try it out" cannot follow a redirect to Atlassian.
const STATUS_WORDS: Record<string, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted: the job was queued', 204: 'No Content', 302: 'Found: a redirect (see Location)'
}

/** A complete alias document (the example of PUT /v1/connections/{alias}). */
export const ALIAS_EXAMPLE = {
  name: 'Acme production',
  parent: 'confluence_cloud',
  active: true,
  connectionUrl: 'https://api.atlassian.com/',
  site: { url: 'https://acme.atlassian.net' },
  credential: {
    type: 'oauth2_authorization_code',
    clientId: 'Qw3rTy7UiOp1AsDfGhJkL2zXcVbNm4',
    clientSecret: 'the secret from the Atlassian developer console (write-only)',
    scopes: ['read:page:confluence', 'search:confluence', 'read:confluence-groups', 'write:confluence-groups', 'read:confluence-user', 'offline_access']
  },
  retryPolicy: { strategy: 'retry_after', maxAttempts: 4, maxElapsedSeconds: 600 },
  managedGroups: [{ groupId: '5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b', name: 'confluence-users' }]
}

const RESPONSE_WORDS: Record<string, Record<string, string>> = {
  'PUT /v1/connections/:alias': { 200: 'Replaced: the alias as stored (secrets left out)', 201: 'Created: the new alias (secrets left out)' },
  'PUT /v1/schedules/:id': { 200: 'Replaced', 201: 'Created' }
}

const AUTHORIZE_NOTE = '\n\n**A browser link, not an API call.** Open `/v1/connections/{alias}/authorize` in a browser tab (or use ' +
  '"Get OAuth Token" in the admin console at [/admin](/admin)): it redirects to Atlassian\'s consent page, which ' +
  'Swagger\'s "Try it out" cannot follow (a cross-origin redirect). To get the consent URL as JSON here, set `redirect` to false.'

type Schema = Record<string, any>

export function documentRoute ({ schema, url, route }: { schema: Schema, url: string, route: { method: string | string[] } }): { schema: Schema, url: string } {
  if (!schema || schema.hide === true) return { schema, url }
  const method = Array.isArray(route.method) ? route.method[0] : route.method
  const key = `${method} ${url}`
  const out: Schema = { ...schema }
  if (schema.response) {
    out.response = Object.fromEntries(Object.entries(schema.response as Schema).map(([status, r]) => {
      const words = RESPONSE_WORDS[key]?.[status] ?? STATUS_WORDS[status]
      return [status, r && typeof r === 'object' && r.description === undefined && words !== undefined ? { ...r, description: words } : r]
    }))
  }
  if (key === 'PUT /v1/connections/:alias' && schema.body) out.body = { ...schema.body, examples: [ALIAS_EXAMPLE] }
  if (key === 'GET /v1/connections/:alias/authorize') {
    out.summary = `${schema.summary ?? ''} — a browser link`
    out.description = `${schema.description ?? ''}${AUTHORIZE_NOTE}`
  }
  return { schema: out, url }
}
