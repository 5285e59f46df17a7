// Markdown → storage (src/content/markdown.ts), the managed-space check, and the spec copy the writes are
// checked against. The property tests: for any input, the storage is well-formed XHTML as the simulator (and
// Confluence) requires, made only of the elements and attributes the converter writes, so no raw HTML from the
// input survives; code blocks come back byte for byte out of their CDATA sections, whatever they contain.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { storageProblem } from 'confluence-cloud-simulator'
import { cdata, markdownToStorage } from '../../src/content/markdown'
import { writeBody } from '../../src/content/body'
import { assertSpaceManaged } from '../../src/content/managed-spaces'
import { specProblem } from '../../src/content/write-request'
import { OUTPUT, renderWriteRequests } from '../helpers/write-request-schemas'

/** The elements and attributes the converter may write; anything else came from the input. */
const ELEMENTS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'a', 'strong', 'em', 's', 'code', 'blockquote', 'hr', 'br',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ac:structured-macro', 'ac:parameter', 'ac:plain-text-body', 'ac:image', 'ri:url'])
const ATTRIBUTES = new Set(['href', 'style', 'start', 'ac:name', 'ac:alt', 'ri:value'])

/** The tags of a storage text outside CDATA sections: name and attribute names/values. */
function tags (storage: string): Array<{ name: string, attrs: Array<[string, string]> }> {
  const outside = storage.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')
  return [...outside.matchAll(/<\/?([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")*)\s*\/?>/g)].map(m => ({
    name: m[1],
    attrs: [...m[2].matchAll(/([\w:.-]+)="([^"]*)"/g)].map(a => [a[1], a[2]] as [string, string])
  }))
}

function onlyConverterMarkup (storage: string): void {
  for (const t of tags(storage)) {
    expect(ELEMENTS.has(t.name)).toBe(true)
    for (const [name, value] of t.attrs) {
      expect(ATTRIBUTES.has(name)).toBe(true)
      if (name === 'href' || name === 'ri:value') expect(value).toMatch(/^(https?:\/\/|mailto:)/i)
      if (name === 'style') expect(value).toMatch(/^text-align:(left|center|right)$/)
    }
  }
}

const HTML_BITS = ['<script>alert(1)</script>', '<b onclick="x()">', '</p>', '<img src=x onerror=alert(1)>', '<![CDATA[', ']]>', '<!-- c -->', '<a href="javascript:x">j</a>',
  '<div>', '&', '&amp;', '&bogus;', '"', "'", '<', '>', '<ac:structured-macro ac:name="html">', '<?xml?>', '\u0000', '\u0007', '\uD800']
const MD_BITS = ['# ', '## ', '- ', '1. ', '> ', '```\n', '```js\n', '    ', '| a | b |\n|---|---|\n', '**', '*', '~~', '`', '[x](https://e.example/)', '![i](https://e.example/i.png)',
  '[y](javascript:alert(1))', '![j](data:text/html,x)', '<https://auto.example>', '\n', '\n\n', '---\n', 'text', ' ']
const markdownish = fc.array(fc.oneof(fc.constantFrom(...HTML_BITS, ...MD_BITS), fc.string(), fc.fullUnicodeString({ maxLength: 5 })), { maxLength: 40 }).map(parts => parts.join(''))

describe('markdown → storage', () => {
  it('renders every element the issue names', () => {
    const fixture = readFileSync(join(__dirname, '../fixtures/markdown/every-element.md'), 'utf8')
    const out = markdownToStorage(fixture)
    expect(storageProblem(out)).toBeUndefined()
    onlyConverterMarkup(out)
    for (const part of ['<h1>Heading one</h1>', '<h6>Heading six</h6>', '<ul>', '<ol>', '<table>', '<th style="text-align:center">centre</th>', '<a href="https://example.com/auto">',
      '<ac:image ac:alt="diagram"><ri:url ri:value="https://example.com/diagram.png" /></ac:image>', '<ac:parameter ac:name="language">js</ac:parameter>',
      '&lt;script&gt;', '&lt;iframe', '©', '<s>struck</s>', '<code>inline code</code>', '<blockquote>', '<hr />']) {
      expect(out).toContain(part)
    }
    // the image with a javascript: URL becomes its alt text; the link with one is not a link
    expect(out).not.toMatch(/(href|ri:value)="javascript/i)
    expect(out).toContain('not a URL')
  })

  it('keeps raw HTML out: any input gives well-formed storage made only of the converter\'s own markup', () => {
    fc.assert(fc.property(markdownish, (md) => {
      const out = markdownToStorage(md)
      expect(storageProblem(out)).toBeUndefined()
      onlyConverterMarkup(out)
    }), { numRuns: 2000 })
  })

  it('a code block comes back byte for byte from its CDATA sections, whatever it holds', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(']]>', ']]', ']', '>', '<![CDATA[', '&', '<x>'), fc.string({ maxLength: 4 }).filter(s => !s.includes('`') && !/[\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.test(s))), { maxLength: 20 }), (parts) => {
      const code = parts.join('').replace(/\n/g, ' ')
      const out = markdownToStorage('```\n' + code + '\n```')
      expect(storageProblem(out)).toBeUndefined()
      const body = /<ac:plain-text-body>([\s\S]*)<\/ac:plain-text-body>/.exec(out)![1]
      const back = [...body.matchAll(/<!\[CDATA\[([\s\S]*?)\]\]>/g)].map(m => m[1]).join('')
      expect(back).toBe(code)
    }), { numRuns: 1000 })
    expect(cdata('a]]>b')).toBe('<![CDATA[a]]]]><![CDATA[>b]]>')
  })

  it('ADF bodies must be documents; storage is sent as given', () => {
    expect(writeBody({ format: 'atlas_doc_format', value: { type: 'doc', version: 1, content: [] } })).toEqual({ representation: 'atlas_doc_format', value: '{"type":"doc","version":1,"content":[]}' })
    expect(() => writeBody({ format: 'atlas_doc_format', value: '[1]' })).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }))
    expect(writeBody({ format: 'storage', value: '<p>x</p>' })).toEqual({ representation: 'storage', value: '<p>x</p>' })
  })
})

