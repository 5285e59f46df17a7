// Markdown → Confluence storage format, with markdown-it (CommonMark + GFM tables and strikethrough).
// Raw HTML in the Markdown is never passed through: markdown-it runs with `html: false`, so `<script>` or
// `<b onclick=…>` in the input arrives as escaped text. What comes out is well-formed XHTML made only of the
// elements below: headings, paragraphs, lists, tables, links (http, https, mailto), emphasis, inline code,
// block quotes, rules, images by URL as <ac:image><ri:url/></ac:image>, and code blocks as Confluence's
// code macro with the code in CDATA (a `]]>` inside the code is split across two CDATA sections).
import MarkdownIt from 'markdown-it'

type Token = ReturnType<MarkdownIt['parse']>[number]
type Renderer = MarkdownIt['renderer']

/** Characters XML 1.0 does not allow (Confluence refuses a storage body holding them). */
const NOT_XML = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

const SAFE_URL = /^(https?:\/\/|mailto:)/i
/** Languages Confluence's code macro knows; anything else is shown without highlighting. */
const CODE_LANGUAGES = new Set(['actionscript3', 'applescript', 'bash', 'c#', 'cpp', 'css', 'coldfusion', 'delphi', 'diff', 'erl', 'groovy',
  'xml', 'java', 'jfx', 'js', 'php', 'perl', 'text', 'powershell', 'py', 'ruby', 'sql', 'sass', 'scala', 'vb', 'yml', 'go', 'kotlin', 'json', 'typescript', 'yaml'])
const LANGUAGE_ALIASES: Record<string, string> = { javascript: 'js', python: 'py', sh: 'bash', shell: 'bash', html: 'xml', ts: 'typescript', csharp: 'c#', 'c++': 'cpp', yml: 'yaml' }

export function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Text inside CDATA: every `]]>` split so the section never ends early. */
export function cdata (text: string): string {
  return `<![CDATA[${text.split(']]>').join(']]]]><![CDATA[>')}]]>`
}

function codeMacro (code: string, info: string): string {
  const asked = info.trim().split(/\s+/)[0]?.toLowerCase() ?? ''
  const lang = LANGUAGE_ALIASES[asked] ?? asked
  const param = CODE_LANGUAGES.has(lang) ? `<ac:parameter ac:name="language">${escapeXml(lang)}</ac:parameter>` : ''
  return `<ac:structured-macro ac:name="code">${param}<ac:plain-text-body>${cdata(code.replace(/\n$/, ''))}</ac:plain-text-body></ac:structured-macro>`
}

function createConverter (): MarkdownIt {
  const md = new MarkdownIt('default', { html: false, xhtmlOut: true, linkify: false, typographer: false, breaks: false })
  md.validateLink = (url) => SAFE_URL.test(url.trim())
  const rules = md.renderer.rules
  rules.fence = (tokens, i) => codeMacro(tokens[i].content, tokens[i].info)
  rules.code_block = (tokens, i) => codeMacro(tokens[i].content, '')
  rules.image = (tokens: Token[], i: number, options, env, self: Renderer) => {
    const token = tokens[i]
    const src = token.attrGet('src') ?? ''
    const alt = self.renderInlineAsText(token.children ?? [], options, env)
    return SAFE_URL.test(src) && !/^mailto:/i.test(src)
      ? `<ac:image ac:alt="${escapeXml(alt)}"><ri:url ri:value="${escapeXml(src)}" /></ac:image>`
      : escapeXml(alt)
  }
  // Links keep only their href (a title attribute is dropped); the link text is rendered as usual.
  rules.link_open = (tokens, i) => `<a href="${escapeXml(tokens[i].attrGet('href') ?? '')}">`
  return md
}

let converter: MarkdownIt | undefined

/** Confluence storage format for a Markdown text. */
export function markdownToStorage (markdown: string): string {
  converter ??= createConverter()
  return converter.render(markdown.replace(NOT_XML, '\uFFFD')).trim()
}

/** A storage or ADF text with the characters XML forbids replaced (so Confluence does not refuse the body). */
export function xmlSafe (text: string): string { return text.replace(NOT_XML, '\uFFFD') }
