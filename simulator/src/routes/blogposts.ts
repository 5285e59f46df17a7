// v2 blog posts: get by id, list, blog posts of a space.
import { v2Error } from '../errors'
import type { OpContext, OpHandler } from './context'
import { contentOfKind, listContent, range, sorted, type Candidates } from './content-lists'
import { getContentById, writtenTitled } from './pages'
import { v2Written } from './content-writes'

const getBlogPostById = getContentById('blogpost')

const getBlogPosts: OpHandler = (ctx) => {
  // Blog posts written through the API are found by title (what a resumed create looks for); other lists show the seeded ones.
  if (typeof ctx.query.title === 'string') {
    const found = writtenTitled(ctx, ctx.query.title, 'blogpost')
    if (found.length > 0) return { status: 200, body: { results: found.map((d) => v2Written(ctx.site, d, ctx.query['body-format'] as string | undefined, false)), _links: {} }, objects: { core: found.length } }
  }
  const { candidates, inSpaces } = contentOfKind(ctx, 'blogpost')
  return listBlogPosts(ctx, candidates, inSpaces)
}

const getBlogPostsInSpace: OpHandler = (ctx) => {
  const space = ctx.site.spaceById.get(String(ctx.path.id))
  if (!space || !ctx.reader().canReadSpace(space.index)) return v2Error(404)
  return listBlogPosts(ctx, sorted(ctx.site, range(space.blogStart, space.blogEnd), ctx.query.sort), () => true)
}

function listBlogPosts (ctx: OpContext, candidates: Candidates, extra: (c: number) => boolean): ReturnType<OpHandler> {
  return listContent(ctx, candidates, extra, ['current'])
}

export const blogPostHandlers: Record<string, OpHandler> = { getBlogPostById, getBlogPosts, getBlogPostsInSpace }
