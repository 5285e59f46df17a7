// v2 pages: get by id, list, pages of a space, ancestors, children.
import { v2Error, type OpResult } from '../errors'
import { v2Page, type BodyFormat } from '../representations'
import { STATUSES } from '../seed'
import type { OpContext, OpHandler } from './context'
import { contentOfKind, cursorPage, list, listContent, range, sorted, type Candidates } from './content-lists'
import { ancestorList, childRefs } from './folders'
import { v2Written } from './content-writes'
import { writesOf, type WrittenDoc } from '../writes'

/** Content index of a readable page or blog post, else -1. Single reads take any status unless one is asked for. */
export function readableContent (ctx: OpContext, id: unknown, kind: 'page' | 'blogpost', statuses?: string[]): number {
  const c = ctx.site.contentIndex(String(id), kind)
  if (c === -1 || !ctx.reader().canRead(c)) return -1
  if (statuses && !statuses.includes(ctx.site.statusOf(c))) return -1
  return c
}

/** GET /pages/{id} and /blogposts/{id}: the same representation, told apart by kind. */
export function getContentById (kind: 'page' | 'blogpost'): OpHandler {
  return (ctx) => {
    // content written through the API (or seeded content changed by a write): its record wins
    const written = writesOf(ctx.site).written(String(ctx.path.id))
    if (written !== undefined) return writtenById(ctx, written, kind)
    const c = readableContent(ctx, ctx.path.id, kind, ctx.query.status)
    if (c === -1) return v2Error(404)
    const item = v2Page(ctx.site, c, ctx.query['body-format'] as BodyFormat | undefined, true)
    if (ctx.query['include-labels'] === true) item.labels = labelsOf(ctx, c)
    return { status: 200, body: item, objects: { core: 1 } }
  }
}

function writtenById (ctx: OpContext, d: WrittenDoc, kind: 'page' | 'blogpost'): OpResult {
  const reader = ctx.reader()
  const statuses = ctx.query.status as string[] | undefined
  if (d.kind !== kind || d.status === 'deleted' || (statuses !== undefined && !statuses.includes(d.status))) return v2Error(404)
  if (d.seeded !== -1 ? !reader.canRead(d.seeded) : !reader.canReadSpace(d.space)) return v2Error(404)
  const item = v2Written(ctx.site, d, ctx.query['body-format'] as string | undefined)
  if (ctx.query['include-labels'] === true) item.labels = labelList(ctx, d.labels)
  return { status: 200, body: item, objects: { core: 1 } }
}

export function writtenTitled (ctx: OpContext, title: string, kind: 'page' | 'blogpost' = 'page'): WrittenDoc[] {
  const statuses = (ctx.query.status as string[] | undefined) ?? ['current', 'archived']
  const spaceIds = (ctx.query['space-id'] as unknown[] | undefined)?.map(String)
  const reader = ctx.reader()
  return [...writesOf(ctx.site).docs.values()].filter((d) => d.kind === kind && d.title === title && statuses.includes(d.status) &&
    (spaceIds === undefined || spaceIds.includes(ctx.site.spaces[d.space].id)) && (d.seeded !== -1 ? reader.canRead(d.seeded) : reader.canReadSpace(d.space)))
}

const getPageById = getContentById('page')

const getPages: OpHandler = (ctx) => {
  // Pages written through the API are found by title (what a create checks before reusing a page); other
  // lists show the seeded pages only.
  if (typeof ctx.query.title === 'string') {
    const found = writtenTitled(ctx, ctx.query.title)
    if (found.length > 0) return { status: 200, body: { results: found.map((d) => v2Written(ctx.site, d, ctx.query['body-format'] as string | undefined, false)), _links: {} }, objects: { core: found.length } }
  }
  const { candidates, inSpaces } = contentOfKind(ctx, 'page')
  return listPages(ctx, candidates, inSpaces)
}

