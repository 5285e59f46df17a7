// The loaded actions by id. `get` throws ACTION_NOT_FOUND so callers never handle a missing action twice.
import { ActionNotFoundError } from '../errors/errors'
import type { ActionSummary, CompiledAction } from './load-actions'

export interface ActionRegistry {
  get: (id: string) => CompiledAction
  has: (id: string) => boolean
  list: () => ActionSummary[]
  size: number
}

export function createActionRegistry (actions: CompiledAction[]): ActionRegistry {
  const byId = new Map<string, CompiledAction>()
  for (const a of actions) {
    if (byId.has(a.id)) throw new Error(`Two action files declare "${a.id}": ${byId.get(a.id)!.file} and ${a.file}`)
    byId.set(a.id, a)
  }
  const summaries = [...byId.values()].map(a => a.summary)
  return {
    get: (id) => {
      const action = byId.get(id)
      if (action === undefined) throw new ActionNotFoundError(`No action "${id}"`)
      return action
    },
    has: (id) => byId.has(id),
    list: () => summaries,
    size: byId.size
  }
}
