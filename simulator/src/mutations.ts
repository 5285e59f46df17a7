// Changes to a site between crawl runs, as people make them in Confluence: an edit (new version, modified
// now), a move (same version: Confluence does not bump it), a restriction change (no version bump either),
// archive, trash (delete), purge, and publishing a draft (a new page). The ground truth follows at once:
// the read chains are recomputed after a move or a restriction change.
import { STATUSES, type ContentStatus, type Principals, type SiteData, type User } from './seed'

export type Mutation =
  | { op: 'edit', id: string }
  | { op: 'move', id: string, parentId: string | null }
  | { op: 'restrict', id: string, read: { users?: string[], groups?: string[] } | null }
  | { op: 'archive' | 'delete' | 'purge' | 'publish', id: string }

export class MutationError extends Error {}

const STATUS_OF: Record<'archive' | 'delete' | 'purge' | 'publish', ContentStatus> = {
  archive: 'archived', delete: 'trashed', purge: 'deleted', publish: 'current'
}

export function applyMutation (site: SiteData, users: (accountId: string) => User | undefined, m: Mutation, nowSeconds = Math.floor(Date.now() / 1000)): void {
  const c = site.contentIndex(m.id)
  if (c === -1) throw new MutationError(`unknown content ${m.id}`)
  switch (m.op) {
    case 'edit':
      site.touch(c, nowSeconds)
      break
    case 'move': {
      if (site.kind(c) !== 'page') throw new MutationError('only pages move')
      const p = m.parentId === null ? -1 : site.contentIndex(m.parentId, 'page')
      if (m.parentId !== null && (p === -1 || site.space[p] !== site.space[c])) throw new MutationError(`parent ${String(m.parentId)} is not a page of the same space`)
      for (let a = p; a !== -1; a = site.parent[a]) if (a === c) throw new MutationError('a page cannot move under its own subtree')
      site.parent[c] = p
      site.rebuildChildren()
      site.recomputeReadChains()
      break
    }
    case 'restrict': {
      if (site.kind(c) === 'attachment') throw new MutationError('attachments take their container\'s restrictions')
      const existing = site.restrictions.get(c) ?? {}
      const read = m.read === null ? undefined : principals(site, users, m.read)
      site.restrictions.set(c, { ...existing, read })
      if (read === undefined && existing.update === undefined) site.restrictions.delete(c)
      site.recomputeReadChains()
      break
    }
    default: {
      const status = STATUS_OF[m.op]
      if (status === undefined) throw new MutationError(`unknown op ${String((m as { op: unknown }).op)}`)
      if (m.op === 'publish' && site.statusOf(c) !== 'draft') throw new MutationError('only drafts are published')
      site.status[c] = STATUSES.indexOf(status)
      if (m.op === 'publish') site.touch(c, nowSeconds)
    }
  }
  site.revision++
}

function principals (site: SiteData, users: (accountId: string) => User | undefined, read: { users?: string[], groups?: string[] }): Principals {
  const out: Principals = { users: [], groups: [] }
  for (const a of read.users ?? []) {
    const u = users(a)
    if (!u) throw new MutationError(`unknown account ${a}`)
    out.users.push(u.index)
  }
  for (const g of read.groups ?? []) {
    const group = site.groupById.get(g)
    if (!group) throw new MutationError(`unknown group ${g}`)
    out.groups.push(group.index)
  }
  if (out.users.length + out.groups.length === 0) throw new MutationError('a read restriction names at least one user or group (null removes it)')
  return out
}
