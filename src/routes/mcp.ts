// /mcp: the Model Context Protocol over the Streamable HTTP transport (docs/mcp.md), on the official SDK, behind
// the same API keys as the JSON API. Stateless: each POST gets its own SDK Server and transport, built from
// the tool catalogue made once at start, so any api process answers any request (no session to pin to one
// process behind a load balancer). With no session there is no server-to-client stream for
// notifications/tools/list_changed; none is needed, as the catalogue is fixed for the life of a process (a
// changed action file takes a restart, and clients list again). Progress notifications do work: a tools/call
// that carries a progressToken is answered as an SSE stream carrying them; everything else as plain JSON.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js'
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js'
import type { Core } from '../core'
import { ANY_ROLE } from '../config/roles'
import { AppError } from '../errors/app-error'
import { callTool, errorResult, ToolGate, type Caller } from '../mcp/call-tool'
import { buildToolCatalogue } from '../mcp/tools'
import { traceparentOf } from '../plugins/tracing'

const SERVER_INFO = { name: 'confluence-cloud-spoke', version: '1.0.0' }
const INSTRUCTIONS = 'Confluence Cloud actions, governed by the spoke: managed groups, a shared rate budget, dry runs, idempotency, audit. ' +
  'Destructive tools are dry runs unless called with dryRun: false. Tools marked as jobs return a jobId: follow it with jobs_get.'

/** A tools/call asking for progress is answered as an SSE stream (so the notifications can travel); the rest as JSON. */
function wantsStream (body: unknown): boolean {
  if (Array.isArray(body)) return true
  const msg = body as { method?: unknown, params?: { _meta?: { progressToken?: unknown } } } | undefined
  return msg?.method === 'tools/call' && msg.params?._meta?.progressToken !== undefined
}

const mcpRoutes: FastifyPluginAsync<{ core: Core }> = async (app, { core }) => {
  const catalogue = buildToolCatalogue(core.actions)
  for (const s of catalogue.skipped) core.log.warn({ action: s.action }, `not offered as an MCP tool: ${s.reason}`)
  const gate = new ToolGate(catalogue, core.config.mcpTools)
  // One for every request: the SDK's Server otherwise builds its own ajv per instance (about half a
  // millisecond of CPU each, a third of the per-request cost of the SDK), used only for elicitation.
  const jsonSchemaValidator = new AjvJsonSchemaValidator()

  function serverFor (req: FastifyRequest, reply: FastifyReply, caller: Caller): Server {
    const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: false } }, instructions: INSTRUCTIONS, jsonSchemaValidator })
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: gate.visible(caller).map(t => t.tool) }))
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const { name, arguments: args = {}, _meta: meta } = request.params
      const tool = gate.callable(caller, name)
      if (tool === undefined) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`)
      if (tool instanceof AppError) {
        req.log.info({ audit: 'tool refused', via: 'MCP', by: caller, tool: name, outcome: tool.code }, `MCP: ${name} refused`)
        return errorResult(tool, req.id)
      }
      const token = meta?.progressToken
      const onProgress = token === undefined
        ? undefined
        : (u: { done?: number, total?: number, message?: string }) => {
            const params: { progressToken: string | number, progress: number, total?: number, message?: string } = { progressToken: token, progress: u.done ?? 0 }
            if (u.total !== undefined) params.total = u.total
            if (u.message !== undefined) params.message = u.message
            extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {})
          }
      // The caller hanging up stops the run's upstream calls (as on the JSON API; a keyed run carries on).
      // (The SDK's own signal, aborted when the transport closes, stops it too.)
      const gone = new AbortController()
      const onClose = (): void => { if (!reply.raw.writableFinished) gone.abort(new Error('the MCP client closed the connection')) }
      reply.raw.once('close', onClose)
      const onAbort = (): void => gone.abort(extra.signal.reason)
      if (extra.signal.aborted) onAbort(); else extra.signal.addEventListener('abort', onAbort, { once: true })
      try {
        return await callTool(core, tool, args, {
          caller, requestId: req.id, traceparent: traceparentOf(req), log: req.log, signal: gone.signal, onProgress, metaIdempotencyKey: meta?.idempotencyKey
        })
      } finally {
        reply.raw.off('close', onClose)
        extra.signal.removeEventListener('abort', onAbort)
      }
    })
    return server
  }

  app.post('/mcp', { config: { access: ANY_ROLE }, schema: { tags: ['mcp'], summary: 'Model Context Protocol (Streamable HTTP, stateless): JSON-RPC messages, see docs/mcp.md' } }, async (req, reply) => {
    const caller: Caller = { role: req.principal!.role, keyId: req.principal!.keyId }
    const server = serverFor(req, reply, caller)
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !wantsStream(req.body) })
    reply.hijack()
    reply.raw.once('close', () => { transport.close().catch(() => {}); server.close().catch(() => {}) })
    await server.connect(transport)
    await transport.handleRequest(req.raw, reply.raw, req.body)
  })

  // Stateless: no server-to-client stream to open (GET) and no session to end (DELETE).
  const notAllowed = async (_req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    return reply.code(405).header('allow', 'POST').send({ jsonrpc: '2.0', error: { code: ErrorCode.ConnectionClosed, message: 'Method not allowed: this MCP endpoint is stateless (POST only)' }, id: null })
  }
  app.get('/mcp', { config: { access: ANY_ROLE }, schema: { tags: ['mcp'], summary: 'Not offered (stateless MCP): 405' } }, notAllowed)
  app.delete('/mcp', { config: { access: ANY_ROLE }, schema: { tags: ['mcp'], summary: 'Not offered (stateless MCP): 405' } }, notAllowed)
}

export default mcpRoutes
