// The baseline of bench/async.ts: a BullMQ worker with a no-op processor in its own process, as the
// spoke's worker runs in its own. Configured from RAW_* variables; prints "raw worker ready".
import { Worker } from 'bullmq'
import { createRedis } from '../src/lib/redis'
import { parseRedisTarget } from '../src/config/redis-target'

const connection = createRedis(parseRedisTarget(process.env), 'worker')
const worker = new Worker(process.env.RAW_QUEUE ?? 'raw', async () => ({ ok: true }), {
  connection,
  prefix: process.env.RAW_PREFIX,
  concurrency: Number(process.env.RAW_CONCURRENCY ?? 8)
})
worker.waitUntilReady().then(() => process.stdout.write('raw worker ready\n'), (err: Error) => { process.stderr.write(`${err.message}\n`); process.exit(1) })
process.once('SIGTERM', () => { worker.close().finally(() => { connection.disconnect(); process.exit(0) }) })
