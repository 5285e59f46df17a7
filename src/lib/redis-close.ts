// Closing a Redis client without waiting on a Redis that is away. QUIT lets the replies still due arrive
// first, but on a client that queues commands while disconnected (the job connection, subscribers) it would
// wait for Redis to come back: so QUIT only a connected client, for a bounded time, then disconnect.
import type { Redis } from 'ioredis'
import { settledWithin } from './settled-within'

export const QUIT_WITHIN_MS = 2_000

export async function closeRedis (client: Redis, quitWithinMs = QUIT_WITHIN_MS): Promise<void> {
  if (client.status === 'ready') await settledWithin([client.quit()], quitWithinMs)
  client.disconnect()
}
