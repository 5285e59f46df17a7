// The two tiers of jest.config.js stay whole: every integration file that starts Sentinel or Cluster groups
// of its own (test/helpers/redis-ha.ts) or a deployment of many OS processes (test/helpers/spoke-processes.ts)
// is in the `ha` tier (npm run test:ha), every other integration file in the fast tier (npm test), none in both.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(__dirname, '..', '..')
interface Project { displayName: string, testMatch: string[], testPathIgnorePatterns?: string[] }
/** jest.config.js's projects as a child loads it with SPOKE_TEST_TIER set to `tier` (unset: every project). */
function projectsOf (tier?: string): Project[] {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.SPOKE_TEST_TIER
  if (tier !== undefined) env.SPOKE_TEST_TIER = tier
  return JSON.parse(execFileSync(process.execPath, ['-e', 'console.log(JSON.stringify(require("./jest.config.js").projects))'], { cwd: root, env, encoding: 'utf8' })) as Project[]
}
const config = { projects: projectsOf() }
const project = (name: string): Project => {
  const found = config.projects.find(p => p.displayName === name)
  if (found === undefined) throw new Error(`jest.config.js has no project ${name}`)
  return found
}

const dir = join(root, 'test', 'integration')
const files = readdirSync(dir).filter(f => f.endsWith('.test.ts'))
const heavy = (file: string): boolean => /helpers\/(redis-ha|spoke-processes)'/.test(readFileSync(join(dir, file), 'utf8'))

it('puts the Sentinel/Cluster and many-process files in the ha tier and only those', () => {
  const ha = project('ha').testMatch.map(m => m.replace('<rootDir>/test/integration/', ''))
  expect(ha.sort()).toEqual(files.filter(heavy).sort())
})

it('keeps them out of the fast tier, and every other integration file in it', () => {
  const ignored = (project('integration').testPathIgnorePatterns ?? []).map(p => new RegExp(p))
  const fast = files.filter(f => !ignored.some(re => re.test(`/test/integration/${f}`)))
  expect(fast.sort()).toEqual(files.filter(f => !heavy(f)).sort())
})

it('runs the fast tier with `npm test` and the ha tier with `npm run test:ha`, and a file given to either', () => {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  expect(scripts.test).toBe('SPOKE_TEST_TIER=fast jest')
  expect(scripts['test:ha']).toBe('SPOKE_TEST_TIER=ha jest')
  const projects = (tier: string): string[] => projectsOf(tier).map(p => p.displayName).sort()
  expect(projects('fast')).toEqual(config.projects.map(p => p.displayName).filter(n => n !== 'ha').sort())
  expect(projects('ha')).toEqual(['ha'])
  // `npm test -- <file>` runs that file, not the whole tier.
  const listed = execFileSync('npm', ['test', '--silent', '--', 'test/unit/config.test.ts', '--listTests'], { cwd: root, encoding: 'utf8' }).split('\n').filter(l => l.endsWith('.test.ts'))
  expect(listed.map(l => l.slice(root.length + 1))).toEqual(['test/unit/config.test.ts'])
})
