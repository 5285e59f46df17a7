// Content written through the API: pages and blog posts created, updated, trashed and purged, footer comments
// and labels. The seeded content lives in compact arrays recomputed from the seed (seed.ts); a write to it
// materialises a record here (title, bodies, labels as they were), and the record wins from then on for
// reads by id. New content gets ids in a range of its own (idBase + 5,000,000 + n). Version numbers and
// statuses of seeded content are mirrored into the site's arrays, so lists and crawls see them too.
import { renderBody } from './representations'
import { STATUSES, type ContentStatus, type SiteData } from './seed'

export interface WrittenDoc {
  id: string
  kind: 'page' | 'blogpost'
  /** the seeded content index, or -1 for content created through the API */
  seeded: number
  space: number
  title: string
  storage: string
  adf: string
  version: number
  versionMessage: string
  versionAuthor: string
  modifiedAt: number
  createdAt: number
  authorId: string
  status: ContentStatus
  parentId?: string
  labels: string[]
}

export interface WrittenComment {
  id: string
  container: { field: 'pageId' | 'blogPostId' | 'attachmentId', id: string } | { field: 'parentCommentId', id: string }
  storage: string
  version: number
  authorId: string
  createdAt: number
  status: ContentStatus
}

const NEW_ID_OFFSET = 5_000_000

export class SiteWrites {
  readonly docs = new Map<string, WrittenDoc>()
  readonly comments = new Map<string, WrittenComment>()
  private next = 0

  constructor (private readonly site: SiteData) {}

  newId (): string { return String(this.site.idBase + NEW_ID_OFFSET + this.next++) }

  /** The record of content `id` (seeded content is materialised on demand), or undefined. */
  doc (id: string, kind?: 'page' | 'blogpost', materialise = false): WrittenDoc | undefined {
    const existing = this.docs.get(id)
    if (existing) return kind === undefined || existing.kind === kind ? existing : undefined
    const site = this.site
    const c = site.contentIndex(id)
    if (c === -1 || site.kind(c) === 'attachment' || (kind !== undefined && site.kind(c) !== kind)) return undefined
    const doc: WrittenDoc = {
      id,
      kind: site.kind(c) as 'page' | 'blogpost',
      seeded: c,
      space: site.space[c],
      title: site.title(c),
      storage: renderBody(site, c, 'storage'),
      adf: renderBody(site, c, 'atlas_doc_format'),
      version: site.version[c],
      versionMessage: '',
      versionAuthor: site.users[site.author[c]].accountId,
      modifiedAt: site.modified[c],
      createdAt: site.created[c],
      authorId: site.users[site.author[c]].accountId,
      status: site.statusOf(c),
      ...(site.kind(c) === 'page' && site.parentRef(c) !== -1 ? { parentId: site.refId(site.parentRef(c)) } : {}),
      labels: site.labels(c)
    }
    if (materialise) this.docs.set(id, doc)
    return doc
  }

  /** Only API-created content and materialised seeded content. */
  written (id: string): WrittenDoc | undefined { return this.docs.get(id) }

  add (doc: WrittenDoc): void { this.docs.set(doc.id, doc); this.site.revision++ }

  /** After a change to a record: mirror version and status into the seeded arrays. */
  changed (doc: WrittenDoc): void {
    this.docs.set(doc.id, doc)
    if (doc.seeded !== -1) {
      this.site.version[doc.seeded] = doc.version
      this.site.modified[doc.seeded] = doc.modifiedAt
      this.site.status[doc.seeded] = STATUSES.indexOf(doc.status)
    }
    this.site.revision++
  }

  /** A current page of the space with this title (seeded or written), other than `except`. */
  pageTitled (space: number, title: string, except?: string): string | undefined {
    for (const d of this.docs.values()) {
      if (d.kind === 'page' && d.space === space && d.title === title && d.id !== except && (d.status === 'current' || d.status === 'archived' || d.status === 'draft')) return d.id
    }
    const site = this.site
    const s = site.spaces[space]
    for (let c = s.pageStart; c < s.pageEnd; c++) {
      const id = site.contentId(c)
      if (id === except || this.docs.has(id)) continue
      if ((site.status[c] <= 1) && site.title(c) === title) return id
    }
    return undefined
  }
}

const writes = new WeakMap<SiteData, SiteWrites>()

/** The written content of a site (created on first use). */
export function writesOf (site: SiteData): SiteWrites {
  let w = writes.get(site)
  if (!w) { w = new SiteWrites(site); writes.set(site, w) }
  return w
}

const ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos', 'nbsp', 'ndash', 'mdash', 'hellip', 'copy', 'reg', 'trade', 'laquo', 'raquo', 'lsquo', 'rsquo', 'ldquo', 'rdquo', 'middot', 'bull', 'times', 'deg'])

/**
 * Why Confluence would refuse a storage body (it must be well-formed XHTML: balanced tags, quoted
 * attributes, known entities, closed CDATA sections), or undefined when it is well formed.
 */
export function storageProblem (xhtml: string): string | undefined {
  const open: string[] = []
  let i = 0
  while (i < xhtml.length) {
    const lt = xhtml.indexOf('<', i)
    const text = xhtml.slice(i, lt === -1 ? xhtml.length : lt)
    const bad = badEntity(text)
    if (bad !== undefined) return bad
    if (lt === -1) break
    if (xhtml.startsWith('<![CDATA[', lt)) {
      const end = xhtml.indexOf(']]>', lt + 9)
      if (end === -1) return 'unterminated CDATA section'
      i = end + 3
      continue
    }
    if (xhtml.startsWith('<!--', lt)) {
      const end = xhtml.indexOf('-->', lt + 4)
      if (end === -1) return 'unterminated comment'
      i = end + 3
      continue
    }
    const gt = tagEnd(xhtml, lt)
    if (gt === -1) return `unterminated tag at ${lt}`
    const tag = xhtml.slice(lt + 1, gt)
    const m = /^(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)$/.exec(tag)
    if (!m) return `malformed tag <${tag.slice(0, 40)}>`
    const [, closing, name, attrs, selfClosing] = m
    const badAttr = badEntity(attrs)
    if (badAttr !== undefined) return badAttr
    if (closing !== '') {
      if (selfClosing !== '' || attrs !== '') return `malformed end tag </${name}>`
      const top = open.pop()
      if (top !== name) return `</${name}> closes <${top ?? 'nothing'}>`
    } else if (selfClosing === '') {
      open.push(name)
    }
    i = gt + 1
  }
  return open.length > 0 ? `<${open[open.length - 1]}> is not closed` : undefined
}

function tagEnd (s: string, from: number): number {
  let quote = ''
  for (let i = from + 1; i < s.length; i++) {
    const ch = s[i]
    if (quote !== '') { if (ch === quote) quote = ''; continue }
    if (ch === '"' || ch === "'") quote = ch
    else if (ch === '>') return i
    else if (ch === '<') return -1
  }
  return -1
}

function badEntity (text: string): string | undefined {
  for (let a = text.indexOf('&'); a !== -1; a = text.indexOf('&', a + 1)) {
    const m = /^&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,30});/.exec(text.slice(a, a + 40))
    if (!m) return 'a bare & (escape it as &amp;)'
    if (!m[1].startsWith('#') && !ENTITIES.has(m[1])) return `unknown entity &${m[1]};`
  }
  return undefined
}
