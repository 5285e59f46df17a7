// File sinks that cannot be redirected (issue 24, item 1), on the real file system: a symlink planted at the
// sink's file (to a file elsewhere, or dangling), a hard link to a file elsewhere, and the modes of what a sink
// creates under a permissive umask. Each case overwrote, created or exposed a file before lib/private-file.
import { randomUUID } from 'node:crypto'
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openFileSink as openCrawlSink } from '../../src/crawl/sink'
import { openFileSink as openLicenceSink } from '../../src/licence/file-sink'
import { InputInvalidError } from '../../src/errors/errors'
import type { CrawlRecord } from '../../src/crawl/types'
import { startSimulator } from 'confluence-cloud-simulator'
import { buildTestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, simulatorEnv } from '../helpers/connect'
import { submitJob, waitForJob } from '../helpers/jobs'

let base: string
let dataDir: string
let outside: string

beforeEach(() => {
  base = join(tmpdir(), `hostile-sinks-${randomUUID()}`)
  dataDir = join(base, 'data')
  outside = join(base, 'elsewhere')
  mkdirSync(join(dataDir, 'crawls'), { recursive: true })
  mkdirSync(join(dataDir, 'licence'), { recursive: true })
  mkdirSync(outside, { recursive: true })
})
afterEach(() => { rmSync(base, { recursive: true, force: true }) })

const victim = (): string => {
  const file = join(outside, 'precious.txt')
  writeFileSync(file, 'not yours to overwrite\n')
  return file
}
const record = { kind: 'page', id: '1', recordId: 'page:1' } as unknown as CrawlRecord

describe('crawl file sink', () => {
  it('refuses a symlink at the file to a file elsewhere, and leaves that file alone', async () => {
    const target = victim()
    symlinkSync(target, join(dataDir, 'crawls', 'x.ndjson'))
    await expect(openCrawlSink(dataDir, 'x.ndjson', 0)).rejects.toBeInstanceOf(InputInvalidError)
    expect(readFileSync(target, 'utf8')).toBe('not yours to overwrite\n')
  })
  it('refuses a dangling symlink: no file is created outside the data directory', async () => {
    const target = join(outside, 'created-by-the-spoke.ndjson')
    symlinkSync(target, join(dataDir, 'crawls', 'dangling.ndjson'))
    await expect(openCrawlSink(dataDir, 'dangling.ndjson', 0)).rejects.toThrow(/symbolic link/)
    expect(existsSync(target)).toBe(false)
  })
  it('refuses a hard link to a file elsewhere (it would be truncated in place)', async () => {
    const target = victim()
    linkSync(target, join(dataDir, 'crawls', 'hard.ndjson'))
    await expect(openCrawlSink(dataDir, 'hard.ndjson', 0)).rejects.toThrow(/hard links/)
    expect(readFileSync(target, 'utf8')).toBe('not yours to overwrite\n')
  })
  it('creates no folder outside through a symlinked folder (refused before anything is made)', async () => {
    symlinkSync(outside, join(dataDir, 'crawls', 'out'))
    await expect(openCrawlSink(dataDir, 'out/sub/x.ndjson', 0)).rejects.toBeInstanceOf(InputInvalidError)
    expect(existsSync(join(outside, 'sub'))).toBe(false)
  })
})

describe('licence file sink', () => {
  it('refuses a symlink at the .partial file, and leaves its target alone', async () => {
    const target = victim()
    symlinkSync(target, join(dataDir, 'licence', 'usage.ndjson.partial'))
    await expect(openLicenceSink(dataDir, 'usage.ndjson')).rejects.toBeInstanceOf(InputInvalidError)
    expect(readFileSync(target, 'utf8')).toBe('not yours to overwrite\n')
  })
  it('refuses a dangling symlink at the .partial file', async () => {
    const target = join(outside, 'report.ndjson')
    symlinkSync(target, join(dataDir, 'licence', 'r.ndjson.partial'))
    await expect(openLicenceSink(dataDir, 'r.ndjson')).rejects.toThrow(/symbolic link/)
    expect(existsSync(target)).toBe(false)
  })
})

describe('modes, whatever the umask', () => {
  let umask: number
  beforeEach(() => { umask = process.umask(0o000) })
  afterEach(() => { process.umask(umask) })

  it('a crawl export is 0600 in 0700 folders', async () => {
    const sink = await openCrawlSink(dataDir, 'deep/er/x.ndjson', 0)
    await sink.write([record])
    await sink.close()
    expect(statSync(join(dataDir, 'crawls', 'deep', 'er', 'x.ndjson')).mode & 0o777).toBe(0o600)
    for (const dir of ['crawls', 'crawls/deep', 'crawls/deep/er']) expect(statSync(join(dataDir, dir)).mode & 0o777).toBe(0o700)
  })
  it('an existing world-readable export is narrowed to 0600 when a run writes it again', async () => {
    writeFileSync(join(dataDir, 'crawls', 'old.ndjson'), 'x\n', { mode: 0o644 })
    const sink = await openCrawlSink(dataDir, 'old.ndjson', 0)
    await sink.close()
    expect(statSync(join(dataDir, 'crawls', 'old.ndjson')).mode & 0o777).toBe(0o600)
  })
  it('a licence report is 0600 in 0700 folders', async () => {
    const sink = await openLicenceSink(dataDir, 'reports/usage.ndjson')
    await sink.write([{ accountId: 'a' }])
    await sink.close()
    expect(statSync(join(dataDir, 'licence', 'reports', 'usage.ndjson')).mode & 0o777).toBe(0o600)
    for (const dir of ['licence', 'licence/reports']) expect(statSync(join(dataDir, dir)).mode & 0o777).toBe(0o700)
  })
})

it('end to end: an invoker\'s crawl to a planted link fails INPUT_INVALID and the link\'s target is untouched', async () => {
  const sim = await startSimulator({ seed: 'hostile-sinks', size: { pages: 5, spaces: 1, users: 5, groups: 1, blogposts: 0, attachments: 0, comments: 0, inlineComments: 0 } })
  const t = await buildTestSpoke({ ...simulatorEnv(sim), LOG_LEVEL: 'warn' }, { workers: true })
  try {
    await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
    const target = victim()
    mkdirSync(join(t.config.dataDir, 'crawls'), { recursive: true })
    symlinkSync(target, join(t.config.dataDir, 'crawls', 'planted.ndjson'))
    const id = await submitJob(t, 'confluence.content.crawl', { input: { types: ['page'], sink: { type: 'file', path: 'planted.ndjson' } } })
    const job = await waitForJob(t, id)
    expect([job.state, job.error?.code]).toEqual(['failed', 'INPUT_INVALID'])
    expect(job.error.message).toMatch(/symbolic link/)
    expect(readFileSync(target, 'utf8')).toBe('not yours to overwrite\n')
  } finally {
    await t.close()
    await sim.close()
    rmSync(t.config.dataDir, { recursive: true, force: true })
  }
}, 60_000)
