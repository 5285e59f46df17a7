// Schedules API (docs/api.md#schedules): run any action on a schedule, as normal jobs. Admins write,
// admins and viewers read (a schedule's input may name what it reads or where it sends it).
import type { FastifyPluginAsync } from 'fastify'
import { ADMIN_ONLY, OBSERVERS } from '../config/roles'
import type { Core } from '../core'
import { problemResponses } from '../lib/problem'
import type { ScheduleBody } from '../schedules/schedule-service'


const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } } }

const scheduleSchema = {
  type: 'object',
  required: ['id', 'action', 'connection', 'input', 'createdAt', 'updatedAt', 'runs', 'skipped'],
  properties: {
    id: { type: 'string' },
    action: { type: 'string' },
    connection: { type: 'string' },
    input: { type: 'object', additionalProperties: true },
    every: { type: 'integer', description: 'Seconds between runs.' },
    cron: { type: 'string' },
    timezone: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    nextRunAt: { type: 'string', format: 'date-time' },
    runs: { type: 'integer', description: 'Jobs this schedule has queued.' },
    skipped: { type: 'integer', description: 'Ticks skipped: the previous job had not finished, or the job could not be queued.' },
    lastRun: {
      type: 'object',
      properties: {
        at: { type: 'string', format: 'date-time' },
        jobId: { type: 'string' },
        skippedBecause: { type: 'string' },
        error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } }
      }
    }
  }
}

const bodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { type: 'string', minLength: 1, maxLength: 128 },
    connection: { type: 'string', minLength: 1, maxLength: 64 },
    input: { type: 'object', additionalProperties: true, description: "Validated against the action's input schema." },
    every: { anyOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'string', maxLength: 64 }], description: 'Seconds, or an ISO 8601 duration (PT5M). Exactly one of every and cron.' },
    cron: { type: 'string', minLength: 1, maxLength: 128, description: 'Cron expression (5 fields, or 6 with seconds).' },
    timezone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone of cron (default UTC).' }
  }
}

const problems = problemResponses(400, 401, 403, 404, 503)

const scheduleRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const schedules = core.schedules

  app.get('/v1/schedules', {
    config: { access: OBSERVERS },
    schema: { tags: ['schedules'], summary: 'List schedules', response: { 200: { type: 'object', required: ['schedules'], properties: { schedules: { type: 'array', items: scheduleSchema } } }, ...problems } }
  }, async () => ({ schedules: await schedules.list() }))

  app.get<{ Params: { id: string } }>('/v1/schedules/:id', {
    config: { access: OBSERVERS },
    schema: { tags: ['schedules'], summary: 'One schedule', params: idParams, response: { 200: scheduleSchema, ...problems } }
  }, async (req) => await schedules.get(req.params.id))

  app.put<{ Params: { id: string }, Body: ScheduleBody }>('/v1/schedules/:id', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags: ['schedules'],
      summary: 'Create or replace a schedule that runs an action as jobs',
      description: 'Each tick queues a normal job (jobs API, Bull Board); a tick whose previous job has not finished is skipped.',
      params: idParams,
      body: bodySchema,
      response: { 200: scheduleSchema, 201: scheduleSchema, ...problems }
    }
  }, async (req, reply) => {
    const { view, created } = await schedules.put(req.params.id, req.body)
    return await reply.code(created ? 201 : 200).send(view)
  })

  app.delete<{ Params: { id: string } }>('/v1/schedules/:id', {
    config: { access: ADMIN_ONLY },
    schema: { tags: ['schedules'], summary: 'Stop and delete a schedule (jobs it queued stay)', params: idParams, response: { 204: { type: 'null' }, ...problems } }
  }, async (req, reply) => {
    await schedules.delete(req.params.id)
    return await reply.code(204).send()
  })
}

export default scheduleRoutes
