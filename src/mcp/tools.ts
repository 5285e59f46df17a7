// The catalogue as MCP tools (docs/mcp.md): one tool per loaded action plus jobs_get and jobs_cancel, all made
// from the action definitions, so a new action file is a new tool with no code here.
//
// Names: the action id with every character MCP clients refuse (Claude, OpenAI and others accept only
// [A-Za-z0-9_-], 1 to 64 characters) written as "_": confluence.page.get → confluence_page_get.
// Arguments: the action's own input properties, plus the MCP-level ones below (`connection`, `idempotencyKey`,
// and `dryRun` for a destructive action that has none of its own). When the action's input cannot take them
// side by side (no top-level `properties`, or a property of the same name), the action input goes under `input`.
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import type { ActionRegistry } from '../actions/action-registry'
import type { JsonSchema } from '../actions/action-definition'
import type { CompiledAction } from '../actions/load-actions'
import { ALIAS_ID_PATTERN, DEFAULT_ALIAS } from '../connections/alias-id'
import { jobSchema } from '../routes/jobs'

export const JOBS_GET = 'jobs_get'
export const JOBS_CANCEL = 'jobs_cancel'

/** confluence.page.get → confluence_page_get (jobs.get → jobs_get). */
export function toolName (actionId: string): string {
  return actionId.replace(/[^A-Za-z0-9_-]/g, '_')
}

const MAX_TOOL_NAME = 64
const MCP_ARGS = ['connection', 'idempotencyKey'] as const

export interface ActionTool {
  kind: 'action'
  tool: Tool
  action: CompiledAction
  readOnly: boolean
  /** The action input sits under `input` (else the arguments minus the MCP-level ones are the input). */
  nested: boolean
  /** Destructive over MCP: runs only with dryRun: false (the action's own dryRun, or the tool's). */
  destructive: boolean
  /** The action's input has a `dryRun` of its own (the engine performs the dry run). */
  nativeDryRun: boolean
}

export interface JobTool { kind: 'job', tool: Tool, op: 'get' | 'cancel', readOnly: boolean }

export type SpokeTool = ActionTool | JobTool

export interface ToolCatalogue {
  all: SpokeTool[]
  byName: Map<string, SpokeTool>
  /** Actions whose id made no acceptable tool name (too long, or the same name as another): not offered over MCP. */
  skipped: Array<{ action: string, reason: string }>
}

const connectionArg = {
  type: 'string',
  pattern: ALIAS_ID_PATTERN,
  description: `Connection alias to run as (default ${DEFAULT_ALIAS}, the install's default alias; a parent alias resolves to its active child).`
}
const idempotencyArg = {
  type: 'string',
  pattern: '^[\\x21-\\x7e]{1,255}$',
  description: 'Repeat-safe key (kept 24 h): a repeat with the same key and arguments answers the first result without running again. Also accepted as _meta.idempotencyKey.'
}
const dryRunArg = {
  type: 'boolean',
  default: true,
  description: 'Destructive: over MCP this defaults to true (report what would change, change nothing). Pass false to run it.'
}

const jobHandleSchema = {
  type: 'object',
  description: 'The job the call queued: follow it with jobs_get.',
  required: ['jobId', 'state', 'links'],
  properties: {
    jobId: { type: 'string' },
    state: { type: 'string' },
    links: { type: 'object', required: ['self'], properties: { self: { type: 'string' } } }
  }
}

function withoutMeta (schema: JsonSchema): JsonSchema {
  const { $schema, $id, ...rest } = schema
  return rest
}

function isObjectSchema (schema: JsonSchema): schema is JsonSchema & { properties: Record<string, unknown> } {
  return schema.type === 'object' && typeof schema.properties === 'object' && schema.properties !== null && !Array.isArray(schema.properties)
}

/** The action's annotations as MCP hints; openWorld unless the action says otherwise (every action talks to Confluence). */
function hints (action: CompiledAction): Tool['annotations'] {
  const a = action.definition.annotations as unknown as Record<string, unknown>
  return {
    title: action.definition.title,
    readOnlyHint: a.readOnly === true,
    destructiveHint: a.readOnly !== true && a.destructive === true,
    idempotentHint: a.idempotent === true,
    openWorldHint: a.openWorld !== false
  }
}

