// JSON shapes of Confluence objects (v1 User/Group/Content/Space, v2 page/blog post/attachment/space),
// built on demand from the compact seed data.
import { hash32 } from './random'
import type { Group, SiteData, Space, User } from './seed'

export const iso = (seconds: number): string => new Date(seconds * 1000).toISOString()

export type BodyFormat = 'storage' | 'atlas_doc_format' | 'view' | 'export_view' | 'anonymous_export_view' | 'styled_view' | 'editor'

// ---- v1 ----

export function v1User (site: SiteData, user: User): Record<string, unknown> {
  return {
    type: 'known',
    accountId: user.accountId,
    accountType: user.accountType,
    email: user.emailVisible && user.email ? user.email : '',
    publicName: user.displayName,
    profilePicture: { path: `/wiki/aa-avatar/${user.accountId}`, width: 48, height: 48, isDefault: true },
    displayName: user.displayName,
    timeZone: user.timeZone,
    isExternalCollaborator: false,
    externalCollaborator: false,
    isGuest: false,
    _expandable: { operations: '', personalSpace: '' },
    _links: { self: `${site.base}/rest/api/user?accountId=${encodeURIComponent(user.accountId)}`, base: site.base, context: '/wiki' }
  }
}

export function v1Group (site: SiteData, group: Group): Record<string, unknown> {
  return {
    type: 'group',
    name: group.name,
    id: group.id,
    usageType: 'USERBASE_GROUP',
    managedBy: 'ADMINS',
    _links: { self: `${site.base}/rest/api/group/by-id?id=${group.id}` }
  }
}

export function v1Space (site: SiteData, space: Space): Record<string, unknown> {
  return {
    id: Number(space.id),
    key: space.key,
    name: space.name,
    type: 'global',
    status: space.status,
    _expandable: { settings: '', metadata: '', operations: '', lookAndFeel: '', permissions: '', icon: '', theme: '', history: '', homepage: '' },
    _links: { webui: spaceWebui(space), self: `${site.base}/rest/api/space/${space.key}` }
  }
}

/** v1 Content, with the expansions search callers ask for (`content.space`, `content.version`, `content.history`). */
export function v1Content (site: SiteData, c: number, expand: Set<string>): Record<string, unknown> {
  const id = site.contentId(c)
  const space = site.spaces[site.space[c]]
  const content: Record<string, unknown> = {
    id,
    type: site.kind(c),
    status: site.statusOf(c),
    title: site.title(c),
    _expandable: {},
    _links: { webui: webui(site, c), self: `${site.base}/rest/api/content/${id}`, tinyui: `/x/${tiny(site, c)}` }
  }
  const expandable = content._expandable as Record<string, string>
  if (expand.has('space')) content.space = v1Space(site, space)
  else expandable.space = `/rest/api/space/${space.key}`
  const version = { number: site.version[c], when: iso(site.modified[c]), minorEdit: false, message: '' }
  if (expand.has('version')) content.version = version
  else expandable.version = ''
  if (expand.has('history')) content.history = { latest: true, createdDate: iso(site.created[c]), lastUpdated: version }
  else expandable.history = `/rest/api/content/${id}/history`
  if (site.kind(c) === 'attachment') {
    const info = site.attachmentInfo(c)
    content.metadata = { mediaType: info.mediaType }
    content.extensions = { mediaType: info.mediaType, fileSize: info.fileSize, fileId: info.fileId }
    ;(content._links as Record<string, string>).download = downloadLink(site, c)
  }
  return content
}

// ---- v2 ----

export function v2Page (site: SiteData, c: number, format?: BodyFormat, withBase = false): Record<string, unknown> {
  const id = site.contentId(c)
  const space = site.spaces[site.space[c]]
  const author = site.users[site.author[c]].accountId
  const page: Record<string, unknown> = {
    id,
    status: site.statusOf(c),
    title: site.title(c),
    spaceId: space.id
  }
  if (site.kind(c) === 'page') {
    const parent = site.parentRef(c)
    if (parent !== -1) { page.parentId = site.refId(parent); page.parentType = site.refType(parent) }
    page.position = hash32(site.seed, c, 17) % 10000
  }
  Object.assign(page, {
    authorId: author,
    ...(site.kind(c) === 'page' ? { ownerId: author, lastOwnerId: null } : {}),
    createdAt: iso(site.created[c]),
    version: v2Version(site, c),
    body: format ? { [format]: { representation: format, value: renderBody(site, c, format) } } : {},
    _links: { webui: webui(site, c), editui: `/pages/resumedraft.action?draftId=${id}`, tinyui: `/x/${tiny(site, c)}`, ...(withBase ? { base: site.base } : {}) }
  })
  return page
}

