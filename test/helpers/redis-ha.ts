// Real Redis Cluster and Sentinel groups for tests: redis-server processes on free loopback ports, each in
// its own temp dir, no persistence (the tests kill them). `stop()` SIGKILLs every process it started.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'

const run = promisify(execFile)

export interface RedisProc { port: number, proc: ChildProcess }

export interface RedisGroup {
  /** The spoke's environment for this group (REDIS_URL emptied: the variables are exclusive). */
  env: Record<string, string>
  servers: RedisProc[]
  stop: () => Promise<void>
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function until<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try { const v = await probe(); if (v !== undefined) return v } catch (err) { last = err }
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms${last !== undefined ? `: ${String(last)}` : ''}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** One command to one server on its own short-lived connection. */
export async function ask (port: number, ...args: string[]): Promise<unknown> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  r.on('error', () => {})
  try { await r.connect(); return await r.call(args[0], ...args.slice(1)) } finally { r.disconnect() }
}

function startServer (dir: string, args: string[], procs: RedisProc[], port: number): RedisProc {
  const proc = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  proc.stderr?.resume()
  const p = { port, proc }
  procs.push(p)
  return p
}

function stopper (procs: RedisProc[], dir: string): () => Promise<void> {
  return async () => {
    await Promise.all(procs.map(async ({ proc }) => {
      // 'close' (not 'exit'): the stderr pipe is gone too, so nothing keeps the test process alive.
      const gone = new Promise(resolve => proc.once('close', resolve))
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      if (proc.stderr?.closed !== true) await gone
    }))
    rmSync(dir, { recursive: true, force: true })
  }
}

// repl-diskless-sync-delay 0: a replica gets its first copy at once, not after the default 5 s wait
const BASE = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0']

/** A Cluster of 3 primaries, each with one replica (6 redis-server processes); a dead primary's replica takes over after ~2 s. */
export async function startCluster (): Promise<RedisGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-cluster-'))
  const procs: RedisProc[] = []
  const stop = stopper(procs, dir)
  try {
    const ports: number[] = []
    for (let i = 0; i < 6; i++) {
      const port = await freePort()
      const bus = await freePort()
      ports.push(port)
      startServer(dir, [...BASE, '--port', String(port), '--cluster-enabled', 'yes', '--cluster-port', String(bus),
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000', '--dir', dir], procs, port)
    }
    for (const port of ports) await until(`redis ${port} up`, async () => await ask(port, 'PING') === 'PONG' ? true : undefined)
    await run('redis-cli', ['--cluster', 'create', ...ports.map(p => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 })
    for (const port of ports) {
      await until(`cluster state ok at ${port}`, async () => String(await ask(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok') ? true : undefined)
    }
    // Every replica must have its primary's data before a test kills that primary: a never-synced replica
    // would either not be promoted (too stale) or, if it were, come up empty.
    for (const port of ports) {
      await until(`replica ${port} in sync`, async () => {
        const info = String(await ask(port, 'INFO', 'replication'))
        return info.includes('role:master') || info.includes('master_link_status:up') ? true : undefined
      })
    }
    return { env: { REDIS_URL: '', REDIS_CLUSTER_NODES: ports.slice(0, 3).map(p => `127.0.0.1:${p}`).join(',') }, servers: procs, stop }
  } catch (err) { await stop(); throw err }
}

/** The Cluster primary serving `key`'s slot now, and its replica(s), by port (read from `CLUSTER NODES` at `port`). */
export async function slotOwner (port: number, key: string): Promise<{ slot: number, primary: number, replicas: number[] }> {
  const slot = Number(await ask(port, 'CLUSTER', 'KEYSLOT', key))
  const nodes = String(await ask(port, 'CLUSTER', 'NODES')).trim().split('\n').map(l => l.split(' '))
  const portOf = (addr: string): number => Number(addr.split('@')[0].split(':')[1])
  const owner = nodes.find(n => n[2].includes('master') && !n[2].includes('fail') && n.slice(8).some(r => {
    const [lo, hi] = r.split('-').map(Number)
    return slot >= lo && slot <= (hi ?? lo)
  }))
  if (owner === undefined) throw new Error(`no primary serves slot ${slot}`)
  return { slot, primary: portOf(owner[1]), replicas: nodes.filter(n => n[3] === owner[0]).map(n => portOf(n[1])) }
}

export interface SentinelGroup extends RedisGroup {
  name: string
  primary: RedisProc
  replica: RedisProc
  sentinels: RedisProc[]
  /** The port the sentinels name as primary now. */
  primaryPort: () => Promise<number>
}

/** A primary, one replica and three sentinels (quorum 2, down after 1 s). */
export async function startSentinelGroup (name = 'spokeprimary'): Promise<SentinelGroup> {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-sentinel-'))
  const procs: RedisProc[] = []
  const stop = stopper(procs, dir)
  try {
    const pPort = await freePort()
    const rPort = await freePort()
    const primary = startServer(dir, [...BASE, '--port', String(pPort), '--dir', dir], procs, pPort)
    const replica = startServer(dir, [...BASE, '--port', String(rPort), '--dir', dir, '--replicaof', '127.0.0.1', String(pPort)], procs, rPort)
    await until('replica in sync', async () => String(await ask(rPort, 'INFO', 'replication')).includes('master_link_status:up') ? true : undefined)
    const sentinels: RedisProc[] = []
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const conf = join(dir, `sentinel-${port}.conf`)
      // Sentinel rewrites its own file: each gets a writable one.
      writeFileSync(conf, [
        `port ${port}`, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${pPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`, ''
      ].join('\n'))
      sentinels.push(startServer(dir, [conf, '--sentinel'], procs, port))
    }
    // Ready when every sentinel knows the replica and the two other sentinels (needed to agree on a failover).
    for (const s of sentinels) {
      await until(`sentinel ${s.port} sees the group`, async () => {
        const replicas = await ask(s.port, 'SENTINEL', 'REPLICAS', name) as unknown[]
        const others = await ask(s.port, 'SENTINEL', 'SENTINELS', name) as unknown[]
        return replicas.length >= 1 && others.length >= 2 ? true : undefined
      }, 30_000)
    }
    const primaryPort = async (): Promise<number> => Number((await ask(sentinels[0].port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as string[])[1])
    return {
      env: { REDIS_URL: '', REDIS_SENTINELS: sentinels.map(s => `127.0.0.1:${s.port}`).join(','), REDIS_SENTINEL_NAME: name },
      servers: procs, stop, name, primary, replica, sentinels, primaryPort
    }
  } catch (err) { await stop(); throw err }
}
