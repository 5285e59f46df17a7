// The control API under /__sim (never under an Atlassian path), for tests in other processes and for
// benchmarks: faults, counters, violations, reset, forced expiry, tokens without consent, ground truth.
import type { FastifyInstance } from 'fastify'
import type { Fault, FaultConfig, FaultTarget } from './faults'
import type { ContentSummary } from './ground-truth'
import type { Simulator } from './index'
import { MutationError, type Mutation } from './mutations'
import type { ContentKind } from './seed'
import type { GatewayExpiryMode } from './state'

export function registerControlApi (app: FastifyInstance, sim: Simulator): void {
  app.get('/__sim/info', async () => sim.info())
  app.get('/__sim/counters', async () => sim.counters())
  app.get('/__sim/invalid-requests', async () => ({ invalidRequests: sim.invalidRequests() }))
  app.get('/__sim/response-violations', async () => ({ responseViolations: sim.responseViolations() }))
  app.post('/__sim/reset', async (_request, reply) => { sim.reset(); return reply.code(204).send() })

  app.get('/__sim/faults', async () => sim.faults.get())
  app.put('/__sim/faults', async (request, reply) => { sim.faults.set((request.body ?? {}) as FaultConfig); return reply.code(204).send() })
  app.delete('/__sim/faults', async (_request, reply) => { sim.faults.clear(); return reply.code(204).send() })
  app.post('/__sim/faults/next', async (request, reply) => {
    const { fault, times, operations, targets, paths } = request.body as { fault: Fault, times?: number, operations?: string[], targets?: FaultTarget[], paths?: string[] }
    sim.faults.next(fault, times, { operations, targets, paths })
    return reply.code(204).send()
  })

  app.post('/__sim/expire-tokens', async () => ({ expired: sim.expireAllTokens() }))
  app.post('/__sim/revoke-refresh-tokens', async (_request, reply) => { sim.revokeRefreshTokens(); return reply.code(204).send() })
  app.put('/__sim/gateway-expiry-mode', async (request, reply) => {
    sim.setGatewayExpiryMode((request.body as { mode: GatewayExpiryMode }).mode)
    return reply.code(204).send()
  })
  app.post('/__sim/tokens', async (request) => sim.issueToken((request.body ?? {}) as Parameters<Simulator['issueToken']>[0]))

  app.get('/__sim/process', async () => ({ pid: process.pid, memory: process.memoryUsage() }))
  app.get('/__sim/sites/:cloudId/content', async (request, reply) => {
    const { cloudId } = request.params as { cloudId: string }
    const { kind, offset = '0', limit = '100' } = request.query as { kind?: ContentKind, offset?: string, limit?: string }
    if (!sim.state.sites.has(cloudId)) return reply.code(404).send({ message: 'unknown site' })
    const results: ContentSummary[] = []
    let skip = Number(offset)
    for (const item of sim.data.content(kind, cloudId)) {
      if (skip-- > 0) continue
      if (results.length >= Number(limit)) break
      results.push(item)
    }
    return { results }
  })
  app.get('/__sim/sites/:cloudId/content/:contentId/read-access', async (request, reply) => {
    const { cloudId, contentId } = request.params as { cloudId: string, contentId: string }
    const access = sim.state.sites.has(cloudId) ? sim.data.effectiveReadAccess(contentId, cloudId) : undefined
    return access ?? reply.code(404).send({ message: 'unknown site or content' })
  })
  app.post('/__sim/sites/:cloudId/mutations', async (request, reply) => {
    const { cloudId } = request.params as { cloudId: string }
    if (!sim.state.sites.has(cloudId)) return reply.code(404).send({ message: 'unknown site' })
    const { mutations } = (request.body ?? {}) as { mutations?: Mutation[] }
    if (!Array.isArray(mutations)) return reply.code(400).send({ message: 'body: { mutations: [...] }' })
    try {
      return { results: mutations.map((m) => sim.data.mutate(m, cloudId)) }
    } catch (err) {
      if (err instanceof MutationError) return reply.code(400).send({ message: err.message })
      throw err
    }
  })
  app.get('/__sim/sites/:cloudId/groups/:groupId/members', async (request, reply) => {
    const { cloudId, groupId } = request.params as { cloudId: string, groupId: string }
    const members = sim.state.sites.has(cloudId) ? sim.data.groupMembers(groupId, cloudId) : undefined
    return members ? { accountIds: members } : reply.code(404).send({ message: 'unknown site or group' })
  })
}
