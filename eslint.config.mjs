// Lint = typecheck (tsc, in `npm run lint`) + these rules: the recommended sets, kept quiet about style,
// and the import direction of src/ below.
import { readdirSync } from 'node:fs'
import tseslint from 'typescript-eslint'

// Layers of src/, lowest first. A module may import its own layer and the layers below it, never one above:
//   0  lib/  errors/  config/            shared basics
//   1  http/                             outbound HTTP: agent, send, Retry-After / rate-limit headers, retry rules
//   2  budget/ | connections/            the site rate budget | aliases, sealed secrets, tokens, consent
//                                        (siblings: neither imports the other)
//   3  confluence/                       the Confluence client (sessions from connections, budget passed in)
//   4  actions/  crawl/  licence/        the action engine, and what its built-in handlers run (crawl, licences,
//      privacy/                          the personal-data index, report and erasure)
//      preflight/                        production checks at start and on /readyz (config, Redis settings, clock)
//      content/                          content writes: managed spaces, bodies (Markdown → storage), versions
//   5  jobs/  schedules/                 queues and workers; schedules that enqueue jobs
//      triggers/                         change polls per site and signed deliveries per subscription
//   6  routes/  plugins/  mcp/           the HTTP surface (routes and mcp/ may import the Core *type*: the shape core.ts hands them)
//   7  app.ts  core.ts  server.ts  worker.ts   entry points and the composition root
const LAYERS = [
  ['lib', 'errors', 'config'],
  ['http'],
  ['budget', 'connections'],
  ['confluence'],
  ['actions', 'crawl', 'licence', 'privacy', 'preflight', 'content'],
  ['jobs', 'schedules', 'triggers'],
  ['routes', 'plugins', 'mcp'],
  ['app.ts', 'core.ts', 'server.ts', 'worker.ts']
]
/** Same-rank folders that must not import each other either. */
const SIBLINGS_APART = new Set(['budget', 'connections'])

// Fail closed: a new folder under src/ must be given a layer here before it lints.
const unplaced = readdirSync(new URL('./src/', import.meta.url), { withFileTypes: true })
  .filter(d => d.isDirectory() && !LAYERS.flat().includes(d.name)).map(d => d.name)
if (unplaced.length > 0) throw new Error(`eslint.config.mjs: give src/${unplaced.join(', src/')} a layer in LAYERS`)

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** A relative import of folder `name` (any depth) or of entry file `name.ts`. */
const importOf = (name) => name.endsWith('.ts')
  ? `^(\\./|(\\.\\./)+)${escape(name.slice(0, -3))}$`
  : `^(\\./|(\\.\\./)+)${escape(name)}(/|$)`

function layerRules () {
  const configs = []
  LAYERS.forEach((layer, rank) => {
    for (const folder of layer) {
      if (folder.endsWith('.ts')) continue
      const above = LAYERS.slice(rank + 1).flat()
      const siblings = SIBLINGS_APART.has(folder) ? layer.filter(f => f !== folder && SIBLINGS_APART.has(f)) : []
      const patterns = [
        ...above.map(name => ({
          regex: importOf(name),
          // routes receive the Core from app.ts; they may name its type, never reach into core.ts.
          ...(name === 'core.ts' && (folder === 'routes' || folder === 'mcp') ? { allowTypeImports: true } : {}),
          message: `src/${folder}/ is below ${name}: imports go down the layers only (see the list in eslint.config.mjs).`
        })),
        ...siblings.map(name => ({ regex: importOf(name), message: `src/${folder}/ and src/${name}/ are siblings: neither imports the other (eslint.config.mjs).` }))
      ]
      configs.push({
        files: [`src/${folder}/**/*.ts`],
        rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] }
      })
    }
  })
  return configs
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-require-imports': 'off'
    }
  },
  ...layerRules()
)
