import { compileTemplate, TemplateError, TemplateValueError, type TemplateScope } from '../../src/actions/template'

const site = { url: 'https://acme.atlassian.net', cloudId: 'c1' }
const scope = (over: Partial<TemplateScope> = {}): TemplateScope => ({ input: {}, connection: { alias: 'a', site }, ...over })

describe('template expressions', () => {
  it('keeps the type of a whole-string lookup and reads nested paths', () => {
    const t = compileTemplate({ n: '{{input.limit}}', b: '{{input.flag}}', deep: '{{input.a.b-c.0}}' }, 't')
    expect(t(scope({ input: { limit: 25, flag: false, a: { 'b-c': ['x'] } } }))).toEqual({ n: 25, b: false, deep: 'x' })
  })

  it('leaves out keys whose value is absent (conditional inclusion)', () => {
    const t = compileTemplate({ status: '{{input.status}}', title: '{{input.title}}' }, 't')
    expect(t(scope({ input: { title: 'T' } }))).toEqual({ title: 'T' })
  })

  it('falls back with ?? past absent and null values, to literals too', () => {
    const t = compileTemplate('{{input.a ?? input.b ?? \'dflt\'}}', 't')
    expect(t(scope({ input: { b: 2 } }))).toBe(2)
    expect(t(scope({ input: { a: null } }))).toBe('dflt')
    expect(compileTemplate('{{input.a ?? null}}', 't')(scope())).toBeNull()
    expect(compileTemplate('{{input.a ?? 0}}', 't')(scope())).toBe(0)
  })

  it('interpolates strings, encoding path values, and drops the string when a part is absent', () => {
    const t = compileTemplate('/wiki/api/v2/pages/{{input.id}}', 'p', { encode: encodeURIComponent })
    expect(t(scope({ input: { id: '12/../3?x' } }))).toBe('/wiki/api/v2/pages/12%2F..%2F3%3Fx')
    expect(t(scope())).toBeUndefined()
  })

  it('applies filters per alternative; absent stays absent through filters', () => {
    expect(compileTemplate('{{input.e | emptyToNull ?? null}}', 't')(scope({ input: { e: '' } }))).toBeNull()
    expect(compileTemplate('{{input.e | emptyToNull ?? null}}', 't')(scope({ input: { e: 'a@b.c' } }))).toBe('a@b.c')
    expect(compileTemplate('{{input.n | string}}', 't')(scope({ input: { n: 42 } }))).toBe('42')
    expect(compileTemplate('{{input.a | omitNull}}', 't')(scope({ input: { a: null } }))).toBeUndefined()
    expect(compileTemplate({ a: '{{input.a | omitNull}}' }, 't')(scope({ input: { a: null } }))).toEqual({})
    expect(compileTemplate("{{input.s | eq:'active' ?? input.t | eq:'known'}}", 't')(scope({ input: { t: 'known' } }))).toBe(true)
    expect(compileTemplate("{{input.k | join:';'}}", 't')(scope({ input: { k: ['a', 'b'] } }))).toBe('a;b')
    expect(compileTemplate('{{input.k | join}}', 't')(scope({ input: { k: [] } }))).toBeUndefined()
  })

  it('builds absolute wiki URLs from the site and relative links', () => {
    const t = compileTemplate('{{input.u | wikiUrl}}', 't')
    expect(t(scope({ input: { u: '/spaces/K/pages/1/T' } }))).toBe('https://acme.atlassian.net/wiki/spaces/K/pages/1/T')
    expect(t(scope({ input: { u: '/wiki/x' } }))).toBe('https://acme.atlassian.net/wiki/x')
    expect(t(scope({ input: { u: 'https://other/x' } }))).toBe('https://other/x')
    expect(t(scope({ input: { u: 'relative' } }))).toBeUndefined()
    // Always a valid RFC 3986 URI, and only http(s): Confluence's links are free text in its spec.
    expect(t(scope({ input: { u: '/a b|c^[x]/9`%?q=1|2#h#i' } }))).toBe('https://acme.atlassian.net/wiki/a%20b%7Cc%5E%5Bx%5D/9%60%25?q=1%7C2#h%23i')
    expect(t(scope({ input: { u: 'javascript:alert(1)' } }))).toBeUndefined()
    expect(t(scope({ input: { u: 'https://' } }))).toBeUndefined()
    expect(t(scope({ input: { u: '' } }))).toBeUndefined()
  })

  it('records whether the compiled expressions read the site (wikiUrl, connection.site)', () => {
    const readsSite = (template: unknown): boolean => { const reads = { site: false }; compileTemplate(template, 't', { reads }); return reads.site }
    expect(readsSite({ a: '{{item.x | wikiUrl}}' })).toBe(true)
    expect(readsSite({ a: ['{{connection.site.url}}/x'] })).toBe(true)
    expect(readsSite({ a: '{{connection}}' })).toBe(true)
    expect(readsSite({ a: '{{item.x}}', b: '{{connection.alias}}', c: 'text about connection.site | wikiUrl' })).toBe(false)
  })

  it('maps lists with $each (item and index in scope) and chooses with $if', () => {
    const t = compileTemplate({
      list: { $each: '{{input.items}}', to: { id: '{{item.id | string}}', at: '{{index}}' } },
      body: { $if: '{{input.fmt}}', then: { format: '{{input.fmt}}' } },
      other: { $if: '{{input.fmt}}', then: 1, else: 2 }
    }, 't')
    expect(t(scope({ input: { items: [{ id: 1 }, { id: 2 }] } }))).toEqual({ list: [{ id: '1', at: 0 }, { id: '2', at: 1 }], other: 2 })
    expect(t(scope({ input: { items: [], fmt: 'storage' } }))).toEqual({ list: [], body: { format: 'storage' }, other: 1 })
    expect(() => t(scope({ input: { items: 'nope' } }))).toThrow(TemplateValueError)
  })

  it('treats a quoted ?? or | inside a literal as text', () => {
    expect(compileTemplate("{{input.x ?? 'a ?? b | c'}}", 't')(scope())).toBe('a ?? b | c')
  })

  it.each([
    ['{{ }}', /empty expression/],
    ['{{input.x | nope}}', /unknown filter "nope"/],
    ['{{input.x | eq}}', /needs an argument/],
    ['{{input.x | string:1}}', /takes no argument/],
    ['{{secrets.key}}', /"secrets" is not available/],
    ['{{input.x + 1}}', /bad path/],
    ['{{input.x ?? "dq"}}', /bad literal/],
    ['a {{input.x}} }}', /unbalanced/],
    [{ $map: '{{input.x}}' }, /unknown operator "\$map"/],
    [{ $each: 'input.x', to: 1 }, /\$each must be one/],
    [{ $if: '{{input.x}}' }, /\$if takes/]
  ])('rejects %j at compile time', (template, message) => {
    expect(() => compileTemplate(template, 'where')).toThrow(TemplateError)
    expect(() => compileTemplate(template, 'where')).toThrow(message)
  })

  it('limits roots (request templates cannot read the response)', () => {
    expect(() => compileTemplate('{{response.body}}', 'request.query', { roots: ['input', 'connection'] })).toThrow(/not available here/)
  })

  it('never reads inherited properties', () => {
    expect(compileTemplate('{{input.constructor}}', 't')(scope())).toBeUndefined()
    expect(compileTemplate('{{input.a.__proto__}}', 't')(scope({ input: { a: {} } }))).toBeUndefined()
  })
})
