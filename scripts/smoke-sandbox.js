#!/usr/bin/env node
// Starts `npm run sandbox` in the given folder (default: this checkout), waits for its examples, runs
// every printed curl command exactly as a user would paste it, and fails unless each answers 2xx.
// CI runs it from a copy of the tree with nothing beside it, to prove the repository stands alone.
// Usage: node scripts/smoke-sandbox.js [dir]
const { spawn, execFile } = require('node:child_process')
const path = require('node:path')
const { freePort } = require('./free-port')

const dir = path.resolve(process.argv[2] ?? path.join(__dirname, '..'))

async function sandboxEnv () {
  const [port, simulatorPort] = [await freePort(), await freePort()]
  const env = {
    ...process.env,
    PORT: String(port),
    SIMULATOR_PORT: String(simulatorPort),
    SPOKE_PUBLIC_URL: `http://localhost:${port}`,
    SPOKE_DATA_DIR: path.join(dir, '.data', `smoke-${port}`),
    SPOKE_KEY_PREFIX: `smoke${port}`,
    LOG_LEVEL: 'warn'
  }
  delete env.SPOKE_API_KEYS
  return env
}

sandboxEnv().then((env) => {
  const child = spawn('npm', ['run', '--silent', 'sandbox'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })

  function stop (code) {
    try { process.kill(-child.pid, 'SIGTERM') } catch {}
    setTimeout(() => process.exit(code), 500).unref()
  }

  const deadline = setTimeout(() => { console.error(`sandbox did not become ready in 60 s:\n${out.slice(-3000)}`); stop(1) }, 60_000)
  child.on('exit', (code) => { if (!out.includes('Sandbox ready')) { console.error(`sandbox exited with ${code}:\n${out.slice(-3000)}`); process.exit(1) } })

  const timer = setInterval(async () => {
    const start = out.indexOf('Sandbox ready')
    if (start < 0) return
    const block = out.slice(start)
    if (!/\/test -H "Authorization: Bearer [^"]+"\n/.test(block)) return // the last example printed
    clearInterval(timer); clearTimeout(deadline)
    const commands = block.split('\n').filter(l => l.startsWith('curl '))
    let failed = 0
    for (const cmd of commands) {
      // As pasted, plus the status code on a last line of its own.
      const status = await new Promise((resolve) => {
        execFile('bash', ['-c', `${cmd} -o /dev/null -w '%{http_code}'`], { timeout: 20_000 }, (err, stdout) => resolve(err ? `error ${err.message}` : stdout.trim()))
      })
      const ok = /^2\d\d$/.test(status)
      if (!ok) failed++
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${status}  ${cmd.replace(/Bearer [A-Za-z0-9_]+/, 'Bearer …').slice(0, 150)}`)
    }
    console.log(`sandbox examples: ${commands.length - failed} of ${commands.length} answered 2xx`)
    stop(failed === 0 && commands.length > 0 ? 0 : 1)
  }, 200)
}).catch((err) => { console.error(err); process.exit(1) })
