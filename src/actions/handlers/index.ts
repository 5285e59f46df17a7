// The named built-in handlers an action file may use instead of a request template (`handler.name`). Each
// is a HandlerModule (types.ts): its run, the JSON Schema of its params, and optionally its precheck.
import { attachmentDownload, attachmentUpload } from './attachments'
import { groupMembership } from './group-membership'
import { groupMembersBulk } from './group-members-bulk'
import { commentCreate, contentCreate, contentDelete, contentUpdate, labelChange } from './content-write'
import { contentRelabel } from './content-relabel'
import { contentCrawl } from '../../crawl/run'
import { checkUsageInput, licenceUsage } from '../../licence/usage'
import { checkReclaimInput, licenceReclaim } from '../../licence/reclaim'
import { privacyReport } from '../../privacy/report'
import type { HandlerModule } from './types'

const NO_PARAMS = { type: 'object', additionalProperties: false }

export const HANDLERS: Readonly<Record<string, HandlerModule>> = {
  'group-membership': groupMembership,
  'group-members-bulk': groupMembersBulk,
  'content-crawl': { run: contentCrawl, params: NO_PARAMS },
  'licence-usage': { run: licenceUsage, params: NO_PARAMS, precheck: (ctx) => checkUsageInput(ctx.input) },
  'licence-reclaim': { run: licenceReclaim, params: NO_PARAMS, precheck: (ctx) => checkReclaimInput(ctx.input, ctx.connection) },
  'privacy-report': { run: privacyReport, params: NO_PARAMS },
  'content-create': contentCreate,
  'content-update': contentUpdate,
  'content-delete': contentDelete,
  'comment-create': commentCreate,
  'label-change': labelChange,
  'content-relabel': contentRelabel,
  'attachment-upload': attachmentUpload,
  'attachment-download': attachmentDownload
}
