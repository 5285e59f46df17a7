// Folders: containers in a space's page tree (Confluence Cloud, v2 `/folders`). A folder sits at the space's
// root, under a page or under another folder; a page may sit in a folder. A folder has no body, no
// attachments and no comments, but it can carry read restrictions, and those apply to everything below it.
// The `nested` profile seeds them; the default data set has none.
//
// The tree above a page mixes pages and folders, so positions in it are "refs": a page (or blog post) is
// its content index (>= 0), a folder f is -2 - f, and -1 is "nothing above".
import { ADJECTIVES } from './words'
import { hash32 } from './random'
import { STATUSES, type ContentStatus, type Restriction } from './seed'

export interface Folder {
  index: number
  id: string
  space: number
  /** parent page (content index) or -1 */
  parentPage: number
  /** parent folder or -1 (at most one of parentPage and parentFolder is set; neither: the space's root) */
  parentFolder: number
  created: number
  version: number
  status: number
  author: number
  restriction?: Restriction
}

/** Folder ids start this far above the site's first content id (content and comments stay far below it). */
const ID_OFFSET = 9_000_000
const FOLDER_NOUNS = ['Archive', 'Drafts', 'Projects', 'Team notes', 'Handbook', 'Meetings', 'Reports', 'Designs', 'Runbooks', 'Planning']

export const folderRef = (f: number): number => -2 - f
export const isFolderRef = (ref: number): boolean => ref <= -2
export const folderOfRef = (ref: number): number => -2 - ref

export class Folders {
  readonly list: Folder[] = []
  readonly idBase: number
  /** per page: the folder it sits in (its parent), or -1 */
  readonly pageFolder: Int32Array

  constructor (readonly siteSeed: number, contentIdBase: number, pageCount: number) {
    this.idBase = contentIdBase + ID_OFFSET
    this.pageFolder = new Int32Array(pageCount).fill(-1)
  }

  get count (): number { return this.list.length }

  add (space: number, parent: { page?: number, folder?: number }, created: number, author: number): Folder {
    const index = this.list.length
    const folder: Folder = { index, id: String(this.idBase + index), space, parentPage: parent.page ?? -1, parentFolder: parent.folder ?? -1, created, version: 1, status: 0, author }
    this.list.push(folder)
    return folder
  }

  /** Folder index of an id, or -1. */
  index (id: string | number): number {
    const f = Number(id) - this.idBase
    return Number.isInteger(f) && f >= 0 && f < this.list.length ? f : -1
  }

  /** Where folder f sits: a ref (page, folder, or -1 for the space's root). */
  parentRef (f: number): number {
    const folder = this.list[f]
    return folder.parentFolder !== -1 ? folderRef(folder.parentFolder) : folder.parentPage
  }

  statusOf (f: number): ContentStatus { return STATUSES[this.list[f].status] }

  title (f: number): string {
    const h = hash32(this.siteSeed, f, 0xf01d)
    return `${FOLDER_NOUNS[h % FOLDER_NOUNS.length]} (${ADJECTIVES[(h >>> 8) % ADJECTIVES.length].toLowerCase()}) ${f + 1}`
  }

  /** Folders directly in page c (refs), in creation order. */
  inPage (c: number): number[] { return this.list.filter((x) => x.parentPage === c).map((x) => folderRef(x.index)) }

  /** Folders and pages directly in folder f (refs), folders first. */
  children (f: number): number[] {
    const out = this.list.filter((x) => x.parentFolder === f).map((x) => folderRef(x.index))
    for (let c = 0; c < this.pageFolder.length; c++) if (this.pageFolder[c] === f) out.push(c)
    return out
  }
}
