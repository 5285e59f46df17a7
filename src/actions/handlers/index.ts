// The named built-in handlers an action file may use instead of a request template, each with the JSON
// Schema of the `handler.params` it accepts (checked at load like everything else in the file).
import { groupMembership } from './group-membership'
import { groupMembersBulk } from './group-members-bulk'
import { contentCrawl } from '../../crawl/run'
import { licenceUsage } from '../../licence/usage'
import { licenceReclaim } from '../../licence/reclaim'
import { privacyReport } from '../../privacy/report'
import type { ActionHandler } from './types'

export interface HandlerSpec { run: ActionHandler, params: Record<string, unknown> }

export const HANDLERS: Readonly<Record<string, HandlerSpec>> = {
  'group-membership': {
    run: groupMembership,
    params: { type: 'object', additionalProperties: false, required: ['op'], properties: { op: { enum: ['add', 'remove'] } } }
  },
  'group-members-bulk': {
    run: groupMembersBulk,
    params: { type: 'object', additionalProperties: false }
  },
  'content-crawl': {
    run: contentCrawl,
    params: { type: 'object', additionalProperties: false }
  },
  'licence-usage': {
    run: licenceUsage,
    params: { type: 'object', additionalProperties: false }
  },
  'licence-reclaim': {
    run: licenceReclaim,
    params: { type: 'object', additionalProperties: false }
  },
  'privacy-report': { run: privacyReport, params: { type: 'object', additionalProperties: false } }
}
