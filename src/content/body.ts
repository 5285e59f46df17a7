// The body of a content write as Confluence takes it: storage (as given), Atlassian Document Format (a JSON
// document, given as an object or its JSON text), or Markdown converted to storage (markdown.ts).
import { InputInvalidError } from '../errors/errors'
import { markdownToStorage } from './markdown'

export type BodyFormatIn = 'storage' | 'atlas_doc_format' | 'markdown'
export interface BodyInput { format: BodyFormatIn, value: unknown }
export interface WriteBody { representation: 'storage' | 'atlas_doc_format', value: string }

export function writeBody (body: BodyInput, at = '/body'): WriteBody {
  if (body.format === 'markdown') return { representation: 'storage', value: markdownToStorage(String(body.value)) }
  if (body.format === 'storage') return { representation: 'storage', value: String(body.value) }
  let doc: unknown = body.value
  if (typeof doc === 'string') {
    try { doc = JSON.parse(doc) } catch { doc = undefined }
  }
  const d = doc as { type?: unknown, content?: unknown } | undefined
  if (d === undefined || d === null || typeof d !== 'object' || d.type !== 'doc' || !Array.isArray(d.content)) {
    throw new InputInvalidError('An atlas_doc_format body must be an ADF document: { "type": "doc", "version": 1, "content": [...] }', {
      errors: [{ path: `${at}/value`, message: 'must be an ADF document (type "doc" with a content list)', keyword: 'adf', params: {} }]
    })
  }
  return { representation: 'atlas_doc_format', value: JSON.stringify(doc) }
}
