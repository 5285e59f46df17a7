// The docs that list actions are generated from actions/*.json (scripts/action-docs.ts), and adding an action is
// what docs/actions.md says: `npm run new-action -- <id>` writes the action and its cases, regenerates the
// docs, and the result passes the catalogue's checks with no other file touched. Proved here on a copy of
// the checkout's actions/ and docs/ in a temp dir.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REGENERATE, readCatalogue, renderCatalogueBlock, withFreshCatalogue } from '../../scripts/action-docs'
import { readActions, withFreshBlock } from '../../scripts/scope-tables'
import { scaffoldAction } from '../../scripts/new-action'
import { createActionRegistry } from '../../src/actions/action-registry'
import { createActionEngine } from '../../src/actions/execute-action'
import { isActionFile, loadActions } from '../../src/actions/load-actions'
import type { ConnectionResolver } from '../../src/connections/types'
import { AppError } from '../../src/errors/app-error'
import { cannedUpstream, comparable, loadCases } from '../helpers/action-cases'

const root = join(__dirname, '..', '..')

it(`docs/api.md holds the catalogue the action files produce (stale? run \`${REGENERATE}\`)`, () => {
  const doc = readFileSync(join(root, 'docs', 'api.md'), 'utf8')
  if (withFreshCatalogue(doc, readCatalogue(join(root, 'actions'))) !== doc) throw new Error(`docs/api.md: the catalogue table is stale; run \`${REGENERATE}\``)
  expect(doc).toContain(renderCatalogueBlock(readCatalogue(join(root, 'actions'))))
  expect(readCatalogue(join(root, 'actions')).map(e => e.id)).toEqual(readdirSync(join(root, 'actions')).filter(isActionFile).map(f => f.replace(/\.json$/, '')).sort())
})

describe('npm run new-action -- <id>, in a copy of the checkout', () => {
  let dir: string
  const id = 'confluence.scaffold.proof'
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'new-action-'))
    cpSync(join(root, 'actions'), join(dir, 'actions'), { recursive: true })
    cpSync(join(root, 'docs'), join(dir, 'docs'), { recursive: true })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes the action and its cases, and regenerates both generated docs to include it', () => {
    const { files, regenerated } = scaffoldAction(id, dir)
    expect(files).toEqual([`actions/${id}.json`, `actions/${id}.cases.json`])
    expect(regenerated.sort()).toEqual(['docs/api.md', 'docs/going-live.md'])
    const api = readFileSync(join(dir, 'docs', 'api.md'), 'utf8')
    expect(withFreshCatalogue(api, readCatalogue(join(dir, 'actions')))).toBe(api)
    expect(api).toContain(`| \`${id}\` | sync |`)
    const live = readFileSync(join(dir, 'docs', 'going-live.md'), 'utf8')
    expect(withFreshBlock(live, readActions(join(dir, 'actions')))).toBe(live)
    expect(live).toContain(`| \`${id}\``)
    expect(() => scaffoldAction(id, dir)).toThrow(/exists already/)
    expect(() => scaffoldAction('Not An Id', dir)).toThrow(/not an action id/)
  })

  it('the new action loads, and every case of its cases file passes against the real engine', async () => {
    const registry = createActionRegistry(loadActions(join(dir, 'actions')))
    expect(registry.list().map(a => a.id)).toContain(id)
    const catalogue = loadCases(join(dir, 'actions'))
    expect(catalogue.map(([a]) => a)).toEqual(registry.list().map(a => a.id))
    const cases = catalogue.find(([a]) => a === id)?.[1] ?? []
    expect(cases.length).toBeGreaterThanOrEqual(3)
    expect(cases.some(c => c.simulator !== undefined)).toBe(true)
    for (const c of cases) {
      const { client, calls } = cannedUpstream(c.upstream ?? [])
      const connections: ConnectionResolver = {
        resolve: async (requested = 'confluence_cloud') => ({ requested, resolved: requested, managedGroups: [], retryPolicy: { strategy: 'retry_after', maxAttempts: 1, maxElapsedSeconds: 60 }, scopes: [] })
      }
      const engine = createActionEngine({ registry, client, connections, config: { syncRetryAfterMaxSeconds: 5, validateOutput: true }, sleep: async () => {} })
      const outcome = await engine.execute({ actionId: id, input: c.input, requestId: 'case' }).then(r => ({ output: r.output }), (err: unknown) => ({ error: err }))
      expect([c.name, calls.map(comparable)]).toEqual([c.name, (c.upstream ?? []).map(e => e.request)])
      if (c.error !== undefined) {
        expect([c.name, outcome]).toEqual([c.name, { error: expect.any(AppError) }])
        expect((outcome as { error: AppError }).error.code).toBe(c.error.code)
      } else {
        expect([c.name, outcome]).toEqual([c.name, { output: c.output }])
      }
    }
  })
})
