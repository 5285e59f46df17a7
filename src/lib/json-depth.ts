// One nesting limit for every JSON body the spoke accepts, checked right after parsing (V8's JSON.parse is
// not recursive) and before anything that recurses over the value (schemas, fingerprints, templates).
import type { FastifyInstance } from 'fastify'
import { RequestInvalidError } from '../errors/errors'

/** Deeper than any real request (an execute envelope with an ADF-like input is well under 30). */
export const MAX_JSON_DEPTH = 64

/** True when `value` nests objects/arrays more than `max` levels deep. Iterative: safe on any input. */
export function deeperThan (value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false
  const values: unknown[] = [value]
  const depths: number[] = [1]
  while (values.length > 0) {
    const v = values.pop() as object
    const depth = depths.pop() as number
    if (depth > max) return true
    const children = Array.isArray(v) ? v : Object.values(v)
    for (const c of children) {
      if (c !== null && typeof c === 'object') { values.push(c); depths.push(depth + 1) }
    }
  }
  return false
}

/** Fastify's own JSON parser (same prototype-poisoning rules), followed by the depth check. */
export function limitJsonDepth (app: FastifyInstance, max = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'ignore')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    parse(req, body as string, (err: Error | null, value?: unknown) => {
      if (err !== null) return done(err, undefined)
      if (deeperThan(value, max)) return done(new RequestInvalidError(`The JSON body is nested deeper than ${max} levels`), undefined)
      done(null, value)
    })
  })
}
