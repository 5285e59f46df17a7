// Closing BullMQ queues that share a connection. BullMQ's close of a queue whose shared connection is still
// initialising drops the connection's error listeners without waiting, and when that initialisation later
// fails (the connection closes, a Cluster is not ready) the error is emitted to no listener: an uncaught
// exception. A clean-clone CI run met it after a Cluster test. So a queue is closed only once its
// initialisation has settled (waited for a bounded time); one that never got there ends with its connection,
// its listeners (ours) still attached.
import type { Queue } from 'bullmq'
import { settledWithin } from './settled-within'

export const QUEUE_READY_WAIT_MS = 2_000

export async function closeQueues (queues: Queue[], waitMs = QUEUE_READY_WAIT_MS): Promise<void> {
  await Promise.allSettled(queues.map(async (q) => {
    if (await settledWithin([q.waitUntilReady()], waitMs)) await q.close()
  }))
}