export function v2Attachment (site: SiteData, c: number, withBase = false): Record<string, unknown> {
  const id = `att${site.contentId(c)}`
  const container = site.parent[c]
  const info = site.attachmentInfo(c)
  const download = downloadLink(site, c)
  return {
    id,
    status: site.statusOf(c),
    title: site.title(c),
    createdAt: iso(site.created[c]),
    ...(site.kind(container) === 'page' ? { pageId: site.contentId(container) } : { blogPostId: site.contentId(container) }),
    mediaType: info.mediaType,
    mediaTypeDescription: info.mediaType.split('/')[1].toUpperCase(),
    comment: '',
    fileId: info.fileId,
    fileSize: info.fileSize,
    webuiLink: webui(site, c),
    downloadLink: download,
    version: v2Version(site, c),
    _links: { webui: webui(site, c), download, ...(withBase ? { base: site.base } : {}) }
  }
}

/** v2 FolderSingle. */
export function v2Folder (site: SiteData, f: number, withBase = false): Record<string, unknown> {
  const folder = site.folders.list[f]
  const parent = site.folders.parentRef(f)
  const space = site.spaces[folder.space]
  const author = site.users[folder.author].accountId
  return {
    id: folder.id,
    type: 'folder',
    status: site.folders.statusOf(f),
    title: site.folders.title(f),
    ...(parent !== -1 ? { parentId: site.refId(parent), parentType: site.refType(parent) } : {}),
    position: hash32(site.seed, f, 0xf17) % 10000,
    authorId: author,
    ownerId: author,
    createdAt: iso(folder.created),
    spaceId: space.id,
    version: { createdAt: iso(folder.created), message: '', number: folder.version, minorEdit: false, authorId: author },
    _links: { webui: `/spaces/${space.key}/folder/${folder.id}`, ...(withBase ? { base: site.base } : {}) }
  }
}

export function v2Space (site: SiteData, space: Space): Record<string, unknown> {
  return {
    id: space.id,
    key: space.key,
    name: space.name,
    type: 'global',
    status: space.status,
    authorId: site.users[0].accountId,
    createdAt: iso(space.createdAt),
    ...(space.pageEnd > space.pageStart ? { homepageId: site.contentId(space.pageStart) } : {}),
    _links: { webui: `/spaces/${space.key}` }
  }
}

function v2Version (site: SiteData, c: number): Record<string, unknown> {
  return { createdAt: iso(site.modified[c]), message: '', number: site.version[c], minorEdit: false, authorId: site.users[site.author[c]].accountId }
}

/** Where a person opens content: a page or blog post itself; an attachment's preview on its container. */
export function webui (site: SiteData, c: number): string {
  if (site.kind(c) === 'attachment') return `${webui(site, site.parent[c])}?preview=${encodeURIComponent(site.title(c))}`
  const space = site.spaces[site.space[c]]
  const slug = encodeURIComponent(site.title(c)).replace(/%20/g, '+')
  return site.kind(c) === 'blogpost'
    ? `/spaces/${space.key}/blog/${iso(site.created[c]).slice(0, 10).replace(/-/g, '/')}/${site.contentId(c)}/${slug}`
    : `/spaces/${space.key}/pages/${site.contentId(c)}/${slug}`
}

/** An attachment's file (relative to /wiki), as Confluence links it. */
export function downloadLink (site: SiteData, c: number): string {
  return `/download/attachments/${site.contentId(site.parent[c])}/${encodeURIComponent(site.title(c))}?version=${site.version[c]}&api=v2`
}

/** A space's overview page and a user's profile, as search results link them. */
export const spaceWebui = (space: Space): string => `/spaces/${space.key}`
export const profileWebui = (user: User): string => `/people/${encodeURIComponent(user.accountId)}`

function tiny (site: SiteData, c: number): string {
  return Buffer.from(String(site.idBase + c)).toString('base64url')
}

/** Bodies are rendered from the id on each request, never stored. */
export function renderBody (site: SiteData, c: number, format: BodyFormat): string {
  const title = site.title(c)
  const words = site.bodyWords(c)
  const sentences = [words.slice(0, 8).join(' '), words.slice(8, 16).join(' '), words.slice(16).join(' ')]
  if (format === 'atlas_doc_format') {
    return JSON.stringify({
      type: 'doc',
      version: 1,
      content: [
        { type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: title }] },
        ...sentences.map((s) => ({ type: 'paragraph', content: [{ type: 'text', text: `${s}.` }] }))
      ]
    })
  }
  const html = `<h1>${escapeHtml(title)}</h1>${sentences.map((s) => `<p>${s}.</p>`).join('')}`
  return format === 'storage' || format === 'editor' ? html : `<div class="wiki-content">${html}</div>`
}

function escapeHtml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
