// Job progress of a crawl: `done` = pages and blog posts processed, `total` = what the spaces' listings hold,
// counted once per run with a CQL search (`totalSize`) per space before the space is crawled. A count that
// cannot be read leaves `total` out (unknown), it does not fail the run; incremental runs have no total.
import type { HandlerContext, ProgressUpdate } from '../actions/handlers/types'
import { AppError } from '../errors/app-error'
import type { CrawlCheckpoint } from './checkpoint'
import { spaceCql } from './window'

export async function countSpace (call: HandlerContext['call'], space: { id: string, key: string }, kinds: Array<'page' | 'blogpost'>, signal?: AbortSignal): Promise<number | undefined> {
  if (kinds.length === 0) return 0
  try {
    const cql = `${spaceCql(space)} and type in (${kinds.join(', ')})`
    const res = await call({ method: 'GET', path: '/wiki/rest/api/search', query: { cql, limit: 1 }, signal })
    const total = (res.body as { totalSize?: unknown } | null)?.totalSize
    return typeof total === 'number' && total >= 0 ? total : undefined
  } catch (err) {
    if (!(err instanceof AppError) || err.code === 'UPSTREAM_RATE_LIMITED' || signal?.aborted === true) throw err
    return undefined
  }
}

export function progressOf (cp: CrawlCheckpoint, phase: string): ProgressUpdate {
  const counts = cp.spaces.map((s) => s.count)
  const total = cp.since === undefined && counts.every((c) => c !== undefined) ? counts.reduce((a: number, c) => a + (c as number), 0) : undefined
  const space = cp.spaces[Math.min(cp.spaceIndex, cp.spaces.length - 1)]
  const where = space === undefined ? phase : `space ${space.key} (${Math.min(cp.spaceIndex + 1, cp.spaces.length)}/${cp.spaces.length}${space.count !== undefined ? `, ${space.count} pages and blog posts` : ''}), ${phase}`
  return { done: cp.listed ?? 0, ...(total !== undefined ? { total } : {}), message: where }
}
