// The scope tables of docs/going-live.md are generated from actions/*.json: this fails when they drift
// (fix: `npx tsx scripts/scope-tables.ts`). It also checks the naming rule that sorts scopes into classic
// and granular against every scope the actions and the shipped alias files actually use.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { DOC, readActions, renderScopeBlock, withFreshBlock } from '../../scripts/scope-tables'
import { actionNeeds, scopeKind, setKind } from '../../src/connections/scopes'

const actions = readActions()

it('docs/going-live.md holds the tables the action files produce (stale? run `npm run docs:actions`)', () => {
  const doc = readFileSync(DOC, 'utf8')
  if (withFreshBlock(doc, actions) !== doc) throw new Error('docs/going-live.md: the scope tables are stale; run `npm run docs:actions`')
  expect(doc).toContain(renderScopeBlock(actions))
})

it('a changed action file changes the tables (the check has teeth)', () => {
  const changed = actions.map(a => a.id === 'confluence.page.get' ? { ...a, scopes: [['read:page:confluence', 'read:content.metadata:confluence']] } : a)
  expect(withFreshBlock(readFileSync(DOC, 'utf8'), changed)).not.toBe(readFileSync(DOC, 'utf8'))
})

it('every scope used is classic, granular or a known platform scope, by its name alone', () => {
  const fromFiles = readdirSync(join(__dirname, '../../connections')).flatMap(f =>
    (JSON.parse(readFileSync(join(__dirname, '../../connections', f), 'utf8')).credential?.scopes ?? []) as string[])
  const used = new Set([...actions.flatMap(a => (a.scopes ?? []).flat()), ...fromFiles])
  const kinds = Object.fromEntries([...used].map(s => [s, scopeKind(s)]))
  for (const [scope, kind] of Object.entries(kinds)) expect([scope, kind]).not.toEqual([scope, 'unknown'])
  // The rule against what Atlassian calls them (classic: the v1 "Current" scopes; granular: the rest).
  for (const s of ['search:confluence', 'read:confluence-user', 'read:confluence-groups', 'write:confluence-groups', 'read:confluence-content.all', 'ace:confluence']) expect(scopeKind(s)).toBe('classic')
  for (const s of ['read:page:confluence', 'read:content-details:confluence', 'read:content.metadata:confluence', 'write:group:confluence', 'readonly:content.attachment:confluence', 'read:space.permission:confluence']) expect(scopeKind(s)).toBe('granular')
  for (const s of ['offline_access', 'read:me', 'read:account']) expect(scopeKind(s)).toBe('platform')
})

it('sets: one family (the crawl: granular only), or none (site list)', () => {
  const kinds = Object.fromEntries(actions.map(a => [a.id, (a.scopes ?? []).map(setKind)]))
  expect(kinds['confluence.group.member.add']).toEqual(['classic', 'granular'])
  expect(kinds['confluence.content.crawl']).toEqual(['granular'])
  expect(kinds['confluence.site.list']).toEqual(['none'])
})

it('actionNeeds picks the set closest to the grant', () => {
  const [add] = actionNeeds(['write:group:confluence', 'read:user:confluence'], actions.filter(a => a.id === 'confluence.group.member.add'))
  expect(add.missing).toEqual(['read:group:confluence'])
  const [site] = actionNeeds([], actions.filter(a => a.id === 'confluence.site.list'))
  expect(site.missing).toEqual([])
})
