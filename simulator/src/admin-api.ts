// The Organizations REST API (confluence-api.md §8), behind the org admin API key: the organisation and its
// managed accounts with their email addresses, cursor-paged.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { gatewayError } from './errors'
import { bearer, injectFaults, send } from './http'
import { decodeCursor, encodeCursor } from './pagination'
import type { SimState } from './state'

export function registerAdminApi (app: FastifyInstance, state: SimState): void {
  const guard = async (request: FastifyRequest, reply: FastifyReply, operation: string): Promise<boolean> => {
    request.simOperation = operation
    if (await injectFaults(state, 'admin', operation, request, reply, (status) => gatewayError(status, 'Injected fault'))) return false
    if (bearer(request) !== state.options.adminApiKey) { send(reply, gatewayError(401, 'Unauthorized')); return false }
    return true
  }
  const org = (): Record<string, unknown> => {
    const self = `${state.publicUrl}/admin/v1/orgs/${state.options.orgId}`
    return {
      id: state.options.orgId,
      type: 'orgs',
      attributes: { name: state.options.orgName },
      relationships: { domains: { links: { related: `${self}/domains` } }, users: { links: { related: `${self}/users` } } },
      links: { self }
    }
  }
  const unknownOrg = (reply: FastifyReply): FastifyReply =>
    send(reply, { status: 404, body: { errors: [{ status: '404', code: 'ADMIN-404-1', title: 'Not Found', detail: 'Organization not found' }] } })

  app.get('/admin/v1/orgs', async (request, reply) => {
    if (!await guard(request, reply, 'admin.getOrgs')) return
    return send(reply, { status: 200, body: { data: [org()], links: { self: `${state.publicUrl}/admin/v1/orgs` } } })
  })

  app.get('/admin/v1/orgs/:orgId', async (request, reply) => {
    if (!await guard(request, reply, 'admin.getOrg')) return
    if ((request.params as { orgId: string }).orgId !== state.options.orgId) return unknownOrg(reply)
    return send(reply, { status: 200, body: { data: org() } })
  })

  app.get('/admin/v1/orgs/:orgId/users', async (request, reply) => {
    if (!await guard(request, reply, 'admin.getOrgUsers')) return
    if ((request.params as { orgId: string }).orgId !== state.options.orgId) return unknownOrg(reply)
    const position = decodeCursor((request.query as { cursor?: string }).cursor)
    if (position === undefined) return send(reply, gatewayError(400, 'Invalid cursor'))
    const managed = state.users.filter((u) => u.managed)
    const size = state.options.orgUsersPageSize
    const self = `${state.publicUrl}/admin/v1/orgs/${state.options.orgId}/users`
    const sites = [...state.sites.values()]
    const data = managed.slice(position, position + size).map((u) => ({
      account_id: u.accountId,
      account_type: u.accountType,
      account_status: 'active',
      name: u.displayName,
      picture: `https://avatar-management--avatars.example/${u.accountId}/128`,
      email: u.email,
      access_billable: true,
      last_active: '2025-06-01T09:00:00.000Z',
      product_access: sites.map((s) => ({ key: 'confluence', name: 'Confluence', url: s.url, last_active: '2025-06-01T09:00:00.000Z' })),
      links: { self: `${state.publicUrl}/users/${u.accountId}/manage/profile` }
    }))
    const links: Record<string, string> = { self }
    if (position > 0) links.prev = `${self}?cursor=${encodeCursor(Math.max(0, position - size))}`
    if (position + size < managed.length) links.next = `${self}?cursor=${encodeCursor(position + size)}`
    return send(reply, { status: 200, body: { data, links, meta: { total: managed.length } } })
  })
}
