// /mcp with the official SDK's own Client over real HTTP (StreamableHTTPClientTransport) against the spoke and
// the simulator: the tool list (one per action plus the job tools, every schema compiling), a read tool, a
// write tool with dryRun, an async tool followed by jobs_get, GROUP_NOT_MANAGED as a tool error, the roles
// (viewer: read-only tools, listed not run), a per-key allowlist, destructive tools as dry runs by default,
// idempotency keys shared with the JSON API, and the audit line naming the key and "via MCP".
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { request } from 'undici'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js'
import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, listen, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { keyFingerprint } from '../../src/lib/api-keys'
import { toolName } from '../../src/mcp/tools'

let sim: Simulator
let t: TestSpoke
let base: string
let managed: { id: string, members: string[] }
let unmanaged: { id: string }
const keys = { admin: `adm_${randomUUID()}`, invoker: `inv_${randomUUID()}`, viewer: `vwr_${randomUUID()}`, agent: `agt_${randomUUID()}`, reader: `rdr_${randomUUID()}` }
const clients: Client[] = []

async function connect (key: string): Promise<Client> {
  const client = new Client({ name: 'spoke-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', base), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
  clients.push(client)
  return client
}

/** The group's members now (the simulator's ground truth). */
function members (groupId: string): string[] {
  return sim.data.groupMembers(groupId) ?? []
}

function problemOf (result: CallToolResult): { code: string, retryable: boolean, detail: string } {
  expect(result.isError).toBe(true)
  return JSON.parse((result.content[0] as { text: string }).text)
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 'mcp', size: { pages: 20, users: 60, groups: 6 } })
  t = await buildTestSpoke({
    ...simulatorEnv(sim),
    SPOKE_SITE_RATE_PER_SECOND: '1000',
    SPOKE_SITE_BURST: '200',
    SPOKE_API_KEYS: `admin:${keys.admin},invoker:${keys.invoker},viewer:${keys.viewer},invoker:${keys.agent},invoker:${keys.reader}`,
    SPOKE_MCP_TOOLS: `${keyFingerprint(keys.agent)}:confluence_page_*|confluence_group_member_add|jobs_get,${keyFingerprint(keys.reader)}:@read-only`
  }, { workers: { concurrency: 2 } })
  t.keys = { admin: keys.admin, invoker: keys.invoker, viewer: keys.viewer }
  const groups = sim.data.groups()
  managed = groups[1]
  unmanaged = groups[4]
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials', managedGroups: [{ groupId: managed.id }] })
  base = await listen(t)
})
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {})
  await closeCheckingContract(sim, t)
})

it('lists one tool per action plus jobs_get and jobs_cancel, each schema valid JSON Schema, hints from the action', async () => {
  const client = await connect(keys.admin)
  const { tools } = await client.listTools()
  const actions = t.core.actions.list()
  expect(tools.map(x => x.name).sort()).toEqual([...actions.map(a => toolName(a.id)), 'jobs_cancel', 'jobs_get'].sort())
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true })
  addFormats(ajv)
  for (const tool of tools) {
    expect(tool.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
    expect(() => ajv.compile(tool.inputSchema)).not.toThrow()
    expect(tool.inputSchema.type).toBe('object')
    expect(tool.outputSchema).toBeDefined()
    expect(() => ajv.compile(tool.outputSchema!)).not.toThrow()
  }
  const byName = new Map<string, Tool>(tools.map(x => [x.name, x]))
  for (const a of actions) {
    const tool = byName.get(toolName(a.id))!
    const ann = a.annotations as { readOnly: boolean, idempotent: boolean, destructive: boolean }
    expect(tool.annotations).toMatchObject({ readOnlyHint: ann.readOnly, idempotentHint: ann.idempotent, destructiveHint: !ann.readOnly && ann.destructive, openWorldHint: true })
    expect(tool.description).toContain(a.description)
    expect((tool.inputSchema.properties as Record<string, unknown>).connection).toBeDefined()
    if (a.mode === 'sync') expect(tool.outputSchema).toEqual(expect.objectContaining({ type: 'object', properties: (a.output as { properties: unknown }).properties }))
    else expect(tool.outputSchema!.required).toEqual(['jobId', 'state', 'links'])
  }
  // The action's own input properties, next to the MCP-level ones.
  const pageGet = byName.get('confluence_page_get')!
  expect(Object.keys(pageGet.inputSchema.properties!).sort()).toEqual(['bodyFormat', 'connection', 'pageId'])
  expect(pageGet.inputSchema.required).toEqual(['pageId'])
  const remove = byName.get('confluence_group_member_remove')!
  expect((remove.inputSchema.properties as Record<string, { default?: unknown }>).dryRun.default).toBe(true)
})

