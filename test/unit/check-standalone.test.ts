// scripts/check-standalone.js (part of `npm run lint`) on a tiny repository of its own: it refuses a
// reference outside the repository, a citation of a document the repository does not have, a relative
// Markdown link or a named path that leads nowhere, and accepts the same files once each points somewhere.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const script = join(__dirname, '..', '..', 'scripts', 'check-standalone.js')

function repoWith (files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'standalone-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  execFileSync('git', ['init', '-q'], { cwd: dir })
  execFileSync('git', ['add', '.'], { cwd: dir })
  return dir
}

function check (dir: string): { status: number | null, out: string } {
  const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' })
  return { status: r.status, out: r.stdout + r.stderr }
}

it('names each dangling reference and citation, with its file and line', () => {
  const dir = repoWith({
    'docs/a.md': 'See [b](b.md) and [gone](missing.md#x), and [out](https://example.com/x.md).\n',
    'docs/b.md': 'Rules in research §9 and in confluence-api.md §8; the guide is docs/a.md §2.\n',
    'src/http/retry.ts': '// The rules (docs/a.md, docs/upstream.md); the refresher is connections/refresher.ts.\n',
    'src/connections/token.ts': '// nothing\n'
  })
  try {
    const { status, out } = check(dir)
    expect(status).toBe(1)
    expect(out).toContain('docs/a.md:1: links missing.md#x, which does not exist')
    expect(out).toContain('docs/b.md:1: outside the repository')
    expect(out).toContain('docs/b.md:1: cites confluence-api.md, not in the repository')
    expect(out).toContain('src/http/retry.ts:1: names docs/upstream.md, which does not exist')
    expect(out).toContain('src/http/retry.ts:1: names connections/refresher.ts, which does not exist')
    expect(out).not.toMatch(/links b\.md|names docs\/a\.md|example\.com|cites docs\/a\.md/)
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

it('passes once every reference points at a file the repository has', () => {
  const dir = repoWith({
    'docs/a.md': 'See [b](b.md#top), [the code](../src/http/retry.ts) and `bench/results/latest.json` (made by a run).\n',
    'docs/b.md': 'The guide is docs/a.md §2.\n',
    'src/http/retry.ts': '// The rules (docs/a.md); the token is connections/token.ts.\n',
    'src/connections/token.ts': '// nothing\n'
  })
  try {
    expect(check(dir)).toMatchObject({ status: 0 })
  } finally { rmSync(dir, { recursive: true, force: true }) }
})
