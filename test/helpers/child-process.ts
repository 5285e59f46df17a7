// A TypeScript entry point run as its own Node process (through tsx), for tests and benchmarks that need
// real process boundaries: crash tests, several workers, a simulator or spoke on its own core.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'

export const ROOT = join(__dirname, '../..')

export interface ChildProcessHandle {
  proc: ChildProcess
  /** Everything it wrote so far (stdout and stderr). */
  output: () => string
  /** Signals it (SIGTERM by default) and resolves once it exited; a no-op when it already has. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

export interface StartOptions {
  /** The whole environment of the child (nothing is inherited but PATH). */
  env: Record<string, string | undefined>
  /** Resolves once the output contains this (or matches it); without it, once the process is spawned. */
  ready?: string | RegExp
  timeoutMs?: number
}

/**
 * `node --import tsx <script>` from the project root, stdout and stderr piped. Not the tsx CLI: it runs the
 * script in a child process of its own, so a SIGKILL (which it cannot relay) would leave the real process
 * running. BENCH_CPU_PROF=<dir>: the child writes a CPU profile there when it exits.
 */
export function spawnTsx (script: string, env: Record<string, string | undefined>, stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  const profile = process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  return spawn(process.execPath, ['--import', 'tsx', ...profile, join(ROOT, script)], { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'], env })
}

/**
 * How long a child may take to say it is ready: a bound, not a timing. tsx compiling src/ on a machine loaded
 * by other suites (load average 20 on 2 cores) took over 30 s; an idle one takes 2-5 s.
 */
const START_BOUND_MS = 120_000

/** Starts `script` (see spawnTsx) and waits until it says it is ready. */
export async function startTsxProcess (script: string, opts: StartOptions): Promise<ChildProcessHandle> {
  const proc = spawnTsx(script, { PATH: process.env.PATH, ...opts.env })
  let out = ''
  proc.stdout?.on('data', (c: Buffer) => { out += c.toString() })
  proc.stderr?.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
  const ready = opts.ready
  await new Promise<void>((resolve, reject) => {
    // A child that never got ready is killed, not left running after the test (loaded runs left some behind).
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${script} did not start: ${out.slice(-2000)}`)) }, opts.timeoutMs ?? START_BOUND_MS)
    const check = (): void => {
      if (ready === undefined || (typeof ready === 'string' ? out.includes(ready) : ready.test(out))) { clearTimeout(timer); resolve() }
    }
    if (ready === undefined) proc.once('spawn', check)
    else { proc.stdout?.on('data', check); proc.stderr?.on('data', check) }
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}: ${out.slice(-2000)}`)) })
  })
  return {
    proc,
    output: () => out,
    kill: async (signal = 'SIGTERM') => { if (proc.exitCode === null && proc.signalCode === null) { proc.kill(signal); await exited } }
  }
}

/** A TCP port that was free a moment ago (for a child that must be told its port). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}
