// The MCP Inspector's CLI (@modelcontextprotocol/inspector, a devDependency, run offline from node_modules)
// against a spoke listening on a real port with the simulator behind it: tools/list (with its --strict
// portability checks of every tool schema) and a tools/call with the bearer key as a header. What an operator
// runs by hand against the sandbox (docs/mcp.md), here in CI.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, listen, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'
import { toolName } from '../../src/mcp/tools'

const CLI = require.resolve('@modelcontextprotocol/inspector/clients/launcher/build/index.js')

let sim: Simulator
let t: TestSpoke
let url: string
let home: string

beforeAll(async () => {
  sim = await startSimulator({ seed: 'mcp-inspector', size: { pages: 10, users: 20, groups: 4 } })
  t = await buildTestSpoke(simulatorEnv(sim))
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  url = `${await listen(t)}/mcp`
  // The CLI keeps a catalogue of servers in the home directory: a throwaway one.
  home = mkdtempSync(join(tmpdir(), 'mcp-inspector-'))
})
afterAll(async () => {
  await closeCheckingContract(sim, t)
  rmSync(home, { recursive: true, force: true })
})

function inspector (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '--cli', url, '--transport', 'http', '--header', `Authorization: Bearer ${t.keys.invoker}`, ...args], {
      env: { ...process.env, HOME: home, MCP_CATALOG_PATH: join(home, 'mcp.json'), NO_COLOR: '1' },
      timeout: 60_000
    }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

it('lists the tools (one per action and the job tools), portable by its --strict checks', async () => {
  const res = await inspector(['--method', 'tools/list', '--strict'])
  expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: expect.any(String) })
  const names = (JSON.parse(res.stdout).tools as Array<{ name: string }>).map(x => x.name).sort()
  expect(names).toEqual([...t.core.actions.list().map(a => toolName(a.id)), 'jobs_get'].sort())
})

it('calls a read tool with an argument and prints its structured output; a tool error exits 5 with the problem', async () => {
  const page = sim.data.spaces().find(s => s.homepageId !== null)!
  // The CLI reads a value as JSON when it can: a numeric id must be quoted to stay the string the schema wants.
  const res = await inspector(['--method', 'tools/call', '--tool-name', 'confluence_page_get', '--tool-arg', `pageId="${page.homepageId}"`])
  expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: expect.any(String) })
  const result = JSON.parse(res.stdout)
  expect(result.isError).toBeFalsy()
  expect(result.structuredContent).toMatchObject({ id: page.homepageId })

  const bad = await inspector(['--method', 'tools/call', '--tool-name', 'confluence_page_get', '--tool-arg', `pageId=${page.homepageId}`])
  expect(bad.code).toBe(5)
  expect(JSON.parse(bad.stderr).error.code).toBe('tool_is_error')
  const out = JSON.parse(bad.stdout)
  expect(out.isError).toBe(true)
  expect(JSON.parse(out.content[0].text)).toMatchObject({ code: 'INPUT_INVALID', retryable: false, errors: [{ path: '/pageId' }] })
})
