#!/usr/bin/env node
// Our npm mirror lacks some other-platform builds of optional native packages (msgpackr-extract,
// unrs-resolver bindings) at the versions their parents pin, so `npm install` leaves them out of
// package-lock.json and `npm ci` then refuses the lock as out of sync. This adds lock entries for the
// missing ones, marked optional and restricted to their os/cpu, so npm ci skips them on other platforms
// and fetches them where they belong. Run after any `npm install`: node scripts/lock-platform-stubs.js
const fs = require('node:fs')
const path = require('node:path')

const file = path.join(__dirname, '..', 'package-lock.json')
const lock = JSON.parse(fs.readFileSync(file, 'utf8'))
const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'netbsd', 'openbsd', 'sunos', 'aix']
const CPU = ['arm64', 'x64', 'ia32', 'loong64', 'ppc64', 's390x', 'riscv64', 'wasm32', 'arm']

function platformOf (name) {
  const parts = name.split('/').pop().split('-')
  const os = OS.find(o => parts.includes(o))
  const cpu = CPU.find(c => parts.includes(c))
  if (!os || !cpu) return undefined
  const libc = parts.includes('musl') || parts.includes('musleabihf') ? 'musl' : parts.includes('gnu') || parts.includes('gnueabihf') ? 'glibc' : undefined
  return { os: [os], cpu: [cpu], ...(os === 'linux' && libc ? { libc: [libc] } : {}) }
}

let added = 0
for (const [where, entry] of Object.entries(lock.packages)) {
  for (const [dep, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`
    if (lock.packages[key] || lock.packages[`${where}/${key}`]) continue
    const platform = platformOf(dep)
    if (!platform || !/^\d+\.\d+\.\d+/.test(spec)) continue
    lock.packages[key] = { version: spec.replace(/^[\^~=]/, ''), ...(entry.dev ? { dev: true } : {}), optional: true, ...platform }
    added++
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n')
console.log(`lock-platform-stubs: added ${added} optional platform entries`)
