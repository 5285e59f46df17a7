// The two tiers of jest.config.js stay whole: every integration file that starts Sentinel or Cluster groups
// of its own (test/helpers/redis-ha.ts) or a deployment of many OS processes (test/helpers/spoke-processes.ts)
// is in the `ha` tier (npm run test:ha), every other integration file in the fast tier (npm test), none in both.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(__dirname, '..', '..')
const config = require(join(root, 'jest.config.js')) as { projects: Array<{ displayName: string, testMatch: string[], testPathIgnorePatterns?: string[] }> }
const project = (name: string): { displayName: string, testMatch: string[], testPathIgnorePatterns?: string[] } => {
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

it('runs the fast tier with `npm test` and the ha tier with `npm run test:ha`', () => {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  const selected = (script: string): string[] => /--selectProjects ((?:[a-z]+ ?)+)/.exec(scripts[script])?.[1].trim().split(' ') ?? []
  expect(selected('test').sort()).toEqual(config.projects.map(p => p.displayName).filter(n => n !== 'ha').sort())
  expect(selected('test:ha')).toEqual(['ha'])
})