it('calls a read tool: the output as structured content, the same as the JSON API answers', async () => {
  const client = await connect(keys.invoker)
  const page = sim.data.spaces().find(s => s.homepageId !== null)!
  const result = await client.callTool({ name: 'confluence_page_get', arguments: { pageId: page.homepageId } }) as CallToolResult
  expect(result.isError).toBeFalsy()
  const json = await http(t, 'POST', '/v1/actions/confluence.page.get/execute', { key: keys.invoker, body: { input: { pageId: page.homepageId } } })
  expect(result.structuredContent).toEqual(json.json().output)
  expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent)
  expect(result.structuredContent).toMatchObject({ id: page.homepageId })
  // Input errors are tool errors with the problem's code.
  const bad = problemOf(await client.callTool({ name: 'confluence_page_get', arguments: { pageId: 5 } }) as CallToolResult)
  expect(bad).toMatchObject({ code: 'INPUT_INVALID', retryable: false })
  const unknownAlias = problemOf(await client.callTool({ name: 'confluence_page_get', arguments: { pageId: page.homepageId, connection: 'nobody' } }) as CallToolResult)
  expect(unknownAlias.code).toBe('CONNECTION_NOT_FOUND')
})

it('calls a write tool with dryRun (nothing changes), then for real, with an audit line naming the key and MCP', async () => {
  const client = await connect(keys.invoker)
  const outsider = sim.data.users().map(u => u.accountId).find(a => !managed.members.includes(a))!
  const dry = await client.callTool({ name: 'confluence_group_member_add', arguments: { groupId: managed.id, accountId: outsider, dryRun: true } }) as CallToolResult
  expect(dry.structuredContent).toEqual({ changed: true, dryRun: true })
  expect(sim.data.groupMembers(managed.id)).not.toContain(outsider)
  const real = await client.callTool({ name: 'confluence_group_member_add', arguments: { groupId: managed.id, accountId: outsider } }) as CallToolResult
  expect(real.structuredContent).toEqual({ changed: true, dryRun: false })
  expect(sim.data.groupMembers(managed.id)).toContain(outsider)
  const audit = t.logs().split('\n').filter(Boolean).map(l => JSON.parse(l)).filter(l => l.audit === 'tool called' && l.tool === 'confluence_group_member_add')
  expect(audit.length).toBeGreaterThanOrEqual(2)
  expect(audit.at(-1)).toMatchObject({ via: 'MCP', by: { role: 'invoker', keyId: keyFingerprint(keys.invoker) }, action: 'confluence.group.member.add', outcome: 'ok' })
  expect(audit.at(-1).msg).toContain('via MCP')
  // The request's own line, as for every route.
  const completed = t.logs().split('\n').filter(Boolean).map(l => JSON.parse(l)).filter(l => l.msg === 'request completed' && l.req?.url === '/mcp' && l.reqId === audit.at(-1).reqId)
  expect(completed).toHaveLength(1)
  expect(t.logs()).not.toContain(keys.invoker)
})

it('refuses a group the connection does not manage: a tool error with GROUP_NOT_MANAGED, nothing sent to Confluence', async () => {
  const client = await connect(keys.invoker)
  const before = sim.counters()
  const result = await client.callTool({ name: 'confluence_group_member_add', arguments: { groupId: unmanaged.id, accountId: sim.adminAccountId } }) as CallToolResult
  expect(problemOf(result)).toMatchObject({ code: 'GROUP_NOT_MANAGED', retryable: false })
  const bulk = await client.callTool({ name: 'confluence_group_members_bulk', arguments: { groupId: unmanaged.id, add: [sim.adminAccountId], dryRun: false } }) as CallToolResult
  expect(problemOf(bulk).code).toBe('GROUP_NOT_MANAGED')
  expect(sim.counters()).toEqual(before)
})

it('destructive tools are dry runs unless the call says dryRun: false', async () => {
  const client = await connect(keys.invoker)
  const member = managed.members[0]
  const dry = await client.callTool({ name: 'confluence_group_member_remove', arguments: { groupId: managed.id, accountId: member } }) as CallToolResult
  expect(dry.structuredContent).toEqual({ changed: true, dryRun: true })
  expect(sim.data.groupMembers(managed.id)).toContain(member)
  // A destructive action with no dry run of its own does not run without dryRun: false.
  const privacy = await client.callTool({ name: 'confluence_privacy_report', arguments: {} }) as CallToolResult
  expect(problemOf(privacy)).toMatchObject({ code: 'CONFIRMATION_REQUIRED', retryable: false })
  const removed = await client.callTool({ name: 'confluence_group_member_remove', arguments: { groupId: managed.id, accountId: member, dryRun: false } }) as CallToolResult
  expect(removed.structuredContent).toEqual({ changed: true, dryRun: false })
  expect(sim.data.groupMembers(managed.id)).not.toContain(member)
})

