// Bodies for an index besides Confluence's storage XHTML, converted here (no extra request): plain text
// (html-to-text: block elements become line breaks, tables and lists stay readable, links keep their text
// only) and Markdown (turndown: headings, lists, emphasis, links, code). Confluence's own elements
// (`ac:` macros, `ri:` resource links) are not HTML: both converters keep the text inside them and drop the tags.
import { convert } from 'html-to-text'
import TurndownService from 'turndown'

export type BodyFormat = 'text' | 'markdown'

const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' })
// a macro's parameters are settings, not content (e.g. a code macro's language)
turndown.remove((node) => node.nodeName.toLowerCase() === 'ac:parameter')

/** CDATA sections (code macros, plain-text bodies) as escaped text: HTML parsers read them as comments and drop them. */
function uncdata (storage: string): string {
  return storage.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_, text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'))
}

/** Storage XHTML as plain text. */
export function storageToText (storage: string): string {
  return convert(uncdata(storage), {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'ac\\:parameter', format: 'skip' }
    ]
  }).trim()
}

/** Storage XHTML as Markdown. */
export function storageToMarkdown (storage: string): string {
  return turndown.turndown(uncdata(storage)).trim()
}

/** The record fields of a body: storage always, text and Markdown as asked. */
export function bodyFields (storage: string, formats: readonly BodyFormat[] | undefined): { body: { format: 'storage', value: string }, text?: string, markdown?: string } {
  return {
    body: { format: 'storage', value: storage },
    ...(formats?.includes('text') === true ? { text: storageToText(storage) } : {}),
    ...(formats?.includes('markdown') === true ? { markdown: storageToMarkdown(storage) } : {})
  }
}
