// v2 blog posts: get by id, list, blog posts of a space.
import { v2Error } from '../errors'
import { v2Page, type BodyFormat } from '../representations'
import type { OpContext, OpHandler } from './context'
import { contentOfKind, cursorPage, range, sorted, statusFilter, type Candidates } from './content-lists'
import { getContentById } from './pages'

const getBlogPostById = getContentById('blogpost')

const getBlogPosts: OpHandler = (ctx) => {
  const { candidates, inSpaces } = contentOfKind(ctx, 'blogpost')
  return listBlogPosts(ctx, candidates, inSpaces)
}

const getBlogPostsInSpace: OpHandler = (ctx) => {
  const space = ctx.site.spaceById.get(String(ctx.path.id))
  if (!space || !ctx.reader().canReadSpace(space.index)) return v2Error(404)
  return listBlogPosts(ctx, sorted(ctx.site, range(space.blogStart, space.blogEnd), ctx.query.sort), () => true)
}

function listBlogPosts (ctx: OpContext, candidates: Candidates, extra: (c: number) => boolean): ReturnType<OpHandler> {
  const site = ctx.site
  const statuses = statusFilter(ctx.query.status, ['current'])
  const title = ctx.query.title as string | undefined
  const format = ctx.query['body-format'] as BodyFormat | undefined
  const reader = ctx.reader()
  return cursorPage(ctx, candidates,
    (c) => statuses.has(site.status[c]) && extra(c) && (title === undefined || site.title(c) === title) && reader.canRead(c),
    (c) => v2Page(site, c, format))
}

export const blogPostHandlers: Record<string, OpHandler> = { getBlogPostById, getBlogPosts, getBlogPostsInSpace }
