// The table-driven runner of the per-action cases (actions/<id>.cases.json): for each case, the real engine
// with the real catalogue against a canned upstream (no I/O): the input, exactly the upstream requests the
// case lists (method, path, query, body) answered with its canned responses, and the exact output or error.
// Every action must have cases. Engine mechanics shared by all actions (cursors, retries) are in actions-engine.test.ts.
import { createActionRegistry } from '../../src/actions/action-registry'
import { createActionEngine } from '../../src/actions/execute-action'
import { loadActions } from '../../src/actions/load-actions'
import type { ConnectionResolver } from '../../src/connections/types'
import { AppError } from '../../src/errors/app-error'
import { ACTIONS_DIR, cannedUpstream, comparable, loadCases, type ActionCase } from '../helpers/action-cases'

const registry = createActionRegistry(loadActions(ACTIONS_DIR))
const catalogue = loadCases()

it('every action has cases, and every cases file names an action', () => {
  expect(catalogue.map(([id]) => id)).toEqual(registry.list().map(a => a.id))
})

describe.each(catalogue)('%s', (actionId, cases) => {
  it.each(cases.map(c => [c.name, c] as const))('%s', async (_name, c: ActionCase) => {
    const exchanges = c.upstream ?? []
    const { client, calls } = cannedUpstream(exchanges)
    const connections: ConnectionResolver = {
      resolve: async (requested = 'confluence_cloud') => ({
        requested,
        resolved: requested,
        managedGroups: c.connection?.managedGroups ?? [{ groupId: 'g-managed', name: 'confluence-users' }],
        managedSpaces: c.connection?.managedSpaces ?? [],
        retryPolicy: { strategy: 'retry_after', maxAttempts: 3, maxElapsedSeconds: 60 },
        scopes: [],
        ...(c.connection?.grantedScopes !== undefined ? { grantedScopes: c.connection.grantedScopes } : {})
      })
    }
    const engine = createActionEngine({ registry, client, connections, config: { syncRetryAfterMaxSeconds: 5, validateOutput: true }, sleep: async () => {} })

    let output: unknown
    let error: unknown
    try {
      output = (await engine.execute({ actionId, input: c.input, requestId: 'case' })).output
    } catch (err) {
      error = err
    }
    expect(calls.map(comparable)).toEqual(exchanges.map(e => comparable(e.request)))
    if (c.error === undefined) {
      if (error !== undefined) throw error
      expect(output).toEqual(c.output)
      return
    }
    expect(error).toBeInstanceOf(AppError)
    expect(error).toMatchObject({ code: c.error.code })
    const paths = ((error as AppError).errors as Array<{ path: string }> | undefined ?? []).map(e => e.path)
    for (const p of c.error.paths ?? []) expect(paths).toContain(p)
  })
})
