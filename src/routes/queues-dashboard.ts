// Bull Board at /admin/queues (DESIGN §3.2): admins and viewers see it; only admins may change anything
// (Bull Board's mutating API routes — POST/PUT/DELETE under /admin/queues/api — are admin-only). Errors on
// its routes (401/403 from auth) leave as problem+json like everywhere else, not in Bull Board's shape.
import type { FastifyError, FastifyPluginAsync } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import type { ApiKeyRole } from '../config/env'
import type { Core } from '../core'
import { sendProblem, toAppError } from '../plugins/error-handler'

const OBSERVE: readonly ApiKeyRole[] = ['admin', 'viewer']
const ADMIN: readonly ApiKeyRole[] = ['admin']
export const DASHBOARD_PATH = '/admin/queues'

const queuesDashboard: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(DASHBOARD_PATH)
  createBullBoard({
    queues: [new BullMQAdapter(core.jobs.queue), new BullMQAdapter(core.jobs.callbackQueue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Confluence spoke jobs' } }
  })
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const reads = methods.every(m => m === 'GET' || m === 'HEAD')
    route.config = { ...(route.config ?? {}), access: reads ? OBSERVE : ADMIN, browser: true }
    route.errorHandler = (err: FastifyError, _req, reply) => sendProblem(reply, toAppError(err))
  })
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH })
}

export default queuesDashboard
