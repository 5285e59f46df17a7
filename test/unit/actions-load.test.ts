import { readFileSync } from 'node:fs'
import { ActionCompiler, ActionLoadError, loadActions } from '../../src/actions/load-actions'

const valid = () => JSON.parse(readFileSync('actions/confluence.page.get.json', 'utf8')) as Record<string, any>
const FILE = '/defs/confluence.page.get.json'

function reason (mutate: (d: Record<string, any>) => void, file = FILE): string {
  const def = valid()
  mutate(def)
  try { new ActionCompiler().compile(def, file) } catch (err) {
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
    ['pagination without list inputs', (d: any) => { d.pagination = { style: 'cursor', limitParam: 'limit', defaultLimit: 25, maxLimit: 250 } }, /paginated action maps a list/]
  ])('refuses %s, naming the file', (_name, mutate, message) => {
    expect(reason(mutate)).toMatch(message)
  })

  it('refuses a paginated action that sets the page size itself', () => {
    const def = JSON.parse(readFileSync('actions/confluence.space.list.json', 'utf8'))
    def.request.query.limit = '{{input.limit}}'
    expect(() => new ActionCompiler().compile(def, '/x/confluence.space.list.json')).toThrow(/leave them out of request.query/)
  })
})
