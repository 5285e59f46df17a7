// The floor of bench/async.ts: the least any HTTP-fronted job runner must do for confluence.user.current,
// with none of the spoke's features. A bare node:http server queues each POST with BullMQ and answers
// 202; a bare BullMQ Worker (same process, like the spoke's role "all") makes the one upstream GET with
// undici and returns the JSON. No auth, validation, aliases, retries, rate budget, metrics or logs.
// It shows how much of the gap to raw BullMQ is the spoke's own and how much is the job's shape.
// Configured from FLOOR_* variables; prints "floor ready on <port>".
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { Queue, Worker } from 'bullmq'
import { createRedis } from '../src/lib/redis'
import { parseRedisTarget } from '../src/config/redis-target'
import { Agent, request } from 'undici'

const env = process.env
const redis = parseRedisTarget(env)
const prefix = env.FLOOR_PREFIX ?? '{bench-floor}'
const simUrl = env.FLOOR_SIMULATOR_URL ?? ''
const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 })

async function main (): Promise<void> {
  const tokenRes = await request(`${simUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: env.FLOOR_CLIENT_ID, client_secret: env.FLOOR_CLIENT_SECRET }),
    dispatcher: agent
  })
  const token = (await tokenRes.body.json() as { access_token: string }).access_token
  const userUrl = `${simUrl}/ex/confluence/${env.FLOOR_CLOUD_ID ?? ''}/wiki/rest/api/user/current`
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }

  const producer = createRedis(redis, 'producer')
  const queue = new Queue('floor', { connection: producer, prefix, defaultJobOptions: { removeOnComplete: { age: 3600, count: 10_000 } } })
  const worker = new Worker('floor', async () => {
    const res = await request(userUrl, { headers, dispatcher: agent })
    const body = await res.body.json() as { accountId: string, displayName: string }
    if (res.statusCode !== 200) throw new Error(`upstream answered ${res.statusCode}`)
    return { output: { accountId: body.accountId, displayName: body.displayName } }
  }, { connection: createRedis(redis, 'worker'), prefix, concurrency: Number(env.FLOOR_CONCURRENCY ?? 8) })

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const { input } = JSON.parse(Buffer.concat(chunks).toString()) as { input: unknown }
      const jobId = `j${randomBytes(8).toString('hex')}`
      queue.add('user.current', { input }, { jobId }).then(() => {
        res.writeHead(202, { 'content-type': 'application/json', location: `/v1/jobs/${jobId}` })
        res.end(JSON.stringify({ jobId, state: 'waiting' }))
      }, (err: Error) => { res.writeHead(503); res.end(err.message) })
    })
  })
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()])
  server.listen(Number(env.FLOOR_PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`floor ready on ${(server.address() as { port: number }).port}\n`)
  })
  process.once('SIGTERM', () => {
    server.close()
    void Promise.allSettled([worker.close(), queue.close()]).then(() => process.exit(0))
  })
}

main().catch((err: Error) => { process.stderr.write(`${err.stack ?? err.message}\n`); process.exit(1) })
