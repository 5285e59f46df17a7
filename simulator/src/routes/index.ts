// Confluence operations the simulator implements, by operationId. Valid requests to any other operation of
// the specs get 501.
import { attachmentHandlers } from './attachments'
import { attachmentWriteHandlers } from './attachment-writes'
import { blogPostHandlers } from './blogposts'
import { commentHandlers } from './comments'
import { contentWriteHandlers } from './content-writes'
import { folderHandlers } from './folders'
import type { OpHandler } from './context'
import { groupHandlers } from './groups'
import { pageHandlers } from './pages'
import { restrictionHandlers } from './restrictions'
import { searchHandlers } from './search'
import { settingsHandlers } from './settings'
import { spaceHandlers } from './spaces'
import { userHandlers } from './users'

export const handlers: Record<string, OpHandler> = {
  ...searchHandlers,
  ...pageHandlers,
  ...folderHandlers,
  ...blogPostHandlers,
  ...attachmentHandlers,
  ...attachmentWriteHandlers,
  ...commentHandlers,
  ...spaceHandlers,
  ...userHandlers,
  ...groupHandlers,
  ...restrictionHandlers,
  ...settingsHandlers,
  ...contentWriteHandlers
}
