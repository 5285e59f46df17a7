// Changes to a site between crawl runs, as people make them in Confluence: an edit (new version, modified
// now), a move (same version: Confluence does not bump it), a restriction change (no version bump either),
// archive, trash (delete), restore (trashed → current), purge, and publishing a draft (a new page, version 1,
// created now; `draft` turns content into a never-published draft first, for tests of creation). The ground truth follows at once:
// the read chains are recomputed after a move or a restriction change. Folders take a move (into a page, a
// folder or the space's root), a restriction change, a trash (delete) or a purge; a page moves into a folder
// the same way it moves under a page (`parentId` is the folder's id). A footer or inline comment takes a
// trash (delete) or a purge, which takes its replies (at any depth) with it; so does a comment on an attachment.
// Tests create a comment by turning a seeded one into a draft before anything reads it, then publishing it.
import { folderOfRef, folderRef, isFolderRef } from './folders'
import { STATUSES, type ContentStatus, type Principals, type SiteData, type User } from './seed'

export type Mutation =
  | { op: 'edit', id: string }
  | { op: 'move', id: string, parentId: string | null }
  | { op: 'restrict', id: string, read: { users?: string[], groups?: string[] } | null }
  | { op: 'archive' | 'delete' | 'purge' | 'publish' | 'restore' | 'draft', id: string }

export class MutationError extends Error {}

const STATUS_OF: Record<'archive' | 'delete' | 'purge' | 'publish' | 'restore' | 'draft', ContentStatus> = {
  archive: 'archived', delete: 'trashed', purge: 'deleted', publish: 'current', restore: 'current', draft: 'draft'
}

export function applyMutation (site: SiteData, users: (accountId: string) => User | undefined, m: Mutation, nowSeconds = Math.floor(Date.now() / 1000)): void {
  const f = site.folders.index(m.id)
  if (f !== -1) { applyFolderMutation(site, users, f, m); site.revision++; return }
  for (const comments of [site.comments, site.inlineComments, site.attachmentComments]) {
    const k = comments.index(m.id)
    if (k === -1) continue
    if (m.op === 'draft') { comments.status[k] = STATUSES.indexOf('draft'); site.revision++; return }
    if (m.op === 'publish') {
      // a new comment: created now, version 1 (`draft` first turns a seeded comment into one never posted)
      if (comments.status[k] !== STATUSES.indexOf('draft')) throw new MutationError('only drafts are published')
      comments.status[k] = STATUSES.indexOf('current')
      comments.created[k] = comments.modified[k] = nowSeconds
      comments.version[k] = 1
      site.revision++
      return
    }
    if (m.op !== 'delete' && m.op !== 'purge') throw new MutationError('comments are only deleted or purged (or, in tests, drafted and published)')
    comments.remove(k, STATUSES.indexOf(STATUS_OF[m.op]))
    site.revision++
    return
  }
  const c = site.contentIndex(m.id)
  if (c === -1) throw new MutationError(`unknown content ${m.id}`)
  switch (m.op) {
    case 'edit':
      site.touch(c, nowSeconds)
      break
    case 'move': {
      if (site.kind(c) !== 'page') throw new MutationError('only pages and folders move')
      const p = newParent(site, c, site.space[c], m.parentId)
      site.parent[c] = isFolderRef(p) ? -1 : p
      site.folders.pageFolder[c] = isFolderRef(p) ? folderOfRef(p) : -1
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
      if (m.op === 'restore' && site.statusOf(c) !== 'trashed') throw new MutationError('only trashed content is restored')
      site.status[c] = STATUSES.indexOf(status)
      // A first publication: created now, version 1. A restore keeps the version (Confluence does not bump it).
      // `draft` is a test set-up: the content becomes a draft never published, so `publish` then creates it.
      if (m.op === 'publish') { site.version[c] = 0; site.touch(c, nowSeconds); site.created[c] = nowSeconds }
    }
  }
  site.revision++
}

/** The ref a page or folder (`ref`) may move into: a page or folder of the same space, not below itself; null = the root. */
function newParent (site: SiteData, ref: number, space: number, parentId: string | null): number {
  if (parentId === null) return -1
  const folder = site.folders.index(parentId)
  const p = folder !== -1 ? folderRef(folder) : site.contentIndex(parentId, 'page')
  const pSpace = folder !== -1 ? site.folders.list[folder].space : p === -1 ? -1 : site.space[p]
  if (p === -1 || pSpace !== space) throw new MutationError(`parent ${parentId} is not a page or folder of the same space`)
  if (p === ref || site.ancestorRefs(p).includes(ref)) throw new MutationError('nothing moves under its own subtree')
  return p
}

function applyFolderMutation (site: SiteData, users: (accountId: string) => User | undefined, f: number, m: Mutation): void {
  const folder = site.folders.list[f]
  switch (m.op) {
    case 'edit': folder.version++; break
    case 'move': {
      const p = newParent(site, folderRef(f), folder.space, m.parentId)
      folder.parentFolder = isFolderRef(p) ? folderOfRef(p) : -1
      folder.parentPage = isFolderRef(p) ? -1 : p
      break
    }
    case 'restrict': {
      const read = m.read === null ? undefined : principals(site, users, m.read)
      folder.restriction = read === undefined && folder.restriction?.update === undefined ? undefined : { ...folder.restriction, read }
      break
    }
    case 'delete': case 'purge': folder.status = STATUSES.indexOf(STATUS_OF[m.op]); break
    default: throw new MutationError(`folders take edit, move, restrict, delete and purge (not ${String(m.op)})`)
  }
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
