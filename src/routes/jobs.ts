// Jobs API (docs/api.md#jobs): read one job, list them newest first, retry a failed or cancelled one, cancel a
// waiting, delayed or active one. Reading is for every role; retry and cancel are admin-only.
import { problemResponses } from '../lib/problem'
import type { FastifyPluginAsync } from 'fastify'
import { ADMIN_ONLY, ANY_ROLE } from '../config/roles'
import type { Core } from '../core'
import { PUBLIC_JOB_STATES, type PublicJobState } from '../jobs/job-view'


const jobErrorSchema = {
  type: 'object',
  required: ['code', 'message', 'retryable'],
  properties: { code: { type: 'string' }, message: { type: 'string' }, retryable: { type: 'boolean' } }
}

export const jobSchema = {
  type: 'object',
  required: ['id', 'action', 'connection', 'state', 'progress', 'attemptsMade', 'createdAt'],
  properties: {
    id: { type: 'string' },
    action: { type: 'string' },
    connection: { type: 'object', required: ['requested'], properties: { requested: { type: 'string' }, resolved: { type: 'string' } } },
    state: { type: 'string', enum: [...PUBLIC_JOB_STATES] },
    progress: { description: 'A number, or { done, total, message } for actions that report it.' },
    attemptsMade: { type: 'integer' },
    result: { description: "The action's output (completed jobs)." },
    error: jobErrorSchema,
    createdAt: { type: 'string', format: 'date-time' },
    startedAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    nextAttemptAt: { type: 'string', format: 'date-time', description: 'When a delayed job runs again.' },
    worker: { type: 'string', description: 'The worker process (host:pid) that took the job last.' },
    callback: {
      type: 'object',
      description: 'Delivery of the callbackUrl, when the request named one.',
      properties: { state: { type: 'string', enum: ['pending', 'delivered', 'retrying', 'failed'] }, attempts: { type: 'integer' }, lastError: { type: 'string' }, deliveredAt: { type: 'string' } }
    }
  }
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } }
const problems = problemResponses(401, 403, 404, 409, 503)

interface ListQuery { state?: PublicJobState, action?: string, connection?: string, limit?: number, cursor?: string }

const jobRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  app.get<{ Querystring: ListQuery }>('/v1/jobs', {
    config: { access: ANY_ROLE },
    schema: {
      tags: ['jobs'],
      summary: 'List jobs, newest first',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          state: { type: 'string', enum: [...PUBLIC_JOB_STATES] },
          action: { type: 'string', maxLength: 128 },
          connection: { type: 'string', maxLength: 64 },
          limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          cursor: { type: 'string', pattern: '^j[0-9a-z]{9}[0-9a-f]{16}$', description: 'nextCursor of the previous page' }
        }
      },
      response: { 200: { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: jobSchema }, nextCursor: { type: 'string' } } }, ...problems }
    }
  }, async (req) => await core.jobs.list(req.query))

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', {
    config: { access: ANY_ROLE },
    schema: { tags: ['jobs'], summary: 'One job', params: idParams, response: { 200: jobSchema, ...problems } }
  }, async (req) => await core.jobs.get(req.params.id))

  app.post<{ Params: { id: string } }>('/v1/jobs/:id/retry', {
    config: { access: ADMIN_ONLY },
    schema: { tags: ['jobs'], summary: 'Run a failed or cancelled job again', params: idParams, response: { 200: jobSchema, ...problems } }
  }, async (req) => await core.jobs.retry(req.params.id))

  app.post<{ Params: { id: string } }>('/v1/jobs/:id/cancel', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['jobs'],
      summary: 'Cancel a waiting, delayed or active job',
      description: 'An active job stops at its next safe point; until then it shows as active.',
      params: idParams,
      response: { 200: jobSchema, ...problems }
    }
  }, async (req) => await core.jobs.cancel(req.params.id))
}

export default jobRoutes
