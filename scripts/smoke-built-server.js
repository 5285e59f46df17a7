#!/usr/bin/env node
// Starts the production build (`node dist/server.js`, as `npm start` and the image do) against Redis and
// waits until /readyz answers 200; fails if it exits or is not ready within 30 s. Used by CI.
const { spawn } = require('node:child_process')
const { randomBytes } = require('node:crypto')
const path = require('node:path')
const os = require('node:os')
const { freePort } = require('./free-port')

const root = path.join(__dirname, '..')
freePort().then((port) => {
  const env = {
    ...process.env,
    PORT: String(port),
    SPOKE_DATA_DIR: path.join(os.tmpdir(), `spoke-built-${port}`),
    SPOKE_KEY_PREFIX: `built${port}`,
    SPOKE_MASTER_KEY: randomBytes(32).toString('base64'),
    SPOKE_API_KEYS: `admin:${randomBytes(16).toString('hex')}`,
    LOG_LEVEL: 'warn'
  }
  const child = spawn(process.execPath, [path.join(root, 'dist', 'server.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  child.on('exit', (code) => { console.error(`node dist/server.js exited with ${code}:\n${out.slice(-3000)}`); process.exit(1) })

  const started = Date.now()
  const poll = setInterval(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
    if (res?.status === 200) {
      clearInterval(poll)
      console.log(`built server ready in ${Date.now() - started} ms (node dist/server.js)`)
      child.removeAllListeners('exit')
      child.kill('SIGTERM')
      child.on('exit', (code) => process.exit(code === 0 ? 0 : 1))
    } else if (Date.now() - started > 30_000) {
      clearInterval(poll)
      console.error(`node dist/server.js not ready after 30 s:\n${out.slice(-3000)}`)
      child.kill('SIGKILL')
      process.exit(1)
    }
  }, 200)
}).catch((err) => { console.error(err); process.exit(1) })
