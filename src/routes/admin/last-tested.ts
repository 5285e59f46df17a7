// "Last tested" per alias: when Test connection last ran from the console, whether it was green, and the error
// code when not. One Redis hash (alias → JSON); an alias deleted leaves a field nobody reads (it is overwritten if
// the alias comes back).
import type { Redis } from 'ioredis'

export interface LastTest { at: string, ok: boolean, code?: string }

export class LastTested {
  constructor (private readonly redis: Redis, private readonly keyPrefix: string) {}
  private get key (): string { return `${this.keyPrefix}:console:last-tested` }

  async record (alias: string, t: LastTest): Promise<void> {
    await this.redis.hset(this.key, alias, JSON.stringify(t))
  }

  async all (): Promise<Map<string, LastTest>> {
    const raw = await this.redis.hgetall(this.key).catch(() => ({} as Record<string, string>))
    const out = new Map<string, LastTest>()
    for (const [alias, json] of Object.entries(raw)) {
      try { out.set(alias, JSON.parse(json) as LastTest) } catch { /* a damaged field reads as never tested */ }
    }
    return out
  }
}
