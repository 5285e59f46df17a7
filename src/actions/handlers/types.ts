// What a built-in handler receives: the validated input, the resolved connection, and a `call` that already
// applies the engine's retry rules. Handlers hold the few action rules that cannot be data.
import type { CallOptions, ConfluenceRequest, ConfluenceResponse, ConfluenceSite, ResolvedConnection } from '../../confluence/types'
import type { ActionDefinition } from '../action-definition'

export interface ProgressUpdate { done?: number, total?: number, message?: string }

export interface HandlerContext {
  action: ActionDefinition
  input: Record<string, unknown>
  params: Record<string, unknown>
  connection: ResolvedConnection
  call: (req: ConfluenceRequest, opts?: CallOptions) => Promise<ConfluenceResponse>
  site: () => Promise<ConfluenceSite>
  signal?: AbortSignal
  onProgress?: (update: ProgressUpdate) => void
}

export type ActionHandler = (ctx: HandlerContext) => Promise<unknown>
