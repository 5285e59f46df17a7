// MCP tools made from any action with no per-action code (src/mcp/tools.ts), and the per-key allowlists
// (src/config/mcp-tools.ts): names, merged or nested arguments, dryRun defaults, hints, name clashes, parsing.
import { ConfigError } from '../../src/config/config-error'
import { loadConfig } from '../../src/config/env'
import type { CompiledAction } from '../../src/actions/load-actions'
import { actionTool, buildToolCatalogue, toolName } from '../../src/mcp/tools'
import { allowedBy, parseToolAllowlists } from '../../src/config/mcp-tools'

function fakeAction (id: string, over: { input?: Record<string, unknown>, output?: Record<string, unknown>, mode?: 'sync' | 'async', annotations?: Record<string, boolean> } = {}): CompiledAction {
  const definition = {
    id,
    version: '1.0.0',
    title: `Title of ${id}`,
    description: `Does ${id}. https://developer.atlassian.com/x`,
    mode: over.mode ?? 'sync',
    scopes: [['write:page:confluence']],
    annotations: { readOnly: false, idempotent: false, destructive: false, ...over.annotations }
  }
  const input = over.input ?? { type: 'object', additionalProperties: false, required: ['title'], properties: { title: { type: 'string' } } }
  const output = over.output ?? { type: 'object', properties: { id: { type: 'string' } } }
  return { id, definition, summary: { ...definition, input, output } } as unknown as CompiledAction
}

it('names a tool after its action id with dots as underscores', () => {
  expect(toolName('confluence.page.create')).toBe('confluence_page_create')
  expect(toolName('jobs.get')).toBe('jobs_get')
})

it('puts the MCP-level arguments beside the action input, keeping its required and additionalProperties', () => {
  const t = actionTool(fakeAction('confluence.page.create'))
  expect(t.tool.name).toBe('confluence_page_create')
  expect(t.nested).toBe(false)
  expect(t.tool.inputSchema).toEqual({
    type: 'object',
    additionalProperties: false,
    required: ['title'],
    properties: { title: { type: 'string' }, connection: expect.objectContaining({ type: 'string' }), idempotencyKey: expect.objectContaining({ type: 'string' }) }
  })
  expect(t.tool.outputSchema).toEqual({ type: 'object', properties: { id: { type: 'string' } } })
  expect(t.tool.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true })
})

it('a destructive action: dryRun defaults to true over MCP, its own or one the tool adds', () => {
  const own = actionTool(fakeAction('confluence.page.delete', {
    annotations: { destructive: true },
    input: { type: 'object', properties: { pageId: { type: 'string' }, dryRun: { type: 'boolean', default: false, description: 'Check only.' } } }
  }))
  expect(own).toMatchObject({ destructive: true, nativeDryRun: true })
  expect((own.tool.inputSchema.properties as Record<string, { default: unknown }>).dryRun.default).toBe(true)
  const added = actionTool(fakeAction('confluence.page.purge', { annotations: { destructive: true } }))
  expect(added).toMatchObject({ destructive: true, nativeDryRun: false })
  expect((added.tool.inputSchema.properties as Record<string, { default: unknown }>).dryRun.default).toBe(true)
  expect(added.tool.annotations).toMatchObject({ destructiveHint: true })
  expect(added.tool.description).toContain('dryRun: false')
})

it('nests an input that cannot take the MCP arguments beside it; read-only tools get no idempotencyKey', () => {
  const clash = actionTool(fakeAction('confluence.page.move', { input: { type: 'object', properties: { connection: { type: 'string' } } } }))
  expect(clash.nested).toBe(true)
  expect(clash.tool.inputSchema.required).toEqual(['input'])
  expect(clash.tool.inputSchema.properties).toEqual({ input: { type: 'object', properties: { connection: { type: 'string' } } }, connection: expect.any(Object), idempotencyKey: expect.any(Object) })
  const anyOf = actionTool(fakeAction('confluence.thing.get', { annotations: { readOnly: true }, input: { anyOf: [{ type: 'object' }, { type: 'string' }] } }))
  expect(anyOf.nested).toBe(true)
  expect(Object.keys(anyOf.tool.inputSchema.properties!)).toEqual(['input', 'connection'])
})

it('an async action answers a job handle; an output that is not an object has no outputSchema', () => {
  expect(actionTool(fakeAction('confluence.page.export', { mode: 'async' })).tool.outputSchema!.required).toEqual(['jobId', 'state', 'links'])
  expect(actionTool(fakeAction('confluence.page.count', { output: { type: 'integer' } })).tool.outputSchema).toBeUndefined()
})

it('leaves out an action whose tool name clashes with another or is too long', () => {
  const actions = [fakeAction('confluence.page.get'), fakeAction('confluence.page_get'), fakeAction(`confluence.${'x'.repeat(70)}`)]
  const catalogue = buildToolCatalogue({ list: () => actions.map(a => a.summary), get: (id) => actions.find(a => a.id === id)! })
  expect(catalogue.all.map(t => t.tool.name)).toEqual(['jobs_get', 'jobs_cancel', 'confluence_page_get'])
  expect(catalogue.skipped.map(s => s.action)).toEqual(['confluence.page_get', `confluence.${'x'.repeat(70)}`])
})

it('parses SPOKE_MCP_TOOLS and matches tool patterns', () => {
  const lists = parseToolAllowlists('3f9a1c2e:@read-only, 7B2D0E41:confluence_page_*|jobs_get')
  expect(lists).toEqual({ '3f9a1c2e': ['@read-only'], '7b2d0e41': ['confluence_page_*', 'jobs_get'] })
  expect(allowedBy(lists['7b2d0e41'], { name: 'confluence_page_get', readOnly: true })).toBe(true)
  expect(allowedBy(lists['7b2d0e41'], { name: 'confluence_space_list', readOnly: true })).toBe(false)
  expect(allowedBy(lists['3f9a1c2e'], { name: 'confluence_space_list', readOnly: true })).toBe(true)
  expect(allowedBy(lists['3f9a1c2e'], { name: 'confluence_group_member_add', readOnly: false })).toBe(false)
  expect(allowedBy(undefined, { name: 'anything', readOnly: false })).toBe(true)
  for (const bad of ['nope:x', '3f9a1c2e', '3f9a1c2e:', '3f9a1c2e:a.b', '3f9a1c2e:x,3f9a1c2e:y']) {
    expect(() => parseToolAllowlists(bad)).toThrow(ConfigError)
  }
  expect(() => loadConfig({ SPOKE_MCP_TOOLS: 'zz:x' })).toThrow(/SPOKE_MCP_TOOLS/)
  expect(loadConfig({}).mcpTools).toEqual({})
})
