#!/usr/bin/env node
// The repository stands alone. No tracked file may
// - read, import or link a folder beside it (the design notes and research the project started from are
//   not published with it), or cite a document that is not in the repository ("research §9", "x.md §3");
// - point at a file of the repository that does not exist: a relative Markdown link, or a path such as
//   docs/errors.md or src/http/retry.ts named in a doc or a comment (resolved from the repository root or
//   from any folder above the file, e.g. simulator/ for the simulator's own paths).
// Part of `npm run lint`.
const { execFileSync } = require('node:child_process')
const { existsSync, readFileSync } = require('node:fs')
const { dirname, join, normalize } = require('node:path')

const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0').filter(Boolean)
const tracked = new Set(files)
const dirs = new Set(files.flatMap(f => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))))
const forbidden = /\.\.\/shared\b|shared\/(contracts|research|seeds|DESIGN)|DESIGN\.md|DESIGN §|\bresearch §|\bresearch\/[\w-]+\.md/
// This script and its test name dangling references on purpose.
const exempt = new Set(['scripts/check-standalone.js', 'test/unit/check-standalone.test.ts'])
// Made by a run, never tracked: a mention of them is not dangling.
const generated = /^(dist|coverage|node_modules|\.data|bench\/results)\//
const TOP = '(?:docs|src|test|scripts|bench|ops|simulator|actions|connections)'
const pathMention = new RegExp(`(?<![\\w./@-])(${TOP}/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\\.(?:md|ts|js|json|yml|yaml|html|css))(?![\\w/-])`, 'g')
const mdLink = /\]\(([^)\s]+)\)/g
const citation = /([\w./-]+\.md) §/g

const exists = (path) => tracked.has(path) || dirs.has(path.replace(/\/$/, ''))

const hits = []
for (const file of files) {
  if (exempt.has(file) || /\.(png|jpg|ico|lock)$/.test(file) || file === 'package-lock.json' || /^simulator\/contracts\/.*\.json$/.test(file)) continue
  let text
  try { text = readFileSync(file, 'utf8') } catch { continue }
  const isMarkdown = file.endsWith('.md')
  text.split('\n').forEach((line, i) => {
    const where = `${file}:${i + 1}`
    if (forbidden.test(line)) hits.push(`${where}: outside the repository: ${line.trim().slice(0, 120)}`)
    for (const m of line.matchAll(citation)) {
      const name = m[1].split('/').pop()
      if (!files.some(f => f.endsWith(`/${name}`) || f === name)) hits.push(`${where}: cites ${m[1]}, not in the repository`)
    }
    if (isMarkdown) {
      for (const m of line.matchAll(mdLink)) {
        const target = m[1].split('#')[0]
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('<')) continue
        const resolved = normalize(join(dirname(file), decodeURI(target)))
        if (!exists(resolved) && !generated.test(resolved)) hits.push(`${where}: links ${m[1]}, which does not exist`)
      }
    }
    for (const m of line.matchAll(pathMention)) {
      const path = m[1]
      if (generated.test(path)) continue
      // From the root, or from any folder above the file (src/http/x.ts may say connections/y.ts for src/connections/y.ts).
      const above = dirname(file).split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))
      const candidates = [path, ...above.map(d => normalize(join(d, path)))]
      if (!candidates.some(exists)) hits.push(`${where}: names ${path}, which does not exist`)
    }
  })
}
if (hits.length > 0) {
  console.error(`check-standalone: ${hits.length} reference(s) to material outside the repository or to files it does not have:\n${hits.join('\n')}`)
  process.exit(1)
}
console.log(`check-standalone: ${files.length} tracked files, no reference outside the repository, no dangling file reference`)
