// `content.permissions.changed` (docs/triggers.md): restriction edits and moves bump no version, so the site's
// polls cannot see them; the crawl can — each run compares every item's ACL with the one its scope stored, and
// hands the items whose ACL differs to this port (crawl/types.ts AclChangePort, wired in core.ts). Here they
// become events for every active trigger of the crawled site that asks for them, queued in the triggers'
// outboxes like the polls' events (same delivery, signing, acknowledgement, dead letters, filters).
//
// The site keeps, per item, the last change it queued (`triggers:acl:<cloudId>`: content id →
// `<n>|<before>|<after>`, digests of the ACL before and after). A change met again — a crawl job that resumed
// and repeated a listing page, a second run of the same scope, another alias crawling the same site — is the
// same pair and is dropped; a new one is number n + 1. The event id is `<content id>.acl<n>.<after>.<type>`:
// the same change always has the same id (two runs racing queue the same id, which the receiver drops), and a
// restriction added, lifted and added again is three events with three ids, not one id seen twice.
import type { AclChange } from '../crawl/types'
import type { TriggerStore } from './store'
import { wants } from './poll'
import type { ContentKind, Subscription, TriggerEvent } from './types'

export const PERMISSIONS_CHANGED = 'content.permissions.changed'

/** Queues the events of one batch of changes for these subscriptions, in one MULTI; returns each one's events. */
export async function queueAclChanges (store: TriggerStore, cloudId: string, subs: Subscription[], changes: AclChange[]): Promise<Map<string, TriggerEvent[]>> {
  const perSub = new Map<string, TriggerEvent[]>(subs.map((s) => [s.id, []]))
  // one change per item (the last one said), in the order found
  const byId = new Map<string, AclChange>()
  for (const c of changes) byId.set(contentId(c), c)
  if (byId.size === 0 || subs.length === 0) return perSub
  const ids = [...byId.keys()]
  const key = store.aclKey(cloudId)
  const last = await store.redis.hmget(key, ...ids)
  const detectedAt = new Date().toISOString()
  const m = store.redis.multi()
  ids.forEach((id, i) => {
    const change = byId.get(id) as AclChange
    const [n, before, after] = (last[i] ?? '0||').split('|')
    if (before === change.digests.before && after === change.digests.after) return // queued already
    const next = (Number(n) || 0) + 1
    m.hset(key, id, `${next}|${change.digests.before}|${change.digests.after}`)
    for (const sub of subs) {
      const event = toEvent(id, change, next, detectedAt, sub.id)
      if (wants(sub, event)) perSub.get(sub.id)?.push(event)
    }
  })
  for (const [id, events] of perSub) {
    if (events.length === 0) continue
    m.rpush(store.outKey(id), ...events.map((e) => JSON.stringify(e)))
    m.hincrby(store.statsKey(id), 'detected', events.length)
  }
  await m.exec()
  return perSub
}

/** As the polls' events name it: an attachment without its `att` prefix. */
const contentId = (c: AclChange): string => c.kind === 'attachment' ? c.id.replace(/^att/, '') : c.id

function toEvent (id: string, c: AclChange, n: number, detectedAt: string, subscription: string): TriggerEvent {
  return {
    id: `${id}.acl${n}.${c.digests.after}.${PERMISSIONS_CHANGED}`,
    type: PERMISSIONS_CHANGED,
    // a restriction edit has no time of its own in Confluence: the detection's
    occurredAt: detectedAt,
    detectedAt,
    subscription,
    content: { kind: c.kind as ContentKind, id, spaceId: c.spaceId, spaceKey: c.spaceKey, title: c.title, url: c.url, version: c.version, authorId: c.authorId },
    acl: c.acl
  }
}
