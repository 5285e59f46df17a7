// The managed-space rule of content writes: an alias writes pages, blog posts, comments, labels and files only
// into the spaces an admin picked for it (like its managed groups). One function, so every write handler
// (and the attachment handlers) checks it the same way, before any write reaches Confluence.
import { SpaceNotManagedError } from '../errors/errors'
import type { ManagedSpace } from '../connections/types'

/** Anything that carries an alias's managed spaces: the resolved connection, or the effective alias. */
export interface HasManagedSpaces {
  /** the alias the write runs as (resolved or effective id), for the message */
  resolved?: string
  id?: string
  managedSpaces?: ManagedSpace[]
}

/** Throws 403 SPACE_NOT_MANAGED unless `spaceId` is one of the alias's managed spaces; returns the managed entry. */
export function assertSpaceManaged (alias: HasManagedSpaces, spaceId: string | number | undefined): ManagedSpace {
  const id = spaceId === undefined ? '' : String(spaceId)
  const hit = (alias.managedSpaces ?? []).find(s => s.spaceId === id)
  if (hit === undefined) {
    const name = alias.resolved ?? alias.id ?? 'the connection'
    throw new SpaceNotManagedError(id === ''
      ? `Confluence did not say which space this content is in, so connection "${name}" may not write it`
      : `Space ${id} is not one of the managed spaces of connection "${name}"`)
  }
  return hit
}
