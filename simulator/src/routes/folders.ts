// v2 folders: get by id, ancestors, direct children. A folder is readable when its space is and every read
// restriction on it and above it lists the caller (like a page). Trashed folders answer 404 unless asked for by
// id (as pages do); their children are listed under whatever is above them by the ancestors' readers.
import { v2Error } from '../errors'
import { folderOfRef, folderRef, isFolderRef } from '../folders'
import { v2Folder } from '../representations'
import { STATUSES } from '../seed'
import type { OpContext, OpHandler } from './context'
import { cursorPage, list } from './content-lists'

/** Folder index of a readable folder, else -1. */
export function readableFolder (ctx: OpContext, id: unknown): number {
  const f = ctx.site.folders.index(String(id))
  return f === -1 || !ctx.reader().canReadFolder(f) ? -1 : f
}

const getFolderById: OpHandler = (ctx) => {
  const f = readableFolder(ctx, ctx.path.id)
  if (f === -1) return v2Error(404)
  return { status: 200, body: v2Folder(ctx.site, f, true), objects: { core: 1 } }
}

/** Pages and folders above a ref, the closest `limit` of them, highest first (v2 ancestors of pages and folders). */
export function ancestorList (ctx: OpContext, ref: number): ReturnType<OpHandler> {
  const limit = typeof ctx.query.limit === 'number' ? ctx.query.limit : 25
  // callers continue from the first one returned
  const closest = ctx.site.ancestorRefs(ref).slice(0, limit).reverse()
  return { status: 200, body: { results: closest.map((a) => ({ id: ctx.site.refId(a), type: ctx.site.refType(a) })), _links: { base: ctx.site.base } }, objects: { core: closest.length } }
}

const getFolderAncestors: OpHandler = (ctx) => {
  const f = readableFolder(ctx, ctx.path.id)
  return f === -1 ? v2Error(404) : ancestorList(ctx, folderRef(f))
}

/** Current and archived children the caller may read, as ChildrenResponse items (folders first, then pages). */
export function childRefs (ctx: OpContext, refs: number[]): ReturnType<OpHandler> {
  const site = ctx.site
  const reader = ctx.reader()
  const shown = new Set([STATUSES.indexOf('current'), STATUSES.indexOf('archived')])
  return cursorPage(ctx, list(refs.map((_, i) => i)),
    (i) => shown.has(site.refStatus(refs[i])) && (isFolderRef(refs[i]) ? reader.canReadFolder(folderOfRef(refs[i])) : reader.canRead(refs[i])),
    (i) => ({
      id: site.refId(refs[i]),
      status: STATUSES[site.refStatus(refs[i])],
      title: isFolderRef(refs[i]) ? site.folders.title(folderOfRef(refs[i])) : site.title(refs[i]),
      type: site.refType(refs[i]),
      spaceId: site.spaces[isFolderRef(refs[i]) ? site.folders.list[folderOfRef(refs[i])].space : site.space[refs[i]]].id,
      childPosition: i
    }))
}

const getFolderDirectChildren: OpHandler = (ctx) => {
  const f = readableFolder(ctx, ctx.path.id)
  return f === -1 ? v2Error(404) : childRefs(ctx, ctx.site.folders.children(f))
}

export const folderHandlers: Record<string, OpHandler> = { getFolderById, getFolderAncestors, getFolderDirectChildren }
