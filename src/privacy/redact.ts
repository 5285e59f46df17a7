// Redaction of a closed account's data inside a stored value: the value stays (a job keeps its shape and
// counts), the personal fields go. Two passes: `personalTerms` collects the names and emails stored next to
// the accountIds, `redact` replaces every occurrence of an id or a term with ERASED.

export const ERASED = '[erased]'

/** Fields of a user object that identify a person. */
const PERSONAL_FIELDS = new Set(['displayName', 'publicName', 'email', 'fullName', 'username', 'name', 'profilePicture', 'timeZone'])
const ID_FIELDS = ['accountId', 'account_id']

export interface Terms {
  ids: ReadonlySet<string>
  /** Names and emails seen next to the ids (whole-string matches only: a short name must not eat other text). */
  names: Set<string>
}

function isClosedUser (o: Record<string, unknown>, ids: ReadonlySet<string>): boolean {
  for (const f of ID_FIELDS) { const v = o[f]; if (typeof v === 'string' && ids.has(v)) return true }
  return false
}

/** Adds to `terms.names` the personal strings stored next to a closed accountId in `value`. */
export function personalTerms (value: unknown, terms: Terms): void {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null || typeof v !== 'object') continue
    if (Array.isArray(v)) { for (const x of v) if (typeof x === 'object') stack.push(x); continue }
    const o = v as Record<string, unknown>
    const closed = isClosedUser(o, terms.ids)
    for (const k in o) {
      const x = o[k]
      if (closed && PERSONAL_FIELDS.has(k) && typeof x === 'string' && x !== '') terms.names.add(x)
      else if (typeof x === 'object') stack.push(x)
    }
  }
}

/** Whether the text mentions a closed account at all (the fast path: most stored values do not). */
export function mentions (text: string, terms: Terms): boolean {
  for (const id of terms.ids) if (text.includes(id)) return true
  for (const n of terms.names) if (text.includes(n)) return true
  return false
}

function redactString (s: string, terms: Terms): string {
  if (terms.ids.has(s) || terms.names.has(s)) return ERASED
  let out = s
  // Ids and emails are distinctive enough to replace inside longer text (a message, a record id `user:<id>`).
  for (const id of terms.ids) if (out.includes(id)) out = out.split(id).join(ERASED)
  for (const n of terms.names) if (n.includes('@') && out.includes(n)) out = out.split(n).join(ERASED)
  return out
}

/** A copy of `value` without the closed accounts' ids, names and emails. */
export function redact (value: unknown, terms: Terms): unknown {
  if (typeof value === 'string') return redactString(value, terms)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((x) => redact(x, terms))
  const o = value as Record<string, unknown>
  const closed = isClosedUser(o, terms.ids)
  const out: Record<string, unknown> = {}
  let n = 0
  for (const k in o) {
    const key = terms.ids.has(k) || mentions(k, terms) ? `${ERASED}${++n}` : k
    out[key] = closed && PERSONAL_FIELDS.has(k) && o[k] !== null ? ERASED : redact(o[k], terms)
  }
  return out
}

/** Redacts stored text: JSON is redacted as a value, anything else as a string. */
export function redactText (text: string, terms: Terms): string {
  if (!mentions(text, terms)) return text
  try { return JSON.stringify(redact(JSON.parse(text), terms)) } catch { return redactString(text, terms) }
}
