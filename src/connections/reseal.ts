// Master-key rotation, finished automatically: while SPOKE_MASTER_KEY_PREVIOUS is set, each start moves every
// alias secret and token set still sealed under a previous key to the current one. Each value is swapped
// only if it is unchanged since it was read, so a concurrent refresh or edit (already sealed under the
// current key) always wins; every process may run it at once. Once the report shows nothing left under an
// old key, SPOKE_MASTER_KEY_PREVIOUS can be dropped.
import type { AliasStore, ResealOutcome } from './alias-store'
import type { TokenStore } from './token-store'

export interface ResealReport {
  aliases: number
  /** values moved to the current key by this run */
  resealed: number
  /** values a concurrent write replaced first (sealed under the current key by that writer) */
  changed: number
  /** aliases with a value no configured key opens: they need their secrets or consent again */
  unreadable: string[]
}

export async function resealAll (aliases: AliasStore, tokens: TokenStore): Promise<ResealReport> {
  const ids = await aliases.listIds()
  const report: ResealReport = { aliases: ids.length, resealed: 0, changed: 0, unreadable: [] }
  for (const id of ids) {
    const outcomes: ResealOutcome[] = [await aliases.resealRecord(id), await tokens.resealTokens(id)]
    report.resealed += outcomes.filter(o => o === 'resealed').length
    report.changed += outcomes.filter(o => o === 'changed').length
    if (outcomes.includes('unreadable')) report.unreadable.push(id)
  }
  return report
}
