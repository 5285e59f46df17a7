// The shapes the engine owns for list actions, so no action file repeats them: the paging inputs a
// `pagination` block implies (limit, cursor, all, maxResults) and the `{ results, nextCursor? }` output of a
// list mapping. The loader adds them to the published schemas; runPaginated in execute-action.ts reads them.
import type { JsonSchema, PaginationSpec } from './action-definition'

/** The inputs the engine adds to a paginated action; an action file may not declare them itself. */
export const PAGING_INPUTS = ['limit', 'cursor', 'all', 'maxResults'] as const

/** The most results one `all: true` run may be asked for, and the default. */
export const MAX_RESULTS = 5000
export const DEFAULT_MAX_RESULTS = 1000
/** Cursors are base64url of a page request; a next link is at most 8 KiB (paginate.ts), so this is room enough. */
export const MAX_CURSOR_LENGTH = 12000

/** The paging inputs of one pagination block, in the order they are published (after the action's own). */
export function pagingInputs (spec: PaginationSpec): Record<typeof PAGING_INPUTS[number], JsonSchema> {
  return {
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: spec.maxLimit,
      description: `Page size (default ${spec.defaultLimit}; with all: true, ${spec.maxLimit}). Fixed for the whole walk: a cursor keeps the size it was issued with.`
    },
    cursor: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_CURSOR_LENGTH,
      description: 'The nextCursor of a previous call (opaque). The other inputs must name the same collection.'
    },
    all: { type: 'boolean', default: false, description: 'Follow the pages until the end or maxResults.' },
    maxResults: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_RESULTS,
      default: DEFAULT_MAX_RESULTS,
      description: 'With all: true, stop after this many results (nextCursor then resumes exactly there).'
    }
  }
}

/** What an action file gives as the output of a list mapping: the `results` array without its `type`. */
export interface ListOutputSpec { results: { items: JsonSchema, description?: string } }

export function isListOutputSpec (output: unknown): output is ListOutputSpec {
  return output !== null && typeof output === 'object' && 'results' in output && !('type' in output)
}

/** The published output of a list mapping: `{ results: [item…], nextCursor? }`. */
export function listOutput (spec: ListOutputSpec): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['results'],
    properties: {
      results: { type: 'array', ...spec.results },
      nextCursor: { type: 'string', description: 'Present when more results exist: pass it back as input.cursor.' }
    }
  }
}
