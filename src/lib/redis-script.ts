// A Lua script run by its SHA (EVALSHA, falling back to EVAL once per connection when Redis does not know it
// yet), as ioredis' defineCommand does; defined once per client.
import type { Redis } from 'ioredis'

const defined = new WeakMap<object, Set<string>>()

export async function runScript (redis: Redis, name: string, lua: string, keys: Array<string | number>, args: Array<string | number>): Promise<unknown> {
  let names = defined.get(redis)
  if (names === undefined) { names = new Set(); defined.set(redis, names) }
  if (!names.has(name)) { redis.defineCommand(name, { numberOfKeys: keys.length, lua }); names.add(name) }
  return await (redis as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[name](...keys, ...args)
}
