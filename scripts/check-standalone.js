#!/usr/bin/env node
// The repository stands alone: no tracked file may read, import or link a folder beside it (the
// design notes and research the project started from are not published with it). Part of `npm run lint`.
const { execFileSync } = require('node:child_process')

const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0').filter(Boolean)
const forbidden = /\.\.\/shared\b|shared\/(contracts|research|seeds|DESIGN)|DESIGN\.md|DESIGN §/
const self = 'scripts/check-standalone.js'
const hits = []
for (const file of files) {
  if (file === self || /\.(png|jpg|ico|lock)$/.test(file)) continue
  let text
  try { text = require('node:fs').readFileSync(file, 'utf8') } catch { continue }
  text.split('\n').forEach((line, i) => { if (forbidden.test(line)) hits.push(`${file}:${i + 1}: ${line.trim().slice(0, 120)}`) })
}
if (hits.length > 0) {
  console.error(`check-standalone: ${hits.length} reference(s) to material outside the repository:\n${hits.join('\n')}`)
  process.exit(1)
}
console.log(`check-standalone: ${files.length} tracked files, no reference outside the repository`)
