// Waiting for work without letting it hold a shutdown: true when every promise settled (resolved or
// rejected) within `ms`, false when the time ran out first.
export async function settledWithin (work: Array<Promise<unknown> | undefined>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([
    Promise.allSettled(work).then(() => true),
    new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), ms) })
  ])
  clearTimeout(timer)
  return settled
}
