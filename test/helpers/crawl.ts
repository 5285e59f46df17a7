// Helpers of the crawl tests: read an NDJSON sink, reduce it to the state an index would hold (upsert by
// recordId, fields merged; `deleted` removes), and evaluate exported ACLs with exported memberships.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ContentSummary, Simulator } from 'confluence-cloud-simulator'
import { canRead, type Acl, type Subject } from '../../src/crawl/acl'
import { submitJob, waitForJob } from './jobs'
import type { TestSpoke } from './spoke'

export type Rec = Record<string, any> & { recordId: string, kind: string }

/** Runs a crawl of `types` into the file sink `input.sink` names, waits for it to complete, and reads what it wrote. */
export async function crawlToSink (t: TestSpoke, types: string[], input: Record<string, unknown>, timeoutMs = 90_000): Promise<{ result: any, records: Rec[] }> {
  const id = await submitJob(t, 'confluence.content.crawl', { input: { types, ...input } })
  const job = await waitForJob(t, id, undefined, timeoutMs)
  if (job.state !== 'completed') throw new Error(`crawl ${id}: ${JSON.stringify(job).slice(0, 800)}`)
  return { result: job.result, records: readSink(t.config.dataDir, (input.sink as { path: string }).path) }
}

export function readSink (dataDir: string, path: string): Rec[] {
  const text = readFileSync(join(dataDir, 'crawls', path), 'utf8')
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec)
}

/** The index's view: one entry per recordId, later records merged over earlier ones, deletions removing. */
export function reduce (records: Rec[], into = new Map<string, Rec>()): Map<string, Rec> {
  for (const r of records) {
    if (r.kind === 'deleted') into.delete(r.recordId)
    else into.set(r.recordId, { ...(into.get(r.recordId) ?? {}), ...r })
  }
  return into
}

/** Subjects from exported user and group records. */
export function subjects (state: Map<string, Rec>): Map<string, Subject> {
  const groupsOf = new Map<string, Set<string>>()
  for (const r of state.values()) {
    if (r.kind !== 'group') continue
    for (const m of r.members as string[]) {
      let set = groupsOf.get(m)
      if (set === undefined) groupsOf.set(m, set = new Set())
      set.add(r.groupId)
    }
  }
  const out = new Map<string, Subject>()
  for (const r of state.values()) if (r.kind === 'user') out.set(r.accountId, { accountId: r.accountId, groupIds: groupsOf.get(r.accountId) ?? new Set(), accountType: r.accountType })
  return out
}

export { canRead, type Acl, type Subject }

/** Nearest-wins (Onyx): the item's own restriction, else the closest restricted ancestor's, else the space's. */
export function nearestWins (acl: Acl, s: Subject | undefined): boolean {
  const restrictions = acl.allOf.filter((c) => c.source === 'restriction')
  const clause = restrictions[0] ?? acl.allOf[0]
  return canRead({ allOf: [clause] }, s)
}

/** Intersection of ids (Elastic): tokens in every restriction layer; the space only when no layer restricts. */
export function intersection (acl: Acl, s: Subject | undefined): boolean {
  const restrictions = acl.allOf.filter((c) => c.source === 'restriction')
  if (restrictions.length === 0) return canRead({ allOf: [acl.allOf[0]] }, s)
  const token = (p: any): string => p.type === 'user' ? `u:${String(p.accountId)}` : p.type === 'group' ? `g:${String(p.groupId)}` : `c:${String(p.id)}`
  let common = new Set(restrictions[0].anyOf.map(token))
  for (const c of restrictions.slice(1)) { const next = new Set(c.anyOf.map(token)); common = new Set([...common].filter((t) => next.has(t))) }
  const kept = restrictions[0].anyOf.filter((p) => common.has(token(p)))
  return canRead({ allOf: [{ source: 'restriction', sourceId: 'x', anyOf: kept }] }, s)
}

/** The page or blog post an item hangs off (itself for a page or blog post; an attachment comment's: its attachment's). */
export function containerPageOf (sim: Simulator, c: ContentSummary): string {
  if (c.kind === 'page' || c.kind === 'blogpost') return c.id
  return c.containerType === 'attachment' ? sim.data.contentById(c.parentId as string)?.parentId as string : c.parentId as string
}

/** Current (or an archived page: marked by default), and so is every container above it (an attachment's page; a comment's page, or attachment and its page). */
export function exportable (sim: Simulator, c: ContentSummary, archived = true): boolean {
  // (archived pages, exported marked by default, hold their attachments and comments like current ones)
  const current = (id: string): boolean => { const item = sim.data.contentById(id); return item?.status === 'current' || (archived && item?.status === 'archived' && item.kind === 'page') }
  return (c.status === 'current' || (archived && c.kind === 'page' && c.status === 'archived')) && current(containerPageOf(sim, c)) && (c.containerType !== 'attachment' || current(c.parentId as string))
}

/** Every item a full crawl of every type should export (content and comments of current containers). */
export function expectedItems (sim: Simulator, archived = true): ContentSummary[] {
  return [...sim.data.content(), ...sim.data.comments()].filter((c) => exportable(sim, c, archived))
}
