// Managed spaces of an alias: kept in the alias document (PUT / GET), inherited by a child alias, picked in the
// console from the site's live spaces ("Confluence Spaces"), kept when the alias form is saved, and enforced on
// the resolved (child) alias by the content writes.
import { startSimulator, type Simulator } from 'confluence-cloud-simulator'
import { csrfToken } from '../../src/lib/sessions'
import { buildTestSpoke, type TestSpoke } from '../helpers/spoke'
import { connectSimulatorAlias, http, simulatorEnv } from '../helpers/connect'
import { closeCheckingContract } from '../helpers/contract-check'

let sim: Simulator
let t: TestSpoke
let spaces: Array<{ id: string, key: string }>

beforeAll(async () => {
  sim = await startSimulator({ seed: 'managed-spaces', size: { pages: 30, spaces: 3, users: 12 } })
  t = await buildTestSpoke(simulatorEnv(sim))
  await connectSimulatorAlias(t, sim, { grant: 'client_credentials' })
  spaces = sim.data.spaces()
})
afterAll(() => closeCheckingContract(sim, t))

const HTML = { accept: 'text/html,application/xhtml+xml' }

async function session (): Promise<{ cookie: string, csrf: string }> {
  const res = await t.app.inject({ method: 'POST', url: '/admin/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ apiKey: t.keys.admin, next: '/admin' }).toString() })
  const cookie = String(res.headers['set-cookie']).split(';')[0]
  return { cookie, csrf: csrfToken(cookie.split('=')[1]) }
}

const view = async (alias = 'confluence_cloud'): Promise<any> => (await http(t, 'GET', `/v1/connections/${alias}`, { key: t.keys.admin })).json()

it('the console picker lists the site\'s spaces and saves the Selected list; the alias form keeps it', async () => {
  const { cookie, csrf } = await session()
  const page = await t.app.inject({ method: 'GET', url: '/admin/aliases/confluence_cloud/spaces', headers: { ...HTML, cookie } })
  expect(page.statusCode).toBe(200)
  for (const s of spaces) expect(page.body).toContain(`<option value="${s.id}">${s.key}`)

  const post = (op: string, field: string, ids: string[]): Promise<{ statusCode: number }> => t.app.inject({
    method: 'POST', url: '/admin/aliases/confluence_cloud/spaces', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams([['_csrf', csrf], ['op', op], ...ids.map((id): [string, string] => [field, id])]).toString()
  })
  expect((await post('add', 'add', [spaces[0].id, spaces[1].id, '999999'])).statusCode).toBe(303)
  expect((await view()).managedSpaces).toEqual([{ spaceId: spaces[0].id, key: spaces[0].key }, { spaceId: spaces[1].id, key: spaces[1].key }])
  expect((await post('remove', 'remove', [spaces[1].id])).statusCode).toBe(303)
  expect((await view()).managedSpaces).toEqual([{ spaceId: spaces[0].id, key: spaces[0].key }])

  // Saving the alias form (a rename) keeps the managed spaces.
  const form = await t.app.inject({ method: 'GET', url: '/admin/aliases/confluence_cloud/edit', headers: { ...HTML, cookie } })
  expect(form.statusCode).toBe(200)
  const fields = new URLSearchParams({ _csrf: csrf, name: 'Renamed', grant: 'oauth2_client_credentials', clientId: sim.clientId, scopeSet: 'custom', scopes: (await view()).credential.scopes.join('\n'), connectionUrl: `${sim.url}/`, cloudId: sim.defaultCloudId, tokenUrl: `${sim.url}/oauth/token` })
  const saved = await t.app.inject({ method: 'POST', url: '/admin/aliases/confluence_cloud/edit', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: fields.toString() })
  expect(saved.statusCode).toBe(303)
  expect(await view()).toMatchObject({ name: 'Renamed', managedSpaces: [{ spaceId: spaces[0].id }] })
})

it('a child alias inherits the parent\'s managed spaces unless it names its own; writes follow the resolved alias', async () => {
  // (the parent manages spaces[0], saved in the console by the test above)
  expect((await view()).managedSpaces).toEqual([{ spaceId: spaces[0].id, key: spaces[0].key }])
  const child = await http(t, 'PUT', '/v1/connections/child', { key: t.keys.admin, body: { parent: 'confluence_cloud', active: true, managedSpaces: [{ spaceId: spaces[2].id }] } })
  expect([200, 201]).toContain(child.status)
  const exec = async (spaceId: string): Promise<any> => (await http(t, 'POST', '/v1/actions/confluence.page.create/execute', { key: t.keys.invoker, body: { connection: 'confluence_cloud', input: { spaceId, title: 'x', body: { format: 'storage', value: '<p>x</p>' }, dryRun: true } } })).json()
  // the request names the parent; its active child serves it, with the child's own managed spaces
  expect(await exec(spaces[2].id)).toMatchObject({ output: { dryRun: true }, meta: { connection: { resolved: 'child' } } })
  expect(await exec(spaces[0].id)).toMatchObject({ code: 'SPACE_NOT_MANAGED' })
  await http(t, 'PUT', '/v1/connections/child', { key: t.keys.admin, body: { parent: 'confluence_cloud', active: true } })
  expect(await exec(spaces[0].id)).toMatchObject({ output: { dryRun: true } })
  await http(t, 'DELETE', '/v1/connections/child', { key: t.keys.admin })
})
