// The Redis keys of the personal-data index (docs/privacy.md). Everything lives under `{prefix}:pd:`.
// The index holds accountIds and times only, never a name or an email: the data stays where it was written.

export interface PrivacyKeys {
  /** Set of aliases that have an index (for metrics and the default report schedule). */
  aliases: string
  /** Sorted set accountId → when the spoke last stored something of it (ms). */
  index: (alias: string) => string
  /** Set of references ("where" the account's data lives): `job:<id>`, `idem:<redis key>`, `crawl:<runId>`. */
  where: (alias: string, accountId: string) => string
  /** Hash: lastSuccessAt, cyclePeriodSeconds, last run's figures (counts only). */
  meta: (alias: string) => string
  /** A report run's stable copy of the index (deleted when the run ends). */
  snapshot: (alias: string, runId: string) => string
}

// The alias is a hash tag: one alias's keys share a Redis Cluster slot, so one script call can write them
// (unless the prefix has a tag of its own, which then puts every key of the spoke in one slot).
export function privacyKeys (keyPrefix: string): PrivacyKeys {
  const base = `${keyPrefix}:pd`
  return {
    aliases: `${base}:aliases`,
    index: (alias) => `${base}:{${alias}}:idx`,
    where: (alias, accountId) => `${base}:{${alias}}:at:${accountId}`,
    meta: (alias) => `${base}:{${alias}}:meta`,
    snapshot: (alias, runId) => `${base}:{${alias}}:snap:${runId}`
  }
}

/** References kept for an account outlive the longest-lived data they point to (a failed job: 8 days). */
export const WHERE_TTL_SECONDS = 9 * 86400
