import { readFileSync } from 'node:fs'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ActionCompiler, ActionLoadError, loadActions } from '../../src/actions/load-actions'
import { loadSharedDefinitions } from '../../src/actions/definitions-file'

const valid = () => JSON.parse(readFileSync('actions/confluence.page.get.json', 'utf8')) as Record<string, any>
const FILE = '/defs/confluence.page.get.json'
const DEFS = loadSharedDefinitions('actions')

function reason (mutate: (d: Record<string, any>) => void, file = FILE): string {
  const def = valid()
  mutate(def)
  try { new ActionCompiler(DEFS).compile(def, file) } catch (err) {
    expect(err).toBeInstanceOf(ActionLoadError)
    expect((err as Error).message).toContain(file)
    return (err as Error).message
  }
  throw new Error('expected the definition to be refused')
}

describe('action loader', () => {
  it('loads the catalogue', () => {
    expect(loadActions('actions').length).toBeGreaterThanOrEqual(12)
  })

  it('names the directory when it cannot be read', () => {
    expect(() => loadActions('/nonexistent/actions')).toThrow(/Invalid action file \/nonexistent\/actions: cannot read/)
  })

  it.each([
    ['id differs from the file name', (d: any) => { d.id = 'confluence.page.other' }, /must equal the file name/],
    ['a missing field', (d: any) => { delete d.annotations }, /annotations/],
    ['a bad version', (d: any) => { d.version = '1.0' }, /\/version/],
    ['no documentation link', (d: any) => { d.description = 'reads a page' }, /\/description/],
    ['both request and handler', (d: any) => { d.handler = { name: 'group-membership', params: { op: 'add' } } }, /oneOf/],
    ['an unknown handler', (d: any) => { delete d.request; delete d.mapping; d.handler = { name: 'eval' } }, /unknown handler "eval"/],
    ['bad handler params', (d: any) => { delete d.request; delete d.mapping; d.handler = { name: 'group-membership', params: { op: 'upsert' } } }, /handler.params/],
    ['an invalid input schema (strict)', (d: any) => { d.input.properties.pageId.typo = 1 }, /input schema: strict mode: unknown keyword: "typo"/],
    ['an input that is not an object schema', (d: any) => { d.input = { type: 'string' } }, /\/input\/type/],
    ['a template error', (d: any) => { d.mapping.value.title = '{{response.body.title | shout}}' }, /mapping.value.title: unknown filter "shout"/],
    ['a request reading the response', (d: any) => { d.request.query.x = '{{response.body}}' }, /request.query.x/],
    ['pagination of a single value', (d: any) => { d.pagination = { style: 'cursor', limitParam: 'limit', defaultLimit: 25, maxLimit: 250 } }, /paginated action maps a list/],
    ['a $ref to anything but the shared definitions', (d: any) => { d.input.properties.pageId = { $ref: '#/$defs/pageId' } }, /input.properties.pageId.\$ref: only "_definitions.json#\/\$defs\/<name>"/],
    ['a $ref to an unknown definition', (d: any) => { d.output = { $ref: '_definitions.json#/$defs/nothing' } }, /output: no definition "nothing"/],
    ['a constraint beside a $ref', (d: any) => { d.output = { $ref: '_definitions.json#/$defs/user', required: [] } }, /"required" beside a \$ref/],
    ['a list output for a single value', (d: any) => { d.output = { results: { items: { type: 'object' } } } }, /output \{ "results": \.\.\. \} is for list mappings/]
  ])('refuses %s, naming the file', (_name, mutate, message) => {
    expect(reason(mutate)).toMatch(message)
  })

  it('refuses a paginated action that sets the page size itself', () => {
    const def = JSON.parse(readFileSync('actions/confluence.space.list.json', 'utf8'))
    def.request.query.limit = '{{input.limit}}'
    expect(() => new ActionCompiler(DEFS).compile(def, '/x/confluence.space.list.json')).toThrow(/leave them out of request.query/)
  })

  it('declares the paging inputs and the list wrapper itself, and refuses files that write them', () => {
    const compiler = new ActionCompiler(DEFS)
    const def = JSON.parse(readFileSync('actions/confluence.space.list.json', 'utf8'))
    const action = compiler.compile(def, '/x/confluence.space.list.json')
    expect(Object.keys(action.summary.input.properties as object)).toEqual(['spaceKeys', 'type', 'status', 'limit', 'cursor', 'all', 'maxResults'])
    expect((action.summary.input.properties as any).limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 250, description: expect.stringContaining('default 25; with all: true, 250') })
    expect(action.summary.output).toMatchObject({ type: 'object', additionalProperties: false, required: ['results'], properties: { results: { type: 'array' }, nextCursor: { type: 'string' } } })
    def.input.properties.cursor = { type: 'string' }
    expect(() => compiler.compile(def, '/x/confluence.space.list.json')).toThrow(/input.properties.cursor: the engine declares limit, cursor, all, maxResults/)
    const object = JSON.parse(readFileSync('actions/confluence.space.list.json', 'utf8'))
    object.output = { type: 'object', properties: { results: { type: 'array' } } }
    expect(() => compiler.compile(object, '/x/confluence.space.list.json')).toThrow(/a list mapping's output is \{ "results"/)
  })

  it('inlines the shared definitions, so no published schema has a $ref', () => {
    for (const a of loadActions('actions')) expect(JSON.stringify(a.summary)).not.toContain('$ref')
    const user = loadActions('actions').find(a => a.id === 'confluence.user.get')!
    expect(user.summary.output).toEqual(loadSharedDefinitions('actions').get('user'))
  })

  it('refuses a broken definitions file, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'actions-'))
    writeFileSync(join(dir, '_definitions.json'), JSON.stringify({ $defs: { a: { $ref: '_definitions.json#/$defs/b' }, b: { $ref: '_definitions.json#/$defs/a' } } }))
    expect(() => loadActions(dir)).toThrow(/Invalid action file .*_definitions\.json: .*cycle/)
    writeFileSync(join(dir, '_definitions.json'), '{ nope')
    expect(() => loadActions(dir)).toThrow(/Invalid action file .*_definitions\.json/)
  })

  it('looks the site up only for templates that read it', () => {
    const needs = Object.fromEntries(loadActions('actions').filter(a => a.request !== undefined).map(a => [a.id, a.needsSite]))
    expect(needs).toMatchObject({ 'confluence.page.get': true, 'confluence.space.list': true, 'confluence.user.get': false, 'confluence.group.list': false, 'confluence.site.list': false })
  })
})
