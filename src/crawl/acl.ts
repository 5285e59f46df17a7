// Effective read permission of one item, in conjunctive form, exactly as Confluence decides it: the space's
// read grant AND the item's own read restriction AND the read restriction of every ancestor. Each clause is
// satisfied by any one of its principals (accountIds, groupIds, access classes — never emails or group names,
// which change). Pure: the crawl fetches the layers, this module composes and evaluates them.
import { createHash } from 'node:crypto'

export type Principal =
  | { type: 'user', accountId: string }
  | { type: 'group', groupId: string }
  | { type: 'class', id: string }

export interface AclClause { source: 'space' | 'restriction', sourceId: string, anyOf: Principal[] }
export interface Acl { allOf: AclClause[] }

/** A content item's read restriction as Confluence lists it; both lists empty = no restriction (inherits). */
export interface ReadRestriction { users: string[], groups: string[] }

/**
 * One layer of the chain as fetched: its restriction; `gone` (an ancestor proven trashed, purged or a draft
 * by a read of the ancestor itself: Confluence no longer applies its restriction, skipped); `missing` (a 404
 * nothing explained: fails closed like an error); or an error (403, 5xx after retries, an answer that is not
 * complete and exact: the item gets no readers — never the space's readers). docs/crawl.md "Fail closed".
 */
export type Layer =
  | { id: string, state: 'ok', read: ReadRestriction }
  | { id: string, state: 'gone' }
  | { id: string, state: 'missing' }
  | { id: string, state: 'error', code: string }

/** The space clause: users, groups and access classes that hold read on the space. */
export function spaceClause (spaceId: string, users: Iterable<string>, groups: Iterable<string>, classes: Iterable<string>): AclClause {
  const anyOf: Principal[] = [
    ...[...new Set(users)].sort().map((accountId): Principal => ({ type: 'user', accountId })),
    ...[...new Set(groups)].sort().map((groupId): Principal => ({ type: 'group', groupId })),
    ...[...new Set(classes)].sort().map((id): Principal => ({ type: 'class', id }))
  ]
  return { source: 'space', sourceId: spaceId, anyOf }
}

export interface ComposedAcl {
  acl: Acl
  /** the first layer that could not be read (the ACL then admits nobody) */
  error?: { layerId: string, code: string }
}

/**
 * space ∧ own ∧ every ancestor (own first, then closest ancestor to root). An unrestricted layer adds no
 * clause; a proven-gone ancestor is skipped; an unreadable or unexplained-missing one collapses the ACL to a
 * clause nobody satisfies.
 */
export function composeAcl (space: AclClause, layers: Layer[]): ComposedAcl {
  const allOf: AclClause[] = [space]
  for (const layer of layers) {
    if (layer.state === 'gone') continue
    if (layer.state === 'error' || layer.state === 'missing') {
      const code = layer.state === 'error' ? layer.code : 'UPSTREAM_NOT_FOUND'
      return { acl: nobody(space, layer.id), error: { layerId: layer.id, code } }
    }
    if (layer.read.users.length === 0 && layer.read.groups.length === 0) continue
    allOf.push(restrictionClause(layer.id, layer.read))
  }
  return { acl: { allOf } }
}

/** An ACL nobody satisfies: the space clause AND a clause with no principal, named after what failed. */
export function nobody (space: AclClause, sourceId: string): Acl {
  return { allOf: [space, { source: 'restriction', sourceId, anyOf: [] }] }
}

export function restrictionClause (contentId: string, read: ReadRestriction): AclClause {
  return {
    source: 'restriction',
    sourceId: contentId,
    anyOf: [
      ...[...new Set(read.users)].sort().map((accountId): Principal => ({ type: 'user', accountId })),
      ...[...new Set(read.groups)].sort().map((groupId): Principal => ({ type: 'group', groupId }))
    ]
  }
}

/** Who is asking, for evaluating an exported ACL: the account, its groups, and whether it holds a licence. */
export interface Subject { accountId: string, groupIds: ReadonlySet<string>, accountType?: string }

/** Access classes as Confluence defines them; an unknown class admits nobody (fail closed). */
export function inAccessClass (subject: Subject | undefined, id: string): boolean {
  if (id === 'anonymous-users') return true
  if (subject === undefined) return false
  if (id === 'all-licensed-users' || id === 'authenticated-users') return subject.accountType === undefined || subject.accountType === 'atlassian'
  return false
}

export function satisfies (subject: Subject | undefined, p: Principal): boolean {
  if (p.type === 'class') return inAccessClass(subject, p.id)
  if (subject === undefined) return false
  return p.type === 'user' ? p.accountId === subject.accountId : subject.groupIds.has(p.groupId)
}

/** Every clause, any principal. `undefined` subject = anonymous. */
export function canRead (acl: Acl, subject: Subject | undefined): boolean {
  return acl.allOf.every((clause) => clause.anyOf.some((p) => satisfies(subject, p)))
}

/** A short stable digest of an ACL (principal order is already canonical), to notice a change between runs. */
export function aclHash (acl: Acl): string {
  return createHash('sha1').update(JSON.stringify(acl)).digest('base64url').slice(0, 16)
}

/** Account ids an ACL names (so principal export can include users not in any group). */
export function namedAccounts (acl: Acl): string[] {
  const out: string[] = []
  for (const c of acl.allOf) for (const p of c.anyOf) if (p.type === 'user') out.push(p.accountId)
  return out
}
