// Triggers API (docs/triggers.md): subscriptions to what changed in Confluence, delivered signed to a
// receiver. Admins write; admins and viewers read (a trigger names where its events go).
import type { FastifyPluginAsync } from 'fastify'
import { ADMIN_ONLY, OBSERVERS } from '../config/roles'
import type { Core } from '../core'
import { problemResponses } from '../lib/problem'
import { CONTENT_KINDS, MIN_EVERY_SECONDS, TRIGGER_EVENTS, type TriggerBody } from '../triggers/types'

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } } }

const deliveryRecord = {
  type: 'object',
  properties: {
    at: { type: 'string', format: 'date-time' },
    ok: { type: 'boolean' },
    events: { type: 'integer' },
    firstEventId: { type: 'string' },
    status: { type: 'integer' },
    error: { type: 'string' },
    test: { type: 'boolean' }
  }
}

const eventSchema = { type: 'object', additionalProperties: true, properties: { id: { type: 'string' }, type: { type: 'string' } } }

const triggerSchema = {
  type: 'object',
  required: ['id', 'connection', 'events', 'delivery', 'every', 'state', 'startAt', 'createdAt', 'updatedAt', 'pending', 'lagSeconds', 'lastDeliveries'],
  properties: {
    id: { type: 'string' },
    connection: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    filter: { type: 'object', properties: { spaces: { type: 'array', items: { type: 'string' } }, types: { type: 'array', items: { type: 'string' } } } },
    delivery: { type: 'object', properties: { url: { type: 'string' }, batch: { type: 'integer' } } },
    every: { type: 'integer', description: 'Seconds between polls of the site.' },
    state: { type: 'string', enum: ['active', 'paused'] },
    startAt: { type: 'string', format: 'date-time', description: 'Events that occurred before this are not sent.' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    pending: { type: 'integer', description: 'Events detected and not yet acknowledged by the receiver.' },
    lagSeconds: { type: 'number', description: 'Now minus the detection time of the oldest pending event.' },
    detected: { type: 'integer' },
    delivered: { type: 'integer' },
    failures: { type: 'integer' },
    deadLetters: { type: 'integer' },
    lastDeliveredEventId: { type: 'string' },
    lastPollAt: { type: 'string', format: 'date-time' },
    lastDeliveries: { type: 'array', items: deliveryRecord }
  }
}

const bodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['connection', 'events', 'delivery', 'every'],
  properties: {
    connection: { type: 'string', minLength: 1, maxLength: 64 },
    events: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...TRIGGER_EVENTS] } },
    filter: {
      type: 'object',
      additionalProperties: false,
      properties: {
        spaces: { type: 'array', minItems: 1, maxItems: 500, items: { type: 'string', minLength: 1, maxLength: 255 }, description: 'Space keys or ids.' },
        types: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...CONTENT_KINDS] } }
      }
    },
    delivery: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', minLength: 1, maxLength: 2048 },
        batch: { type: 'integer', minimum: 1, maximum: 500, description: 'Events per POST; 1 (default) sends each event alone, more sends `{ subscription, events }`.' }
      }
    },
    every: { type: 'integer', minimum: MIN_EVERY_SECONDS, maximum: 86_400, description: `Seconds between polls (at least ${MIN_EVERY_SECONDS}).` },
    start: { type: 'string', minLength: 1, maxLength: 64, description: '`now` (default) or an ISO 8601 time to backfill from.' }
  }
}

const problems = problemResponses(400, 401, 403, 404, 503)

const triggerRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const triggers = core.triggers
  const tags = ['triggers']

  app.get('/v1/triggers', {
    config: { access: OBSERVERS },
    schema: { tags, summary: 'List triggers', response: { 200: { type: 'object', required: ['triggers'], properties: { triggers: { type: 'array', items: triggerSchema } } }, ...problems } }
  }, async () => ({ triggers: await triggers.list() }))

  app.get<{ Params: { id: string } }>('/v1/triggers/:id', {
    config: { access: OBSERVERS },
    schema: { tags, summary: 'One trigger: state, lag, last deliveries', params: idParams, response: { 200: triggerSchema, ...problems } }
  }, async (req) => await triggers.get(req.params.id))

  app.put<{ Params: { id: string }, Body: TriggerBody }>('/v1/triggers/:id', {
    config: { access: ADMIN_ONLY },
    schema: {
      tags,
      summary: 'Create or replace a trigger',
      description: 'One poll per site serves every trigger of that site; events are delivered signed (docs/webhooks.md) to delivery.url, which the callback address policy must allow.',
      params: idParams,
      body: bodySchema,
      response: { 200: triggerSchema, 201: triggerSchema, ...problems }
    }
  }, async (req, reply) => {
    const { view, created } = await triggers.put(req.params.id, req.body)
    return await reply.code(created ? 201 : 200).send(view)
  })

  app.delete<{ Params: { id: string } }>('/v1/triggers/:id', {
    config: { access: ADMIN_ONLY },
    schema: { tags, summary: 'Delete a trigger (its pending events and dead letters too)', params: idParams, response: { 204: { type: 'null' }, ...problems } }
  }, async (req, reply) => {
    await triggers.delete(req.params.id)
    return await reply.code(204).send()
  })

  for (const [action, state] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.post<{ Params: { id: string } }>(`/v1/triggers/:id/${action}`, {
      config: { access: ADMIN_ONLY },
      schema: { tags, summary: action === 'pause' ? 'Pause a trigger (events detected meanwhile are not kept)' : 'Resume a paused trigger', params: idParams, response: { 200: triggerSchema, ...problems } }
    }, async (req) => await triggers.setState(req.params.id, state))
  }

  app.post<{ Params: { id: string } }>('/v1/triggers/:id/test', {
    config: { access: ADMIN_ONLY },
    schema: { tags, summary: 'Send a signed test event now and report how the receiver answered', params: idParams, response: { 200: deliveryRecord, ...problems } }
  }, async (req) => await triggers.test(req.params.id))

  app.get<{ Params: { id: string } }>('/v1/triggers/:id/dead-letters', {
    config: { access: OBSERVERS },
    schema: {
      tags,
      summary: 'Events the receiver did not accept within the retry time',
      params: idParams,
      response: { 200: { type: 'object', required: ['deadLetters'], properties: { deadLetters: { type: 'array', items: { type: 'object', properties: { events: { type: 'array', items: eventSchema }, deadAt: { type: 'string' }, reason: { type: 'string' }, attempts: { type: 'integer' } } } } } }, ...problems }
    }
  }, async (req) => ({ deadLetters: await triggers.deadLetters(req.params.id) }))

  app.post<{ Params: { id: string } }>('/v1/triggers/:id/dead-letters/replay', {
    config: { access: ADMIN_ONLY },
    schema: { tags, summary: 'Send the dead letters again, before any newer event', params: idParams, response: { 200: { type: 'object', required: ['replayed'], properties: { replayed: { type: 'integer' } } }, ...problems } }
  }, async (req) => ({ replayed: await triggers.replay(req.params.id) }))
}

export default triggerRoutes
