// The spaces of a connection's site, live from Confluence (confluence.space.list, every page), for the console's
// managed-spaces picker.
import type { ActionEngine } from '../actions/execute-action'
import { MAX_RESULTS } from '../actions/list-shape'

export interface SiteSpace { spaceId: string, key: string, name: string }

/** Bounded like the site's groups: a site with more spaces is picked from the first 10,000. */
const MAX_SITE_SPACES = 10_000

export async function siteSpaces (deps: { engine: ActionEngine }, alias: string, requestId: string, traceparent?: string): Promise<SiteSpace[]> {
  const out: SiteSpace[] = []
  const seen = new Set<string>()
  let cursor: string | undefined
  for (let runs = 0; runs < MAX_SITE_SPACES / MAX_RESULTS; runs++) {
    const input = { all: true, maxResults: MAX_RESULTS, ...(cursor !== undefined ? { cursor } : {}) }
    const { output } = await deps.engine.execute({ actionId: 'confluence.space.list', connection: alias, input, requestId, traceparent })
    const page = output as { results: Array<{ id?: unknown, key?: unknown, name?: unknown }>, nextCursor?: string }
    for (const s of page.results) {
      if (typeof s.id !== 'string' || seen.has(s.id)) continue
      seen.add(s.id)
      out.push({ spaceId: s.id, key: typeof s.key === 'string' ? s.key : '', name: typeof s.name === 'string' ? s.name : '' })
    }
    cursor = page.nextCursor
    if (cursor === undefined) break
  }
  return out
}
