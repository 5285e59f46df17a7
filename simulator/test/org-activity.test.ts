import { bucketOf, startSimulator, type Simulator } from '../src/index'
import { http } from './helpers'

describe('simulator: Organizations API licence fields', () => {
  let sim: Simulator
  beforeAll(async () => { sim = await startSimulator({ seed: 'org', size: { pages: 10, users: 600 }, sites: 2, orgUsersPageSize: 50 }) })
  afterAll(async () => { await sim.close() })

  const usersUrl = (): string => `${sim.url}/admin/v1/orgs/${sim.orgId}/users`
  const auth = (key = sim.adminApiKey): RequestInit => ({ headers: { authorization: `Bearer ${key}` } })

  it('refuses a wrong or missing org admin key (401)', async () => {
    expect((await http(usersUrl(), auth('wrong-key'))).status).toBe(401)
    expect((await http(usersUrl())).status).toBe(401)
  })

  it('pages every managed account with status, billing and per-product last_active, matching the ground truth', async () => {
    const items: any[] = []
    let next: string | undefined = usersUrl()
    let pages = 0
    while (next !== undefined) {
      const res = await http(next, auth())
      expect(res.status).toBe(200)
      items.push(...res.body.data)
      next = res.body.links.next
      pages++
    }
    const managed = sim.data.users().filter(u => u.managed)
    expect(items.map(i => i.account_id)).toEqual(managed.map(u => u.accountId))
    expect(pages).toBe(Math.ceil(managed.length / 50))
    const unmanaged = sim.data.users().find(u => !u.managed) as { accountId: string }
    expect(sim.org.account(unmanaged.accountId)).toBeUndefined()

    const site1 = sim.sites()[0].url
    const truth = sim.org.usage({ asOf: sim.org.now })
    let seats = 0
    const statuses = new Set<string>()
    const buckets = new Set<string>()
    for (const item of items) {
      statuses.add(item.account_status)
      const acc = sim.org.account(item.account_id)
      expect(item.access_billable).toBe(acc?.billable)
      for (const p of item.product_access) expect(Object.keys(p).sort()).toEqual(p.last_active === undefined ? ['key', 'name', 'url'] : ['key', 'last_active', 'name', 'url'])
      const confluence = item.product_access.find((p: any) => p.key === 'confluence' && p.url === site1)
      if (confluence === undefined) continue
      if (item.access_billable === true) {
        seats++
        buckets.add(bucketOf(confluence.last_active === undefined ? null : Date.parse(confluence.last_active), sim.org.now))
      }
    }
    expect(seats).toBe(truth.seatsInUse)
    expect(statuses).toEqual(new Set(['active', 'inactive', 'closed']))
    expect(buckets).toEqual(new Set(['last30', 'last60', 'last90', 'older', 'never']))
    expect(Object.values(truth.seatsByActivity).reduce((a, b) => a + b, 0)).toBe(truth.seatsInUse)
  })

  it('is deterministic for a seed', async () => {
    const again = await startSimulator({ seed: 'org', size: { pages: 10, users: 600 }, sites: 2 })
    try {
      const a = sim.org.usage({ asOf: sim.org.now })
      const b = again.org.usage({ asOf: again.org.now })
      expect({ ...b, asOf: '', accounts: undefined }).toEqual({ ...a, asOf: '', accounts: undefined })
    } finally { await again.close() }
  })
})