describe('assertSpaceManaged', () => {
  it('passes a managed space and refuses any other, or none, with SPACE_NOT_MANAGED', () => {
    const alias = { resolved: 'eng', managedSpaces: [{ spaceId: '77', key: 'ENG' }] }
    expect(assertSpaceManaged(alias, '77')).toEqual({ spaceId: '77', key: 'ENG' })
    expect(assertSpaceManaged(alias, 77)).toEqual({ spaceId: '77', key: 'ENG' })
    for (const s of ['78', undefined, '']) expect(() => assertSpaceManaged(alias, s)).toThrow(expect.objectContaining({ code: 'SPACE_NOT_MANAGED', statusCode: 403 }))
    expect(() => assertSpaceManaged({ id: 'eng' }, '77')).toThrow(expect.objectContaining({ code: 'SPACE_NOT_MANAGED' }))
  })
})

describe('the spec copy of the write requests', () => {
  it('equals what the vendored specs give (regenerate: npx tsx test/helpers/write-request-schemas.ts)', () => {
    expect(readFileSync(OUTPUT, 'utf8')).toBe(renderWriteRequests())
  })

  it('refuses what the spec refuses', () => {
    expect(specProblem({ operation: 'createPage', method: 'POST', path: '/wiki/api/v2/pages', body: { spaceId: '1', title: 't', body: { representation: 'storage', value: '<p/>' } } })).toBeUndefined()
    expect(specProblem({ operation: 'createPage', method: 'POST', path: '/wiki/api/v2/pages', body: { title: 't' } })).toMatch(/spaceId/)
    expect(specProblem({ operation: 'updatePage', method: 'PUT', path: '/wiki/api/v2/pages/1', body: { id: '1', status: 'current', title: 't', body: {} } })).toMatch(/version/)
    expect(specProblem({ operation: 'deletePage', method: 'DELETE', path: '/wiki/api/v2/pages/1', query: { purge: 'yes' } })).toMatch(/purge/)
    expect(specProblem({ operation: 'deletePage', method: 'POST', path: '/wiki/api/v2/pages/1' })).toMatch(/DELETE/)
    expect(specProblem({ operation: 'addLabelsToContent', method: 'POST', path: '/wiki/rest/api/content/1/label', body: [{ name: 'x' }] })).toMatch(/prefix/)
  })
})
