// One Ajv configuration (src/lib/ajv-options.ts): every Ajv instance in src/ is built from one of its two
// presets, and Fastify validates requests with the HTTP one.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const src = join(__dirname, '..', '..', 'src')
const files = (dir: string): string[] => readdirSync(dir).flatMap(f => statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : [])

it('builds every Ajv instance from SCHEMA_FILES or HTTP', () => {
  const instances = files(src).flatMap(f => [...readFileSync(f, 'utf8').matchAll(/new Ajv(?:2020)?\(([^)]*)\)/g)].map(m => [f.slice(src.length + 1), m[1]] as const))
  expect(instances.length).toBeGreaterThanOrEqual(5)
  for (const [file, args] of instances) expect([file, /^\{ \.\.\.(SCHEMA_FILES|HTTP)\b/.test(args)]).toEqual([file, true])
  expect(readFileSync(join(src, 'app.ts'), 'utf8')).toContain('ajv: { customOptions: { ...HTTP } }')
})
