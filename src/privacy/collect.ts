// Finds the accountIds in a value the spoke is about to store (job input or result, an idempotency replay,
// a crawl checkpoint), by field name: the outputs and inputs of every action name accounts this way.
// Iterative and allocation-light: it runs on each stored response.

/** Fields whose string value is an accountId. */
const ID_FIELDS = new Set(['accountId', 'account_id'])
/** Fields whose string array holds accountIds (bulk add/remove, licence exclude, group members, lists). */
const ID_LIST_FIELDS = new Set(['accountIds', 'add', 'remove', 'exclude', 'members'])
const MAX_NODES = 2_000_000

export function collectAccountIds (value: unknown, into: Set<string> = new Set()): Set<string> {
  const stack: unknown[] = [value]
  let nodes = 0
  while (stack.length > 0 && nodes++ < MAX_NODES) {
    const v = stack.pop()
    if (v === null || typeof v !== 'object') continue
    if (Array.isArray(v)) { for (let i = 0; i < v.length; i++) if (typeof v[i] === 'object') stack.push(v[i]); continue }
    for (const key in v as Record<string, unknown>) {
      const x = (v as Record<string, unknown>)[key]
      if (typeof x === 'string') { if (x !== '' && ID_FIELDS.has(key)) into.add(x); continue }
      if (x === null || typeof x !== 'object') continue
      if (Array.isArray(x) && ID_LIST_FIELDS.has(key)) {
        for (const item of x) if (typeof item === 'string' && item !== '') into.add(item)
      }
      stack.push(x)
    }
  }
  return into
}
