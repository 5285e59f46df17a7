// v1 CQL search (`searchByCQL`, `searchContentByCQL`): results filtered by the caller's permissions,
// cursor pagination with `_links.next` relative to `_links.base`. searchByCQL also finds spaces and users
// when the query names their type (`type = space`, `type in (user, page)`), as Confluence's search does;
// content search finds content only.
import { compileOrder, compileWhere, CqlError, entityOf, namedTypes, parseCql, spaceEntity, userEntity } from '../cql'
import { v1Error } from '../errors'
import { decodeCursor, encodeCursor, nextUrl } from '../pagination'
import { iso, profileWebui, spaceWebui, v1Content, v1Space, v1User, webui } from '../representations'
import { STATUSES, type SiteData } from '../seed'
import type { OpContext, OpHandler } from './context'
import { writesOf } from '../writes'

/** Confluence caps search pages at an undocumented "fixed system limit"; the simulator uses 100. */
export const SEARCH_MAX_LIMIT = 100
const CACHE_ENTRIES = 16
const cache = new WeakMap<SiteData, Map<string, Int32Array>>()

/** Users have no modification time in the seed: their results carry this one (2023-01-01). */
const PROFILE_UPDATED = 1672531200

/** All matches of a query for the caller, in result order (entity numbers, see cql.ts); cached per site revision, user and query. */
function matches (ctx: OpContext, cql: string, contentOnly: boolean): Int32Array {
  const site = ctx.site
  const key = `${site.revision}|${ctx.caller.index}|${contentOnly ? 'c' : 'e'}|${cql}`
  let entries = cache.get(site)
  if (!entries) { entries = new Map(); cache.set(site, entries) }
  const hit = entries.get(key)
  if (hit) return hit
  const query = parseCql(cql)
  const where = compileWhere(site, query.where)
  const reader = ctx.reader()
  const current = STATUSES.indexOf('current')
  const found: number[] = []
  for (let c = 0; c < site.total; c++) if (site.status[c] === current && where(c) && reader.canRead(c)) found.push(c)
  const types = contentOnly ? new Set<string>() : namedTypes(query.where)
  if (types.has('space')) {
    // Archived spaces stay out, as with includeArchivedSpaces=false (the default).
    for (const space of site.spaces) {
      const e = spaceEntity(site, space.index)
      if (space.status === 'current' && reader.canReadSpace(space.index) && where(e)) found.push(e)
    }
  }
  if (types.has('user')) for (let u = 0; u < site.users.length; u++) { const e = userEntity(site, u); if (where(e)) found.push(e) }
  const order = compileOrder(site, query.orderBy)
  if (order) found.sort(order)
  const result = Int32Array.from(found)
  if (entries.size >= CACHE_ENTRIES) entries.delete(entries.keys().next().value as string)
  entries.set(key, result)
  return result
}

function page (ctx: OpContext, contentOnly: boolean): { items: number[], position: number, limit: number, total: number, next?: string } | string {
  const cql = String(ctx.query.cql)
  let all: Int32Array
  try {
    all = matches(ctx, cql, contentOnly)
  } catch (err) {
    if (err instanceof CqlError) return `CQL query cannot be parsed: ${err.message}`
    throw err
  }
  const fromCursor = decodeCursor(ctx.query.cursor)
  if (fromCursor === undefined) return 'Invalid cursor'
  const position = ctx.query.cursor !== undefined ? fromCursor : (ctx.query.start ?? 0)
  const limit = Math.min(SEARCH_MAX_LIMIT, ctx.query.limit ?? 25)
  const items = Array.from(all.subarray(position, position + limit))
  const relativePath = ctx.sitePath.replace(/^\/wiki/, '')
  const next = position + limit < all.length
    ? nextUrl(relativePath, withoutStart(ctx.rawQuery), { next: 'true', cursor: encodeCursor(position + limit), limit: String(limit) })
    : undefined
  return { items, position, limit, total: all.length, next }
}

