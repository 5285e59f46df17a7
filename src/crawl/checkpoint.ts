// The crawl's resumable position, saved in the job's checkpoint hash after every fully processed page:
// where the run is (space, content type, next page link, phase), where the sink is, and the tallies so far.
import type { Checkpoint } from '../actions/handlers/types'

/** `count`: pages and blog posts its listing holds (CQL totalSize at the start of a full run), when known. */
export interface SpaceRef { id: string, key: string, name: string, url: string, count?: number }

export interface CrawlCheckpoint {
  v: 1
  /** frozen upper bound of the run (ISO) */
  startedAt: string
  /** incremental lower bound (ISO), absent for a full listing */
  since?: string
  timeZone: string
  spaces: SpaceRef[]
  spaceIndex: number
  typeIndex: number
  cursor?: string
  phase: 'space' | 'list' | 'commit' | 'groups' | 'users' | 'done'
  groupStart: number
  sink: number
  counts: Record<string, number>
  errors: Record<string, number>
  deletions: number
  incomplete: string[]
  processed: number
  /** pages and blog posts processed (job progress `done`) */
  listed?: number
  users?: { unresolved: number, unresolvedIds: string[] }
  /** stored spaces the run's space listing no longer shows, still to delete (or mark) */
  removedSpaces?: string[]
  /** the alias no longer reaches the site (accessible-resources proved it): every stored space is removed, nothing crawled */
  siteLost?: boolean
  /** those already deleted (or marked) */
  removed?: string[]
  /** items that failed (the first 1,000) and how many per space */
  failed?: Array<{ id: string, kind: string, spaceId: string, code: string }>
  failedBySpace?: Record<string, number>
}

const FIELD = 'crawl'

export async function loadCheckpoint (cp: Checkpoint | undefined): Promise<CrawlCheckpoint | undefined> {
  const saved = cp === undefined ? undefined : (await cp.load()).get(FIELD)
  return saved === undefined ? undefined : JSON.parse(saved) as CrawlCheckpoint
}

export async function saveCheckpoint (cp: Checkpoint | undefined, state: CrawlCheckpoint): Promise<void> {
  if (cp !== undefined) await cp.save(FIELD, JSON.stringify(state))
}

export function tally (into: Record<string, number>, key: string, n = 1): void { into[key] = (into[key] ?? 0) + n }
