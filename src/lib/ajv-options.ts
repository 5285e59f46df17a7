// The one Ajv configuration of the spoke, in two presets; every Ajv instance is built from one of them.
// - SCHEMA_FILES: schemas we ship or load (actions, their definitions, alias documents). Strict, so a typo in
//   a schema stops the start; `required` may name properties declared elsewhere (as in anyOf); every error
//   reported; never any type coercion of what callers send. Instances add only what their purpose needs
//   (input fills defaults, output is checked as produced).
// - HTTP: route params, querystrings and bodies as Fastify validates them. URL values are strings, so they
//   are coerced (a lone value becomes a one-item array where the schema wants one); every error reported;
//   nothing removed silently; defaults filled in.
export const SCHEMA_FILES = { strict: true, strictRequired: false, allErrors: true } as const

export const HTTP = { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } as const