it('runs an async tool as a job and follows it with jobs_get (dry run by default: the bulk is destructive)', async () => {
  const client = await connect(keys.invoker)
  const outsiders = sim.data.users().map(u => u.accountId).filter(a => !members(managed.id).includes(a)).slice(0, 3)
  const queued = await client.callTool({ name: 'confluence_group_members_bulk', arguments: { groupId: managed.id, add: outsiders } }) as CallToolResult
  expect(queued.isError).toBeFalsy()
  const { jobId, state, links } = queued.structuredContent as { jobId: string, state: string, links: { self: string } }
  expect(state).toBe('waiting')
  expect(links.self).toBe(`/v1/jobs/${jobId}`)
  let job: any
  const deadline = Date.now() + 30_000
  for (;;) {
    const got = await client.callTool({ name: 'jobs_get', arguments: { jobId } }) as CallToolResult
    expect(got.isError).toBeFalsy()
    job = got.structuredContent
    if (['completed', 'failed', 'cancelled'].includes(job.state) || Date.now() > deadline) break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  expect(job).toMatchObject({ id: jobId, action: 'confluence.group.members.bulk', state: 'completed' })
  expect(job.result.summary).toMatchObject({ dryRun: true, total: outsiders.length })
  for (const a of outsiders) expect(sim.data.groupMembers(managed.id)).not.toContain(a)
  expect(problemOf(await client.callTool({ name: 'jobs_get', arguments: { jobId: 'jnope' } }) as CallToolResult).code).toBe('JOB_NOT_FOUND')
  // jobs_cancel is admin-only, as on the JSON API.
  expect(problemOf(await client.callTool({ name: 'jobs_cancel', arguments: { jobId } }) as CallToolResult).code).toBe('FORBIDDEN')
  const admin = await connect(keys.admin)
  expect(problemOf(await admin.callTool({ name: 'jobs_cancel', arguments: { jobId } }) as CallToolResult).code).toBe('JOB_STATE_CONFLICT')
})

it('a viewer key lists only the read-only tools (and jobs_get) and runs no action', async () => {
  const client = await connect(keys.viewer)
  const { tools } = await client.listTools()
  const readOnly = t.core.actions.list().filter(a => (a.annotations as { readOnly: boolean }).readOnly).map(a => toolName(a.id))
  expect(tools.map(x => x.name).sort()).toEqual([...readOnly, 'jobs_get'].sort())
  expect(tools.every(x => x.annotations?.readOnlyHint === true)).toBe(true)
  const before = sim.counters()
  expect(problemOf(await client.callTool({ name: 'confluence_user_current', arguments: {} }) as CallToolResult).code).toBe('FORBIDDEN')
  expect(problemOf(await client.callTool({ name: 'confluence_group_member_add', arguments: { groupId: managed.id, accountId: sim.adminAccountId } }) as CallToolResult).code).toBe('FORBIDDEN')
  expect(sim.counters()).toEqual(before)
})

it('an allowlisted key (SPOKE_MCP_TOOLS) lists and calls only its tools', async () => {
  const agent = await connect(keys.agent)
  // `confluence_page_*` is every page action of the catalogue, whatever it holds today.
  const pageTools = readdirSync('actions').filter(f => /^confluence\.page\.[a-z]+\.json$/.test(f)).map(f => f.replace(/\.json$/, '').replace(/\./g, '_'))
  expect(pageTools).toContain('confluence_page_get')
  expect((await agent.listTools()).tools.map(x => x.name).sort()).toEqual(['confluence_group_member_add', ...pageTools, 'jobs_get'].sort())
  const refused = problemOf(await agent.callTool({ name: 'confluence_user_current', arguments: {} }) as CallToolResult)
  expect(refused.code).toBe('FORBIDDEN')
  expect(refused.detail).toContain('allowlist')
  const reader = await connect(keys.reader)
  const readOnly = t.core.actions.list().filter(a => (a.annotations as { readOnly: boolean }).readOnly).map(a => toolName(a.id))
  expect((await reader.listTools()).tools.map(x => x.name).sort()).toEqual([...readOnly, 'jobs_get'].sort())
  expect((await reader.callTool({ name: 'confluence_user_current', arguments: {} }) as CallToolResult).structuredContent).toMatchObject({ accountId: sim.serviceAccountId })
  expect(problemOf(await reader.callTool({ name: 'confluence_group_member_add', arguments: { groupId: managed.id, accountId: sim.adminAccountId } }) as CallToolResult).code).toBe('FORBIDDEN')
})

it('an idempotency key (argument or _meta) answers a repeat from the record, shared with the JSON API', async () => {
  const client = await connect(keys.invoker)
  const outsider = sim.data.users().map(u => u.accountId).filter(a => !members(managed.id).includes(a)).at(-1)!
  expect(outsider).toBeDefined()
  const key = `mcp-${randomUUID()}`
  const args = { groupId: managed.id, accountId: outsider, idempotencyKey: key }
  const first = await client.callTool({ name: 'confluence_group_member_add', arguments: args }) as CallToolResult
  expect(first.structuredContent).toEqual({ changed: true, dryRun: false })
  const before = sim.counters()
  const again = await client.callTool({ name: 'confluence_group_member_add', arguments: args }) as CallToolResult
  expect(again.structuredContent).toEqual({ changed: true, dryRun: false })
  expect(sim.counters()).toEqual(before)
  // The same key over the JSON API with the same request replays too.
  const json = await http(t, 'POST', '/v1/actions/confluence.group.member.add/execute', { key: keys.invoker, body: { input: { groupId: managed.id, accountId: outsider } }, headers: { 'idempotency-key': key } })
  expect(json.headers['idempotent-replayed']).toBe('true')
  const other = await client.callTool({ name: 'confluence_group_member_add', arguments: { ...args, dryRun: true } }) as CallToolResult
  expect(problemOf(other).code).toBe('IDEMPOTENCY_CONFLICT')
  const viaMeta = await client.callTool({ name: 'confluence_group_member_add', arguments: { groupId: managed.id, accountId: outsider }, _meta: { idempotencyKey: key } }) as CallToolResult
  expect(viaMeta.structuredContent).toEqual({ changed: true, dryRun: false })
})

it('sends progress notifications for a run that reports progress when the client asks for them', async () => {
  const client = await connect(keys.invoker)
  const updates: Array<{ progress: number }> = []
  const result = await client.callTool({ name: 'confluence_group_members', arguments: { groupId: managed.id, all: true, limit: 1 } }, undefined, { onprogress: (p) => { updates.push(p) } }) as CallToolResult
  expect(result.isError).toBeFalsy()
  const count = (result.structuredContent as { results: unknown[] }).results.length
  expect(count).toBeGreaterThan(1)
  expect(updates.length).toBe(count)
  expect(updates.at(-1)!.progress).toBe(count)
})

it('a client that hangs up stops the upstream calls of its run (no idempotency key)', async () => {
  const page = sim.data.spaces().find(s => s.homepageId !== null)!
  // One held request: the queued fault is used up when the simulator takes the request and starts holding it.
  sim.faults.next({ kind: 'latency', ms: 2500 }, 1, { operations: ['getPageById'] })
  try {
    const hangUp = new AbortController()
    const call = request(`${base}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.invoker}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'confluence_page_get', arguments: { pageId: page.homepageId } } }),
      signal: hangUp.signal
    })
    // Hang up once the simulator holds the request.
    for (let i = 0; i < 500 && sim.faults.get().queued.length > 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
    expect(sim.faults.get().queued).toEqual([])
    hangUp.abort()
    await expect(call).rejects.toThrow()
    const abandoned = (): any => t.logs().split('\n').filter(Boolean).map(l => JSON.parse(l)).find(l => l.audit === 'tool called' && l.abandoned === true)
    for (let i = 0; i < 300 && abandoned() === undefined; i++) await new Promise(resolve => setTimeout(resolve, 10))
    // Without the abort the call would have run to its end (outcome ok, after the upstream's 2.5 s).
    expect(abandoned()).toMatchObject({ via: 'MCP', tool: 'confluence_page_get', abandoned: true })
    expect(abandoned().outcome).not.toBe('ok')
    expect(t.logs()).toContain('MCP client went away; its upstream calls were abandoned')
  } finally {
    sim.faults.clear()
  }
})

it('answers without a key 401, to GET and DELETE 405 (stateless), and unknown tools as a protocol error', async () => {
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }
  const headers = { accept: 'application/json, text/event-stream' }
  expect((await http(t, 'POST', '/mcp', { body: init, headers })).status).toBe(401)
  expect((await http(t, 'POST', '/mcp', { key: 'not-a-key', body: init, headers })).status).toBe(401)
  expect((await http(t, 'GET', '/mcp', { key: keys.invoker, headers })).status).toBe(405)
  expect((await http(t, 'DELETE', '/mcp', { key: keys.invoker })).status).toBe(405)
  const client = await connect(keys.invoker)
  await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/Unknown tool/)
})
