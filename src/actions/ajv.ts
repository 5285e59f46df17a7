// The ajv instances for action schemas: draft 2020-12 (as OpenAPI 3.1), on the shared SCHEMA_FILES options
// (lib/ajv-options.ts: strict, every error reported, no coercion of what callers send).
import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { SCHEMA_FILES } from '../lib/ajv-options'

/** Input: defaults from the schema are filled in, nothing is coerced. */
export function createInputAjv (): Ajv2020 {
  const ajv = new Ajv2020({ ...SCHEMA_FILES, coerceTypes: false, useDefaults: true })
  addFormats(ajv)
  return ajv
}

/** Output: checked as produced, never modified. */
export function createOutputAjv (): Ajv2020 {
  const ajv = new Ajv2020({ ...SCHEMA_FILES, coerceTypes: false, useDefaults: false })
  addFormats(ajv)
  return ajv
}

/** For the definition files themselves (the meta-schema allows free-form schemas inside). */
export function createMetaAjv (): Ajv2020 {
  return new Ajv2020({ ...SCHEMA_FILES })
}

export interface SchemaError { path: string, message: string, keyword: string, params: Record<string, unknown> }

/** ajv errors as the `errors` of an INPUT_INVALID problem: a JSON pointer per error, missing properties included. */
export function toSchemaErrors (errors: ReadonlyArray<{ instancePath: string, keyword: string, message?: string, params: Record<string, unknown> }> | null | undefined, prefix = ''): SchemaError[] {
  return (errors ?? []).map(e => {
    let path = prefix + e.instancePath
    if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') path += `/${e.params.missingProperty}`
    if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') path += `/${e.params.additionalProperty}`
    return { path: path === '' ? '/' : path, message: e.message ?? e.keyword, keyword: e.keyword, params: e.params }
  })
}
