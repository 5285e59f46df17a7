// One repository URL: package.json's `repository`, the problem `type` links of error answers and the action
// schema's `$id` all name it, and each problem type points at a heading docs/errors.md has.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPOSITORY_URL } from '../../src/lib/repository'
import { problemType } from '../../src/lib/problem'

const root = join(__dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { repository?: { url?: string }, homepage?: string, bugs?: string, license?: string }

it('package.json names the repository the links point at', () => {
  expect(pkg.repository?.url).toBe(`git+${REPOSITORY_URL}.git`)
  expect(pkg.homepage?.startsWith(REPOSITORY_URL)).toBe(true)
  expect(pkg.bugs?.startsWith(REPOSITORY_URL)).toBe(true)
  expect(pkg.license).toBe('Apache-2.0')
  expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/)
})

it('problem types and the action schema $id are files of that repository', () => {
  expect(problemType('REQUEST_INVALID')).toBe(`${REPOSITORY_URL}/blob/main/docs/errors.md#request-invalid`)
  const schema = JSON.parse(readFileSync(join(root, 'src', 'actions', 'action-definition.schema.json'), 'utf8')) as { $id: string }
  expect(schema.$id).toBe(`${REPOSITORY_URL}/blob/main/src/actions/action-definition.schema.json`)
})

it('every documented error code has the anchor its problem type links to', () => {
  const errors = readFileSync(join(root, 'docs', 'errors.md'), 'utf8')
  const codes = [...errors.matchAll(/\| <a id="([^"]+)"><\/a>`([A-Z_]+)`/g)]
  expect(codes.length).toBeGreaterThan(10)
  for (const [, anchor, code] of codes) expect([code, problemType(code).split('#')[1]]).toEqual([code, anchor])
})
