// `npm run sandbox`: the Confluence simulator and the spoke wired to it, with the default alias
// `confluence_cloud` registered, authorized over the real consent flow and bound to the simulated site,
// then curl examples that work as pasted. Needs nothing but Redis.
import { randomBytes } from 'node:crypto'
import { runFromEnv } from 'confluence-cloud-simulator/main'
import type { Simulator } from 'confluence-cloud-simulator'
import pretty from 'pino-pretty'
import { main } from '../src/server'

async function sandbox (): Promise<void> {
  const env = process.env
  env.SPOKE_PUBLIC_URL ??= `http://localhost:${env.PORT ?? '3000'}`
  const sim = await runFromEnv(env)
  env.ATLASSIAN_AUTH_URL ??= sim.url
  env.ATLASSIAN_API_URL ??= sim.url
  env.CONFLUENCE_CLIENT_ID ??= sim.clientId
  env.CONFLUENCE_CLIENT_SECRET ??= sim.clientSecret
  env.SPOKE_DATA_DIR ??= '.data/sandbox'
  env.SPOKE_KEY_PREFIX ??= 'spoke-sandbox'
  // Keys to print in the examples: generated per run unless the caller set SPOKE_API_KEYS.
  const adminKey = `sbx_admin_${randomBytes(12).toString('hex')}`
  const invokerKey = `sbx_invoker_${randomBytes(12).toString('hex')}`
  const keysGiven = env.SPOKE_API_KEYS !== undefined
  env.SPOKE_API_KEYS ??= `admin:${adminKey},invoker:${invokerKey}`

  // On a terminal, readable log lines (LOG_FORMAT=json keeps pino's JSON, as in production).
  const logDestination = process.stdout.isTTY && env.LOG_FORMAT !== 'json'
    ? pretty({ colorize: true, singleLine: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service,reqId' })
    : undefined
  const started = await main(env, { afterClose: () => sim.close(), logDestination, sandbox: true })
  // The sandbox talks to the spoke directly; people are shown the public URL, the one origin where the
  // console's session cookie and the OAuth callback live (localhost and 127.0.0.1 are different origins).
  const local = `http://127.0.0.1:${started.config.port}`
  const base = started.config.publicUrl.replace(/\/+$/, '')
  const admin = keysGiven ? firstKey(env.SPOKE_API_KEYS, 'admin') : adminKey
  if (!admin) throw new Error('SPOKE_API_KEYS has no admin key: the sandbox needs one to register the default alias')
  const invoker = keysGiven ? (firstKey(env.SPOKE_API_KEYS, 'invoker') ?? admin) : invokerKey

  await authorizeDefaultAlias(local, admin, sim)
  printExamples(base, invoker, admin, sim)
}

/** The two smallest ordinary groups: room to add people in the examples, and never site-admins. */
function exampleGroups (sim: Simulator): Array<{ id: string, name: string, members: string[] }> {
  return sim.data.groups().filter(g => g.name !== 'site-admins').sort((a, b) => a.members.length - b.members.length).slice(0, 2)
}

function firstKey (spec: string | undefined, role: string): string | undefined {
  return spec?.split(',').map(s => s.trim()).find(s => s.startsWith(`${role}:`))?.slice(role.length + 1)
}

/** Registers confluence_cloud with every scope the actions need, then runs the consent round trip. */
async function authorizeDefaultAlias (base: string, adminKey: string, sim: Simulator): Promise<void> {
  const auth = { authorization: `Bearer ${adminKey}` }
  const actions = (await getJson(`${base}/v1/actions`, auth)).actions as Array<{ scopes: string[][] }>
  const scopes = [...new Set([...actions.flatMap(a => a.scopes[0] ?? []), 'offline_access'])]
  const groups = exampleGroups(sim).map(g => ({ groupId: g.id, name: g.name }))
  const current = await getJson(`${base}/v1/connections/confluence_cloud`, auth)
  const doc = {
    name: 'Confluence Cloud (sandbox simulator)',
    connectionUrl: `${sim.url}/`,
    credential: {
      type: 'oauth2_authorization_code',
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      scopes,
      authorizeUrl: `${sim.url}/authorize`,
      tokenUrl: `${sim.url}/oauth/token`
    },
    site: { cloudId: sim.defaultCloudId },
    retryPolicy: current.retryPolicy ?? { strategy: 'retry_after', maxAttempts: 4, maxElapsedSeconds: 600 },
    managedGroups: groups,
    // Content writes go only into managed spaces: the first space, where the printed write examples go.
    managedSpaces: sim.data.spaces().slice(0, 1).map(sp => ({ spaceId: sp.id, key: sp.key })),
    // The simulator's Organizations API key, for the licence actions (docs/licences.md).
    orgAdmin: { orgId: sim.orgId, apiKey: sim.adminApiKey }
  }
  await send('PUT', `${base}/v1/connections/confluence_cloud`, auth, doc)

  // The consent flow, as a browser would follow it (the simulator approves on the user's behalf).
  const authorize = await fetch(`${base}/v1/connections/confluence_cloud/authorize`, { headers: auth, redirect: 'manual' })
  let location = authorize.headers.get('location')
  if (authorize.status !== 302 || !location) throw new Error(`authorize answered ${authorize.status}: ${await authorize.text()}`)
  const consentPage = await fetch(location, { redirect: 'manual' })
  if (consentPage.status === 200) {
    const request = /name="request" value="([^"]+)"/.exec(await consentPage.text())?.[1]
    if (!request) throw new Error('the simulator consent page has no request id')
    const approved = await fetch(`${sim.url}/authorize/consent`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ request, decision: 'approve' }).toString(),
      redirect: 'manual'
    })
    location = approved.headers.get('location')
  } else {
    location = consentPage.headers.get('location')
  }
  if (!location) throw new Error('consent did not redirect back to the spoke')
  const back = new URL(location)
  const callback = await fetch(`${base}${back.pathname}${back.search}`)
  if (callback.status !== 200) throw new Error(`OAuth callback answered ${callback.status}: ${await callback.text()}`)
  const view = await getJson(`${base}/v1/connections/confluence_cloud`, auth)
  if (view.token?.status !== 'active') throw new Error(`alias not active after consent: ${JSON.stringify(view.token)}`)
}

