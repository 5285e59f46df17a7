// Footer and inline comments of pages and blog posts, and footer comments of attachments (the file preview's
// comments), seeded on demand (the `nested` profile, or `size.comments` / `size.inlineComments` /
// `size.attachmentComments`) with random streams of their own so the rest of the data set does not move.
// Comments live beside the content arrays (ids continue after the last content id: footer comments, inline
// ones, then attachment ones) and take their container's read permission: Confluence has no restriction on
// a comment; who may read the page or blog post (for an attachment: the attachment's page or blog post) may
// read its comments. Inline comments carry a resolution
// status and a highlighted selection, and some are replies to a root inline comment of the same container.
import { hash32, Rng } from './random'
import { STATUSES, type ContentStatus, type SiteData } from './seed'

const TRASHED = STATUSES.indexOf('trashed')
export const RESOLUTIONS = ['open', 'reopened', 'resolved', 'dangling'] as const
/** How deep the seeded threads go (1: replies to roots only). Neither spec bounds it; a parent may be any comment. */
export const MAX_REPLY_DEPTH = 4

export interface CommentOptions {
  /** inline comments (replies, resolution status) rather than footer comments */
  inline?: boolean
  /** first id (default: right after the site's content) */
  idBase?: number
  /** footer comments on attachments: containers are attachment content indices, not pages and blog posts */
  onAttachments?: boolean
}

export class Comments {
  readonly count: number
  /** first comment id (comments never share an id with content) */
  readonly idBase: number
  readonly container: Int32Array
  readonly created: Uint32Array
  readonly modified: Uint32Array
  readonly version: Uint32Array
  readonly status: Uint8Array
  readonly author: Uint32Array
  readonly inline: boolean
  /** the comment a reply answers (a root or another reply), or -1 (a root) */
  readonly parentComment: Int32Array
  /** 0 for a root, 1 for a reply to a root, and so on */
  readonly depth: Uint8Array
  /** inline: index into RESOLUTIONS */
  readonly resolution: Uint8Array
  /** whether containers are attachments */
  readonly onAttachments: boolean
  /** comments of container c (a content index): list[start[c] .. start[c + 1]) in creation order */
  readonly start: Int32Array
  readonly list: Int32Array

  constructor (site: SiteData, count: number, options: CommentOptions = {}) {
    this.onAttachments = options.onAttachments ?? false
    // containers are content indices [first, first + containers)
    const first = this.onAttachments ? site.pageCount + site.blogCount : 0
    const containers = this.onAttachments ? site.total - first : site.pageCount + site.blogCount
    const n = this.count = containers === 0 ? 0 : Math.max(0, count)
    this.inline = options.inline ?? false
    this.idBase = options.idBase ?? site.idBase + site.total
    this.parentComment = new Int32Array(n).fill(-1)
    this.depth = new Uint8Array(n)
    this.resolution = new Uint8Array(n)
    this.container = new Int32Array(n)
    this.created = new Uint32Array(n)
    this.modified = new Uint32Array(n)
    this.version = new Uint32Array(n)
    this.status = new Uint8Array(n)
    this.author = new Uint32Array(n)
    const rng = new Rng(hash32(site.seed, this.inline ? 0x1c0e : this.onAttachments ? 0xa7c0 : 0xc033))
    const replies = new Rng(hash32(site.seed, this.onAttachments ? 0xa7c1 : 0xc034))
    for (let k = 0; k < n; k++) {
      // a third of the containers collect most comments (discussions cluster)
      const c = first + (rng.chance(0.7) ? rng.int(Math.max(1, Math.ceil(containers / 3))) : rng.int(containers))
      this.container[k] = c
      this.created[k] = site.created[c] + rng.int(90 * 86400)
      this.modified[k] = rng.chance(0.8) ? this.created[k] : this.created[k] + rng.int(30 * 86400)
      this.version[k] = this.modified[k] === this.created[k] ? 1 : 2
      this.status[k] = rng.chance(0.03) ? TRASHED : 0
      this.author[k] = rng.chance(0.2) ? 0 : 2 + rng.int(Math.max(1, site.users.length - 2))
      if (!this.inline) {
        // footer replies draw from a stream of their own, so the footer comments seeded before threads existed do not move
        const parent = replies.chance(0.25) && k > 0 ? replies.int(k) : -1
        if (parent !== -1) this.answer(k, parent)
        continue
      }
      this.resolution[k] = rng.chance(0.6) ? 0 : rng.chance(0.7) ? 2 : rng.chance(0.5) ? 1 : 3
      // a quarter answer an earlier current comment (replies to trashed comments are not listed anywhere)
      const parent = k > 0 && rng.chance(0.25) ? rng.int(k) : -1
      if (parent !== -1 && this.answer(k, parent)) this.resolution[k] = this.resolution[parent]
    }
    const end = first + containers
    this.start = new Int32Array(end + 1)
    for (let k = 0; k < n; k++) this.start[this.container[k] + 1]++
    for (let c = 0; c < end; c++) this.start[c + 1] += this.start[c]
    const fill = this.start.slice(0, end)
    this.list = new Int32Array(n)
    for (let k = 0; k < n; k++) this.list[fill[this.container[k]]++] = k
  }

  /** Makes k a reply to parent when parent is current and not too deep (same container, current, created after it). */
  private answer (k: number, parent: number): boolean {
    if (this.status[parent] !== 0 || this.depth[parent] >= MAX_REPLY_DEPTH) return false
    this.container[k] = this.container[parent]
    this.parentComment[k] = parent
    this.depth[k] = this.depth[parent] + 1
    this.status[k] = 0
    if (this.created[k] < this.created[parent]) this.created[k] = this.modified[k] = this.created[parent]
    this.version[k] = this.modified[k] === this.created[k] ? 1 : 2
    return true
  }

  id (k: number): string { return String(this.idBase + k) }

  /** Comment index of an id, or -1. */
  index (id: string | number): number {
    const k = Number(id) - this.idBase
    return Number.isInteger(k) && k >= 0 && k < this.count ? k : -1
  }

  of (c: number): Int32Array { return c + 1 < this.start.length ? this.list.subarray(this.start[c], this.start[c + 1]) : new Int32Array(0) }

  statusOf (k: number): ContentStatus { return STATUSES[this.status[k]] }

  /** Direct replies to comment k, in creation order. */
  replies (k: number): number[] { return [...this.of(this.container[k])].filter((j) => this.parentComment[j] === k) }

  /** Sets comment k and every reply below it (iteratively, any depth) to status (trashed or deleted). */
  remove (k: number, status: number): void {
    const work = [k]
    for (let i = 0; i < work.length; i++) { this.status[work[i]] = status; work.push(...this.replies(work[i])) }
  }

  /** The words an inline comment highlights on its container. */
  selection (site: SiteData, k: number): string {
    const words = site.bodyWords(this.container[k])
    const at = hash32(site.seed, k, 0x5e1) % 20
    return words.slice(at, at + 3).join(' ')
  }

  body (site: SiteData, k: number): string {
    const words: string[] = []
    for (let i = 0; i < 12; i++) words.push(site.bodyWords(this.container[k])[hash32(site.seed, k, 0xc0 + i) % 24])
    return `<p>${words.join(' ')}.</p>`
  }
}