export function actionTool (action: CompiledAction): ActionTool {
  const def = action.definition
  const input = withoutMeta(action.summary.input)
  const readOnly = def.annotations.readOnly
  const destructive = !readOnly && def.annotations.destructive
  const own = isObjectSchema(input) ? input.properties : undefined
  const nested = own === undefined || MCP_ARGS.some(k => k in own)
  const nativeDryRun = own !== undefined && 'dryRun' in own
  const mcpArgs: Record<string, unknown> = { connection: connectionArg }
  if (!readOnly) mcpArgs.idempotencyKey = idempotencyArg

  let inputSchema: Record<string, unknown>
  if (nested) {
    if (destructive && !nativeDryRun) mcpArgs.dryRun = dryRunArg
    inputSchema = { type: 'object', additionalProperties: false, required: ['input'], properties: { input, ...mcpArgs } }
  } else {
    const properties: Record<string, unknown> = { ...own, ...mcpArgs }
    if (destructive) {
      const ownDryRun = own.dryRun as Record<string, unknown> | undefined
      // The action's own dryRun (its default is for the JSON API); over MCP it defaults to true.
      properties.dryRun = ownDryRun === undefined ? dryRunArg : { ...ownDryRun, default: true, description: `${typeof ownDryRun.description === 'string' ? `${ownDryRun.description} ` : ''}${dryRunArg.description}` }
    }
    inputSchema = { ...input, properties }
  }

  const output = withoutMeta(action.summary.output)
  let outputSchema: Record<string, unknown> | undefined
  if (def.mode === 'async') outputSchema = jobHandleSchema
  else if (output.type === 'object') outputSchema = output
  // (an output that is not an object has no structured form in MCP: it is sent as text only)

  const scopes = def.scopes.map(s => s.length === 0 ? '(none)' : s.join(' ')).join(' | ')
  const notes = [
    def.mode === 'async' ? 'Runs as a job: the result is a job handle; follow it with jobs_get.' : undefined,
    destructive ? 'Destructive: a dry run unless the call passes dryRun: false.' : undefined,
    `Scopes (any one set): ${scopes}.`
  ].filter(n => n !== undefined).join(' ')
  const tool: Tool = {
    name: toolName(def.id),
    title: def.title,
    description: `${def.description}\n\n${notes}`,
    inputSchema: inputSchema as Tool['inputSchema'],
    annotations: hints(action),
    _meta: { 'spoke/action': def.id, 'spoke/actionVersion': def.version, 'spoke/mode': def.mode }
  }
  if (outputSchema !== undefined) tool.outputSchema = outputSchema as Tool['outputSchema']
  return { kind: 'action', tool, action, readOnly, nested, destructive, nativeDryRun }
}

const jobIdArg = { type: 'object', additionalProperties: false, required: ['jobId'], properties: { jobId: { type: 'string', maxLength: 64, description: 'The jobId an async tool returned.' } } }

function jobTools (): JobTool[] {
  return [
    {
      kind: 'job',
      op: 'get',
      readOnly: true,
      tool: {
        name: JOBS_GET,
        title: 'Get a job',
        description: "One job of the spoke (jobs.get): its state, progress, and the action's output once completed (`result`) or its error.",
        inputSchema: jobIdArg as Tool['inputSchema'],
        outputSchema: jobSchema as Tool['outputSchema'],
        annotations: { title: 'Get a job', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
      }
    },
    {
      kind: 'job',
      op: 'cancel',
      readOnly: false,
      tool: {
        name: JOBS_CANCEL,
        title: 'Cancel a job',
        description: 'Cancel a waiting, delayed or active job (jobs.cancel); an active job stops at its next safe point. Admin keys only, as on the JSON API.',
        inputSchema: jobIdArg as Tool['inputSchema'],
        outputSchema: jobSchema as Tool['outputSchema'],
        annotations: { title: 'Cancel a job', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false }
      }
    }
  ]
}

/** Every tool of the loaded catalogue, built once per process (the catalogue does not change while it runs). */
export function buildToolCatalogue (actions: Pick<ActionRegistry, 'list' | 'get'>): ToolCatalogue {
  const all: SpokeTool[] = jobTools()
  const byName = new Map<string, SpokeTool>(all.map(t => [t.tool.name, t]))
  const skipped: ToolCatalogue['skipped'] = []
  for (const summary of actions.list()) {
    const t = actionTool(actions.get(summary.id))
    const clash = byName.get(t.tool.name)
    if (t.tool.name.length > MAX_TOOL_NAME) skipped.push({ action: summary.id, reason: `its tool name would be longer than ${MAX_TOOL_NAME} characters` })
    else if (clash !== undefined) skipped.push({ action: summary.id, reason: `its tool name ${t.tool.name} is taken by ${clash.kind === 'action' ? clash.action.id : clash.tool.name}` })
    else { all.push(t); byName.set(t.tool.name, t) }
  }
  return { all, byName, skipped }
}
