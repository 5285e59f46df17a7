// The one bounded wait: a promise, or a rejection once `ms` pass first. The timer is cleared either way, so a
// race never keeps the process alive; what to fail with is the caller's (a 503 problem, a plain Error).
// (settled-within.ts is its counterpart for shutdown: it never rejects, it says whether work settled.)
export async function within<T> (p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(onTimeout()), ms) })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}