async function getJson (url: string, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { headers })
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`)
  return res.json()
}

async function send (method: string, url: string, headers: Record<string, string>, body: unknown): Promise<any> {
  const res = await fetch(url, { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${await res.text()}`)
  return res.json()
}

function printExamples (base: string, invoker: string, admin: string, sim: Simulator): void {
  const space = sim.data.spaces()[0]
  const users = sim.data.users()
  const group = exampleGroups(sim)[0]
  // Someone not yet in the group, so the add example shows changed: true on its real run.
  const member = users.find(u => u.accountType === 'atlassian' && !group.members.includes(u.accountId)) ?? users[0]
  const searchWord = space.name.split(/\s+/)[0]
  const run = (id: string, input: unknown, mode?: 'async'): string =>
    `curl -s -X POST ${base}/v1/actions/${id}/execute -H "Authorization: Bearer ${invoker}" -H 'content-type: application/json' -d '${JSON.stringify(mode ? { mode, input } : { input })}'`
  const others = users.filter(u => u.accountType === 'atlassian' && u.accountId !== member.accountId && !group.members.includes(u.accountId)).slice(0, 3).map(u => u.accountId)
  const lines = [
    '',
    'Sandbox ready: the spoke and a simulated Confluence Cloud site, default alias authorized.',
    `  spoke      ${base}   (docs: ${base}/docs, queues: ${base}/admin/queues)`,
    `  console    ${base}/admin   (sign in with the admin key below; "Get OAuth Token", Test connection and Confluence Groups are there)`,
    `  simulator  ${sim.url}   (cloudId ${sim.defaultCloudId})`,
    `  admin key  ${admin}`,
    `  invoker key ${invoker}`,
    '',
    '# List the actions',
    `curl -s ${base}/v1/actions -H "Authorization: Bearer ${invoker}"`,
    '# Search content',
    run('confluence.content.search', { text: searchWord, limit: 5 }),
    '# Read a page',
    run('confluence.page.get', { pageId: space.homepageId ?? '1', bodyFormat: 'storage' }),
    '# Spaces, and the pages of one',
    run('confluence.space.list', { limit: 5 }),
    run('confluence.page.list', { spaceId: space.id, limit: 5 }),
    '# Users and groups',
    run('confluence.user.current', {}),
    run('confluence.user.get', { accountId: member.accountId }),
    run('confluence.group.list', { limit: 10 }),
    '# Add a member to a managed group (dry run first)',
    run('confluence.group.member.add', { groupId: group.id, accountId: member.accountId, dryRun: true }),
    run('confluence.group.member.add', { groupId: group.id, accountId: member.accountId }),
    '# A bulk membership change as a job (202 + job id), then the jobs API',
    run('confluence.group.members.bulk', { groupId: group.id, add: others }),
    `curl -s "${base}/v1/jobs?limit=5" -H "Authorization: Bearer ${invoker}"`,
    '# Write a page into the managed space, the body in Markdown (dry run first: the exact request, nothing sent)',
    run('confluence.page.create', { spaceId: space.id, title: 'Release notes from the spoke', body: { format: 'markdown', value: '# Release notes\n\n- streamed uploads\n- *safe* retries' }, dryRun: true }),
    run('confluence.page.create', { spaceId: space.id, title: 'Release notes from the spoke', body: { format: 'markdown', value: '# Release notes\n\n- streamed uploads\n- *safe* retries' } }),
    '# Upload a file to the space\'s home page (multipart, streamed), then list what a label adds',
    `curl -s -X POST ${base}/v1/actions/confluence.attachment.upload/execute -H "Authorization: Bearer ${invoker}" -F 'input=${JSON.stringify({ spaceId: space.id, containerId: space.homepageId ?? '1' })}' -F 'file=@package.json'`,
    run('confluence.label.add', { contentId: space.homepageId ?? '1', labels: ['from-the-spoke'] }),
    '# Licences (docs/licences.md): seats in use, then what reclaiming 30-day-inactive seats would do (dry run)',
    run('confluence.license.usage', {}),
    run('confluence.license.reclaim', { inactiveDays: 30, groups: [group.id] }),
    '# Any action can run as a job',
    run('confluence.space.list', { limit: 5 }, 'async'),
    '# MCP (docs/mcp.md): the same actions as tools for AI agents, with the MCP Inspector CLI',
    `npx @modelcontextprotocol/inspector --cli ${base}/mcp --transport http --header "Authorization: Bearer ${invoker}" --method tools/list`,
    `npx @modelcontextprotocol/inspector --cli ${base}/mcp --transport http --header "Authorization: Bearer ${invoker}" --method tools/call --tool-name confluence_page_get --tool-arg 'pageId="${space.homepageId ?? '1'}"'`,
    '# The alias, its token status, and a connection test',
    `curl -s ${base}/v1/connections/confluence_cloud -H "Authorization: Bearer ${admin}"`,
    `curl -s -X POST ${base}/v1/connections/confluence_cloud/test -H "Authorization: Bearer ${admin}"`,
    ''
  ]
  process.stdout.write(lines.join('\n') + '\n')
}

sandbox().catch((err: Error) => {
  process.stderr.write(`Sandbox failed to start: ${err.message}\n`)
  process.exit(1)
})
