// The Organizations REST API (https://developer.atlassian.com/cloud/admin/organization/rest/), behind the org admin API key: the organisation and its
// managed accounts with their email addresses, status, billing and product activity (org-activity.ts),
// cursor-paged. A wrong or missing key answers 401.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { gatewayError } from './errors'
import { bearer, injectFaults, send } from './http'
import { decodeCursor, encodeCursor } from './pagination'
import type { OrgAccount, OrgActivity } from './org-activity'
import type { User } from './seed'
import type { SimState } from './state'

export function registerAdminApi (app: FastifyInstance, state: SimState, activity: OrgActivity): void {
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
    const managed = activity.managedUsers()
    const size = state.options.orgUsersPageSize
    const self = `${state.publicUrl}/admin/v1/orgs/${state.options.orgId}/users`
    const data = managed.slice(position, position + size).map((u) => orgUser(state, u, activity.account(u) as OrgAccount))
    const links: Record<string, string> = { self }
    if (position > 0) links.prev = `${self}?cursor=${encodeCursor(Math.max(0, position - size))}`
    if (position + size < managed.length) links.next = `${self}?cursor=${encodeCursor(position + size)}`
    return send(reply, { status: 200, body: { data, links, meta: { total: managed.length } } })
  })
}

const iso = (ms: number | null): string | undefined => ms === null ? undefined : new Date(ms).toISOString()

/** One item of the users list; `last_active` is left out when the account (or product) was never active. */
function orgUser (state: SimState, u: User, acc: OrgAccount): Record<string, unknown> {
  return {
    account_id: u.accountId,
    account_type: u.accountType,
    account_status: acc.status,
    name: u.displayName,
    picture: `https://avatar-management--avatars.example/${u.accountId}/128`,
    email: u.email,
    access_billable: acc.billable,
    last_active: iso(acc.lastActive),
    product_access: acc.products.map((p) => ({ key: p.key, name: p.name, url: p.url, last_active: iso(p.lastActive) })),
    links: { self: `${state.publicUrl}/users/${u.accountId}/manage/profile` }
  }
}
