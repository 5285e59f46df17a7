// A TCP proxy a test can cut and restore, to make a real Redis "go down" for one spoke without
// touching the Redis every other test file shares.
import net from 'node:net'

export interface TcpProxy { port: number, url: string, cut: () => Promise<void>, restore: () => Promise<void>, close: () => Promise<void> }

export async function startTcpProxy (target: { host: string, port: number }, port = 0): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  let boundPort = port

  const listen = async (): Promise<void> => {
    if (server) return
    server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host)
      sockets.add(client); sockets.add(upstream)
      client.pipe(upstream).pipe(client)
      const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
      client.on('error', end); upstream.on('error', end); client.on('close', end); upstream.on('close', end)
    })
    await new Promise<void>((resolve) => server!.listen(boundPort, '127.0.0.1', resolve))
    boundPort = (server!.address() as net.AddressInfo).port
  }
  const cut = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    sockets.clear()
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()))
    server = undefined
  }
  await listen()
  return {
    get port () { return boundPort },
    get url () { return `redis://127.0.0.1:${boundPort}` },
    cut,
    restore: listen,
    close: cut
  }
}

export function redisTarget (): { host: string, port: number } {
  const u = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  return { host: u.hostname, port: Number(u.port || 6379) }
}
