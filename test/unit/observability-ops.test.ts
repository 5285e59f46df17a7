// The ops files stay true to the code: the Prometheus rules parse and have the shape promtool expects
// (promtool itself is not installable here), and every metric the rules and the Grafana dashboard name is
// one the spoke registers. Labels: only the bounded ones (never an account id, a page id, a raw path).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { createMetrics } from '../../src/lib/metrics'
import { createJobMetrics } from '../../src/jobs/job-metrics'
import { routeTemplate } from '../../src/confluence/client'
import { statusClass } from '../../src/lib/metrics-spoke'

const root = join(__dirname, '..', '..')

/** Every metric name the spoke registers (histograms also as _bucket/_sum/_count), and their label names. */
function registered (): Map<string, string[]> {
  const m = createMetrics()
  createJobMetrics(m.registry, []) // the queue gauge and job counters, as JobService adds them
  const out = new Map<string, string[]>()
  for (const metric of m.registry.getMetricsAsArray()) {
    const { name, labelNames } = metric as unknown as { name: string, labelNames: string[] }
    out.set(name, labelNames ?? [])
    if ((metric as unknown as { type?: string }).constructor.name === 'Histogram') {
      for (const s of ['_bucket', '_sum', '_count']) out.set(name + s, [...(labelNames ?? []), ...(s === '_bucket' ? ['le'] : [])])
    }
  }
  return out
}

/** `spoke_*` metric names in a PromQL expression, each with the label names its selector uses. */
function referenced (expr: string): Array<{ name: string, labels: string[] }> {
  const found: Array<{ name: string, labels: string[] }> = []
  for (const m of expr.matchAll(/\b(spoke_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
    const labels = m[3] === undefined ? [] : [...m[3].matchAll(/([a-z_]+)\s*(=~|!=|!~|=)/g)].map(l => l[1])
    found.push({ name: m[1], labels })
  }
  return found
}

function balanced (expr: string): boolean {
  const open: string[] = []
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' }
  let inString = false
  for (const c of expr) {
    if (c === '"') inString = !inString
    if (inString) continue
    if ('([{'.includes(c)) open.push(c)
    else if (c in pairs && open.pop() !== pairs[c]) return false
  }
  return open.length === 0 && !inString
}

const known = registered()

describe('ops/prometheus/alerts.yml', () => {
  const doc = parse(readFileSync(join(root, 'ops/prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ name: string, rules: any[] }> }
  const rules = doc.groups.flatMap(g => g.rules)

  it('has the rule-file shape promtool checks: named groups, unique alerts, expr, for, severity, summary', () => {
    expect(doc.groups.length).toBeGreaterThan(0)
    expect(new Set(doc.groups.map(g => g.name)).size).toBe(doc.groups.length)
    expect(new Set(rules.map(r => r.alert)).size).toBe(rules.length)
    for (const r of rules) {
      expect(Object.keys(r).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels'])
      expect(r.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/)
      expect(typeof r.expr).toBe('string')
      expect(balanced(r.expr)).toBe(true)
      expect(r.for).toMatch(/^\d+[smh]$/)
      expect(['page', 'ticket']).toContain(r.labels.severity)
      expect(typeof r.annotations.summary).toBe('string')
      expect(balanced(r.annotations.summary.replace(/\{\{[^}]*\}\}/g, ''))).toBe(true)
    }
  })

  it('covers the states that need a person', () => {
    const names = rules.map(r => r.alert)
    expect(names).toEqual(expect.arrayContaining(['SpokeAliasRefreshFailed', 'SpokeAliasNeedsConsent', 'SpokeSitePausedLong', 'SpokeJobsFailing', 'SpokeCrawlStalled']))
  })

  it('names only metrics and labels the spoke registers', () => {
    for (const r of rules) {
      const refs = referenced(r.expr)
      expect(refs.length).toBeGreaterThan(0)
      for (const ref of refs) {
        expect({ alert: r.alert, metric: ref.name, known: known.has(ref.name) }).toEqual({ alert: r.alert, metric: ref.name, known: true })
        for (const l of ref.labels) expect({ metric: ref.name, label: l, known: known.get(ref.name)!.includes(l) }).toEqual({ metric: ref.name, label: l, known: true })
      }
    }
  })
})

describe('ops/grafana/confluence-spoke.json', () => {
  const dash = JSON.parse(readFileSync(join(root, 'ops/grafana/confluence-spoke.json'), 'utf8'))
  const targets = (dash.panels as any[]).flatMap(p => (p.targets ?? []) as Array<{ expr: string }>)

  it('has a panel for each area: upstream, 429s, budget, tokens, queues, crawl', () => {
    const rows = (dash.panels as any[]).filter(p => p.type === 'row').map(p => p.title as string).join(' | ')
    for (const area of ['Upstream', '429', 'budget', 'Tokens', 'Queues', 'Crawl']) expect(rows).toContain(area)
    expect(new Set((dash.panels as any[]).map(p => p.id)).size).toBe(dash.panels.length)
  })

  it('queries only metrics and labels the spoke registers (besides Prometheus\'s job label)', () => {
    expect(targets.length).toBeGreaterThan(15)
    for (const t of targets) {
      expect(balanced(t.expr)).toBe(true)
      for (const ref of referenced(t.expr)) {
        expect({ metric: ref.name, known: known.has(ref.name) }).toEqual({ metric: ref.name, known: true })
        for (const l of ref.labels.filter(x => x !== 'job')) expect({ metric: ref.name, label: l, known: known.get(ref.name)!.includes(l) }).toEqual({ metric: ref.name, label: l, known: true })
      }
    }
  })
})

describe('metric conventions', () => {
  it('spoke metrics: counters end in _total, durations in _seconds, no unbounded label names', () => {
    const m = createMetrics()
    createJobMetrics(m.registry, [])
    for (const metric of m.registry.getMetricsAsArray()) {
      const { name, labelNames, constructor } = metric as unknown as { name: string, labelNames: string[], constructor: { name: string } }
      if (!name.startsWith('spoke_') || name.startsWith('spoke_process_') || name.startsWith('spoke_nodejs_')) continue
      if (constructor.name === 'Counter') expect(name).toMatch(/_total$/)
      if (/duration|wait|retry_after/.test(name)) expect(name).toMatch(/_seconds$/)
      for (const l of labelNames ?? []) expect(['account', 'account_id', 'page', 'page_id', 'path', 'url', 'token', 'job_id']).not.toContain(l)
    }
  })

  it('route templates hide ids, keys and the cloudId; status classes', () => {
    expect(routeTemplate({ method: 'GET', path: '/wiki/api/v2/pages/123456' })).toBe('GET /wiki/api/v2/pages/{id}')
    expect(routeTemplate({ method: 'GET', path: 'https://api.example/ex/confluence/c10d-1/wiki/rest/api/user?accountId=712020:abc' })).toBe('GET /wiki/rest/api/user')
    expect(routeTemplate({ method: 'PUT', path: '/wiki/rest/api/space/DOCS/property/~712020:5f1e' })).toBe('PUT /wiki/rest/api/space/{id}/property/{id}')
    expect(routeTemplate({ method: 'GET', path: '/oauth/token/accessible-resources' })).toBe('GET /oauth/token/accessible-resources')
    expect([200, 204, 301, 404, 429, 503, 99, 700].map(statusClass)).toEqual(['2xx', '2xx', '3xx', '4xx', '4xx', '5xx', '1xx', '5xx'])
  })
})