const getPagesInSpace: OpHandler = (ctx) => {
  const space = ctx.site.spaceById.get(String(ctx.path.id))
  if (!space || !ctx.reader().canReadSpace(space.index)) return v2Error(404)
  const rootsOnly = ctx.query.depth === 'root'
  return listPages(ctx, sorted(ctx.site, range(space.pageStart, space.pageEnd), ctx.query.sort), (c) => !rootsOnly || ctx.site.parentRef(c) === -1)
}

function listPages (ctx: OpContext, candidates: Candidates, extra: (c: number) => boolean): OpResult {
  return listContent(ctx, candidates, extra, ['current', 'archived'])
}

const getPageAncestors: OpHandler = (ctx) => {
  const c = readableContent(ctx, ctx.path.id, 'page')
  return c === -1 ? v2Error(404) : ancestorList(ctx, c)
}

/** Direct children (v2 `direct-children` and the deprecated `children`), in child-position order. */
function childrenOf (shape: 'direct' | 'child'): OpHandler {
  return (ctx) => {
    const site = ctx.site
    const c = readableContent(ctx, ctx.path.id, 'page')
    if (c === -1) return v2Error(404)
    const children = site.childList.subarray(site.childStart[c], site.childStart[c + 1])
    // v2 direct children include folders; without a sort they come first (the simulator keeps no shared order)
    if (shape === 'direct' && site.folders.count > 0 && ctx.query.sort === undefined) return childRefs(ctx, [...site.folders.inPage(c), ...children])
    const reader = ctx.reader()
    const current = STATUSES.indexOf('current')
    const archived = STATUSES.indexOf('archived')
    return cursorPage(ctx, sorted(site, list(children), ctx.query.sort),
      (k) => (site.status[k] === current || site.status[k] === archived) && reader.canRead(k),
      (k) => ({
        id: site.contentId(k),
        status: site.statusOf(k),
        title: site.title(k),
        ...(shape === 'direct' ? { type: 'page' } : {}),
        spaceId: site.spaces[site.space[k]].id,
        childPosition: children.indexOf(k)
      }))
  }
}

export function labelsOf (ctx: OpContext, c: number): Record<string, unknown> {
  return labelList(ctx, writesOf(ctx.site).written(ctx.site.contentId(c))?.labels ?? ctx.site.labels(c), c)
}

export function labelList (ctx: OpContext, names: string[], c = 0): Record<string, unknown> {
  const labels = names.map((name, i) => ({ id: String(ctx.site.idBase + c * 10 + i), name, prefix: 'global' }))
  return { results: labels, meta: { hasMore: false, cursor: '' }, _links: { self: `${ctx.sitePath}/labels` } }
}

/** GET /pages/{id}/labels and /blogposts/{id}/labels: the item's labels (written ones win), one page of them. */
function labelsOfContent (kind: 'page' | 'blogpost'): OpHandler {
  return (ctx) => {
    const written = writesOf(ctx.site).written(String(ctx.path.id))
    if (written !== undefined && written.seeded === -1) {
      if (written.kind !== kind || written.status === 'deleted' || !ctx.reader().canReadSpace(written.space)) return v2Error(404)
      return { status: 200, body: labelList(ctx, written.labels), objects: { core: written.labels.length } }
    }
    const c = readableContent(ctx, ctx.path.id, kind, ['current', 'archived'])
    if (c === -1) return v2Error(404)
    const body = labelsOf(ctx, c)
    return { status: 200, body, objects: { core: (body.results as unknown[]).length } }
  }
}

export const pageHandlers: Record<string, OpHandler> = {
  getPageLabels: labelsOfContent('page'),
  getBlogPostLabels: labelsOfContent('blogpost'),
  getPageById,
  getPages,
  getPagesInSpace,
  getPageAncestors,
  getPageDirectChildren: childrenOf('direct'),
  getChildPages: childrenOf('child')
}
