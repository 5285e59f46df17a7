// One home for the alias-id rule and the default alias. The pattern lives in the alias JSON Schema (editors
// check alias files against it too) and is read from there by every TypeScript user.
import aliasSchema from './alias.schema.json'

/** The alias-id rule as a JSON Schema / route `pattern` string. */
export const ALIAS_ID_PATTERN: string = aliasSchema.definitions.aliasId.pattern

export const ALIAS_ID = new RegExp(ALIAS_ID_PATTERN)

/** The alias a request that names none runs as. */
export const DEFAULT_ALIAS = 'confluence_cloud'
