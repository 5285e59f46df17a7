// docs/architecture.md follows requests through the code as `file:function` hops: each file must exist and
// define what the hop names (a function, class, method or constant), so the walk-through cannot go stale.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(__dirname, '..', '..')
const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8')
const hops = [...doc.matchAll(/(src\/[\w/.-]+\.ts):([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?/g)].map(m => ({ file: m[1], names: [m[2], m[3]].filter((n): n is string => n !== undefined) }))

it('names at least the two walk-throughs\' hops', () => {
  expect(hops.length).toBeGreaterThanOrEqual(25)
})

it.each(hops.map(h => [`${h.file}:${h.names.join('.')}`, h] as const))('%s exists', (_name, hop) => {
  const path = join(root, hop.file)
  expect([hop.file, existsSync(path)]).toEqual([hop.file, true])
  const source = readFileSync(path, 'utf8')
  for (const name of hop.names) {
    const defined = new RegExp(`(function|class|const|let|interface|type)\\s+${name}\\b|^\\s+(async\\s+)?(private\\s+)?${name}\\s*\\(|\\b${name}\\s*[:=]\\s*(async\\s*)?\\(`, 'm')
    expect([hop.file, name, defined.test(source)]).toEqual([hop.file, name, true])
  }
})
