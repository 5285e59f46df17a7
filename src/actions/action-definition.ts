// TypeScript view of an action file (actions/*.json, ActionFile) and of the definition the loader makes of it
// (ActionDefinition: complete published schemas); action-definition.schema.json is the authority on files.
import type { HttpMethod } from '../confluence/types'
import type { ListOutputSpec } from './list-shape'

export type JsonSchema = Record<string, unknown>

export interface ActionAnnotations { readOnly: boolean, idempotent: boolean, destructive: boolean }

export interface RequestTemplate {
  method: HttpMethod
  /** `confluence` (the site through the gateway, default) or `api` (the Atlassian API host). */
  base?: 'confluence' | 'api'
  path: string
  query?: Record<string, unknown>
  headers?: Record<string, string>
  body?: unknown
}

export interface PaginationSpec {
  /** `cursor`: follow `_links.next` / the `Link` header; `offset`: v1 `start`/`limit` lists. */
  style: 'cursor' | 'offset'
  limitParam: string
  defaultLimit: number
  maxLimit: number
  /** Offset style only. */
  startParam?: string
}

export type OutputMapping =
  | { value: unknown }
  | { items: string, item: unknown }

export interface ActionDefinition {
  $schema?: string
  id: string
  version: string
  title: string
  description: string
  mode: 'sync' | 'async'
  scopes: string[][]
  annotations: ActionAnnotations
  input: JsonSchema
  output: JsonSchema
  request?: RequestTemplate
  pagination?: PaginationSpec
  mapping?: OutputMapping
  handler?: { name: string, params?: Record<string, unknown> }
}

/** An action file after its $refs are inlined: a list mapping's output gives only `results` (list-shape.ts). */
export interface ActionFile extends Omit<ActionDefinition, 'output'> {
  output: JsonSchema | ListOutputSpec
}
