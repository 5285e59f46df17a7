// The named built-in handlers an action file may use instead of a request template (`handler.name`). Each
// is a HandlerModule (types.ts): its run, the JSON Schema of its params, and optionally its precheck.
import { groupMembership } from './group-membership'
import { groupMembersBulk } from './group-members-bulk'
import { contentCrawl } from '../../crawl/run'
import type { HandlerModule } from './types'

export const HANDLERS: Readonly<Record<string, HandlerModule>> = {
  'group-membership': groupMembership,
  'group-members-bulk': groupMembersBulk,
  'content-crawl': { run: contentCrawl, params: { type: 'object', additionalProperties: false } }
}
