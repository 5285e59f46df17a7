// Triggers (docs/triggers.md): what a subscription asks for, and the events the spoke sends it.

export const TRIGGER_EVENTS = [
  'page.created', 'page.updated', 'page.trashed', 'page.restored',
  'blogpost.created', 'blogpost.updated',
  'comment.created',
  'attachment.created', 'attachment.updated',
  'content.permissions.changed'
] as const
export type TriggerEventType = typeof TRIGGER_EVENTS[number]

/** What a content item is, as events name it. */
export type ContentKind = 'page' | 'blogpost' | 'attachment' | 'comment'
export const CONTENT_KINDS: readonly ContentKind[] = ['page', 'blogpost', 'attachment', 'comment']

/** Shortest poll interval, in seconds (the site's budget is shared with interactive calls). */
export const MIN_EVERY_SECONDS = 30

export interface TriggerBody {
  connection: string
  events: TriggerEventType[]
  filter?: { spaces?: string[], types?: ContentKind[] }
  delivery: { url: string, batch?: number }
  /** Seconds between polls of the subscription's site. */
  every: number
  /** `now` (the default) or an ISO time to backfill from. */
  start?: string
}

export interface Subscription extends Omit<TriggerBody, 'start'> {
  id: string
  state: 'active' | 'paused'
  /** Events that occurred before this instant are not sent (`start`, resolved at creation). */
  startAt: string
  createdAt: string
  updatedAt: string
}

export interface TriggerEvent {
  /** Stable: `<content id>.<version>.<type>`, so a receiver drops repeats. */
  id: string
  type: TriggerEventType
  occurredAt: string
  detectedAt: string
  subscription: string
  content: {
    kind: ContentKind
    id: string
    spaceId?: string
    spaceKey?: string
    title?: string
    url?: string
    version?: number
    authorId?: string
  }
  acl?: unknown
}

/** One delivery attempt, as `GET /v1/triggers/{id}` lists the last ones. */
export interface DeliveryRecord {
  at: string
  ok: boolean
  events: number
  firstEventId?: string
  status?: number
  error?: string
  test?: boolean
}

export interface DeadLetter {
  events: TriggerEvent[]
  deadAt: string
  reason: string
  attempts: number
}

/** The event id: content id, version and type. */
export function eventId (contentId: string, version: number, type: TriggerEventType): string {
  return `${contentId}.${version}.${type}`
}
