import { effectiveReadAccess, Reader } from '../src/permissions'
import { buildDirectory, SiteData, sizeSpec } from '../src/seed'

describe('simulator: seeded data', () => {
  const site = (seed: number, pages: number): SiteData => {
    const size = sizeSpec(pages)
    return new SiteData(1, 'cloud', seed, buildDirectory(seed, size.users), size)
  }

  it('is deterministic for a seed and differs across seeds', () => {
    const [a, b, c] = [site(5, 2000), site(5, 2000), site(6, 2000)]
    const fingerprint = (s: SiteData): string => JSON.stringify([
      Array.from({ length: 50 }, (_, i) => s.title(i * 37)), [...s.restrictions.keys()], Array.from(s.parent.slice(0, 500)),
      s.groups.map((g) => [g.id, [...g.members]]), s.spaces.map((x) => [x.key, x.read])
    ])
    expect(fingerprint(a)).toBe(fingerprint(b))
    expect(fingerprint(a)).not.toBe(fingerprint(c))
  })

  it('has users with hidden emails, managed users, restrictions and trees of depth', () => {
    const s = site(9, 3000)
    expect(s.users.some((u) => !u.emailVisible && u.email)).toBe(true)
    expect(s.users.some((u) => u.managed) && s.users.some((u) => !u.managed)).toBe(true)
    expect(s.restrictions.size).toBeGreaterThan(20)
    expect(Math.max(...Array.from({ length: s.pageCount }, (_, c) => s.ancestors(c).length))).toBeGreaterThanOrEqual(4)
  })

  it('makes the effective read access the exact set of readers', () => {
    const s = site(3, 1500)
    for (let c = 0; c < s.total; c += 7) {
      const access = effectiveReadAccess(s, c)
      const groups = new Set(access.groups.map((g) => g.groupId))
      for (const u of s.users) {
        const listed = access.users.includes(u.accountId) || s.groups.some((g) => groups.has(g.id) && g.members.has(u.index))
        expect(new Reader(s, u.index).canRead(c)).toBe(listed)
      }
    }
  })
})
