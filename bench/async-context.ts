// What an active AsyncLocalStorage costs every await, on the node that runs this (the spoke passes its trace
// context and job context by hand instead; see the README's design notes). Each mode runs in a process of its
// own, because Node 20 turns its promise hooks on for good at the first run(): CPU milliseconds for 40,000
// request-like chains of 21 awaits and a setImmediate, without a store and inside als.run(), median of 9
// after a warm-up, alternated over `rounds` processes each. Not part of `npm run bench`.
// Run: npx tsx bench/async-context.ts [rounds, default 3]   (with another node first on PATH to compare)
import { execFileSync } from 'node:child_process'
import { AsyncLocalStorage } from 'node:async_hooks'

const REQUESTS = 2_000
const BATCHES = 20

async function measure (withStore: boolean): Promise<number> {
  const als = new AsyncLocalStorage<{ traceparent: number }>()
  const leaf = async (i: number): Promise<number> => { await null; return i }
  const request = async (i: number): Promise<number> => {
    let s = 0
    for (let k = 0; k < 20; k++) s += await leaf(k)
    await new Promise(resolve => setImmediate(resolve))
    return s + i
  }
  const batch = async (): Promise<void> => {
    const runs: Array<Promise<number>> = []
    for (let i = 0; i < REQUESTS; i++) runs.push(withStore ? als.run({ traceparent: i }, async () => await request(i)) : request(i))
    await Promise.all(runs)
  }
  const once = async (): Promise<number> => {
    const t = process.cpuUsage()
    for (let b = 0; b < BATCHES; b++) await batch()
    const d = process.cpuUsage(t)
    return (d.user + d.system) / 1e3
  }
  await once()
  const times: number[] = []
  for (let i = 0; i < 9; i++) times.push(await once())
  return times.sort((a, b) => a - b)[4]
}

if (process.argv[2] === '--child') {
  void measure(process.argv[3] === 'on').then(ms => process.stdout.write(`${ms}\n`))
} else {
  const rounds = Number(process.argv[2] ?? 3)
  const run = (mode: string): number => Number(execFileSync(process.execPath, [...process.execArgv, __filename, '--child', mode], { encoding: 'utf8' }).trim())
  const off: number[] = []
  const on: number[] = []
  for (let r = 0; r < rounds; r++) { off.push(run('off')); on.push(run('on')) }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const awaits = REQUESTS * BATCHES * 22
  process.stdout.write(`${process.version}: CPU ms per ${REQUESTS * BATCHES} chains, without a store ${off.map(Math.round).join(' ')}, inside als.run ${on.map(Math.round).join(' ')}; ` +
    `median cost ${((med(on) - med(off)) * 1e6 / awaits).toFixed(0)} ns per await (+${((med(on) / med(off) - 1) * 100).toFixed(0)} %)\n`)
}