function withoutStart (query: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams(query)
  q.delete('start')
  q.delete('prev')
  return q
}

function links (ctx: OpContext, next: string | undefined): Record<string, string> {
  const relativePath = ctx.sitePath.replace(/^\/wiki/, '')
  return { base: ctx.site.base, context: '/wiki', self: `${ctx.site.base}${relativePath}?${ctx.rawQuery.toString()}`, ...(next ? { next } : {}) }
}

function expansions (expand: unknown, prefix: string): Set<string> {
  const list = Array.isArray(expand) ? expand as string[] : []
  return new Set(list.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length)))
}

const searchByCQL: OpHandler = (ctx) => {
  const started = Date.now()
  const result = page(ctx, false)
  if (typeof result === 'string') return v1Error(400, result, false)
  const site = ctx.site
  const expand = expansions(ctx.query.expand, 'content.')
  const excerpt = ctx.query.excerpt === 'none'
  const results = result.items.map((e) => {
    const entity = entityOf(site, e)
    if (entity.kind === 'space') {
      const space = entity.space
      return { space: v1Space(site, space), title: space.name, excerpt: '', url: spaceWebui(space), breadcrumbs: [], entityType: 'space', iconCssClass: 'aui-icon content-type-space', lastModified: iso(space.createdAt), friendlyLastModified: iso(space.createdAt).slice(0, 10), score: 1 }
    }
    if (entity.kind === 'user') {
      const user = entity.user
      return { user: v1User(site, user), title: user.displayName, excerpt: '', url: profileWebui(user), breadcrumbs: [], entityType: 'user', iconCssClass: 'aui-icon content-type-profile', lastModified: iso(PROFILE_UPDATED), score: 1 }
    }
    const c = entity.c
    const space = site.spaces[site.space[c]]
    return {
      content: v1Content(site, c, expand),
      title: site.title(c),
      excerpt: excerpt ? '' : site.bodyWords(c).slice(0, 12).join(' '),
      url: webui(site, c),
      resultGlobalContainer: { title: space.name, displayUrl: spaceWebui(space) },
      breadcrumbs: [],
      entityType: 'content',
      iconCssClass: `aui-icon content-type-${site.kind(c)}`,
      lastModified: iso(site.modified[c]),
      friendlyLastModified: iso(site.modified[c]).slice(0, 10),
      score: 1
    }
  })
  return {
    status: 200,
    body: {
      results,
      start: result.position,
      limit: result.limit,
      size: results.length,
      totalSize: result.total,
      cqlQuery: String(ctx.query.cql),
      searchDuration: Date.now() - started,
      _links: links(ctx, result.next)
    },
    objects: { core: results.length }
  }
}

const searchContentByCQL: OpHandler = (ctx) => {
  const result = page(ctx, true)
  if (typeof result === 'string') return v1Error(400, result, false)
  const expand = expansions(ctx.query.expand, '')
  const results = result.items.map((c) => withLabels(ctx, c, v1Content(ctx.site, c, expand), expand.has('metadata.labels')))
  return {
    status: 200,
    body: { results, start: result.position, limit: result.limit, size: results.length, _links: links(ctx, result.next) },
    objects: { core: results.length }
  }
}

/** `expand=metadata.labels`: the item's labels (written ones win) as a v1 LabelArray. */
function withLabels (ctx: OpContext, c: number, content: Record<string, unknown>, wanted: boolean): Record<string, unknown> {
  if (!wanted) return content
  const names = writesOf(ctx.site).written(ctx.site.contentId(c))?.labels ?? ctx.site.labels(c)
  const results = names.map((name, i) => ({ prefix: 'global', name, id: String(ctx.site.idBase + c * 10 + i), label: name }))
  content.metadata = { ...(content.metadata as Record<string, unknown> | undefined), labels: { results, start: 0, limit: 200, size: results.length, _links: {} } }
  return content
}

export const searchHandlers: Record<string, OpHandler> = { searchByCQL, searchContentByCQL }
