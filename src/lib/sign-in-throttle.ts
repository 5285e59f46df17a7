// Failed sign-ins per client address, in Redis so every api process counts the same attempts: a fixed window
// that starts at the first failure. At the limit, sign-in answers 429 SIGN_IN_THROTTLED until the window ends,
// whatever key is sent (a guesser learns nothing from the answer). IPv6 clients count per /64, which one host
// usually owns whole.
import { isIP } from 'node:net'
import type { Redis } from 'ioredis'
import { embeddedIpv4, ipv6Groups } from './address-policy'

export const SIGN_IN_MAX_FAILURES = 10
export const SIGN_IN_WINDOW_SECONDS = 300

export function clientBucket (ip: string): string {
  if (isIP(ip) !== 6) return ip
  const v4 = embeddedIpv4(ip)
  if (v4 !== undefined && ipv6Groups(ip)[5] === 0xffff) return v4 // ::ffff:a.b.c.d is that IPv4 client
  return `${ipv6Groups(ip).slice(0, 4).map(g => g.toString(16)).join(':')}::/64`
}

export class SignInThrottle {
  constructor (private readonly redis: Redis, private readonly keyPrefix: string,
    private readonly maxFailures = SIGN_IN_MAX_FAILURES, private readonly windowSeconds = SIGN_IN_WINDOW_SECONDS) {}

  private key (ip: string): string { return `${this.keyPrefix}:signin:${clientBucket(ip)}` }

  /** Seconds this address must wait before it may try again; 0 when it may try now. */
  async retryAfter (ip: string): Promise<number> {
    const [count, ttl] = await Promise.all([this.redis.get(this.key(ip)), this.redis.ttl(this.key(ip))])
    if (count === null || Number(count) < this.maxFailures) return 0
    return ttl > 0 ? ttl : this.windowSeconds
  }

  async recordFailure (ip: string): Promise<number> {
    const key = this.key(ip)
    const res = await this.redis.multi().set(key, 0, 'EX', this.windowSeconds, 'NX').incr(key).exec()
    return Number(res?.[1]?.[1] ?? 0)
  }
}
