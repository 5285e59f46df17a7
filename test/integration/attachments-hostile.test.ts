// Malformed multipart execute requests answer problems, never a 500, and leave no spooled file behind: no
// boundary, a body cut short, a second file, a file part under another name, a part the envelope does not
// know, input that is not JSON, and a file to an action that takes none. In process (app.inject), real Redis.
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTestSpoke, bearer, type TestSpoke } from '../helpers/spoke'

let t: TestSpoke
beforeAll(async () => { t = await buildTestSpoke() })
afterAll(async () => { await t?.close() })

const B = 'xYzBoundary'
const part = (name: string, value: string, extra = ''): string => `--${B}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n\r\n${value}\r\n`
const file = (name = 'file', filename = 'a.txt'): string => part(name, 'bytes', `; filename="${filename}"`)
const end = `--${B}--\r\n`
const input = part('input', JSON.stringify({ spaceId: '1', containerId: '2' }))

async function send (payload: string, contentType = `multipart/form-data; boundary=${B}`, action = 'confluence.attachment.upload'): Promise<{ status: number, code?: string }> {
  const res = await t.app.inject({ method: 'POST', url: `/v1/actions/${action}/execute`, headers: { ...bearer(t.keys.invoker), 'content-type': contentType }, payload })
  return { status: res.statusCode, code: (JSON.parse(res.body) as { code?: string }).code }
}

const spooled = (): string[] => { try { return readdirSync(join(tmpdir(), 'confluence-spoke-uploads')) } catch { return [] } }

it.each([
  ['no boundary', input + file() + end, 'multipart/form-data'],
  ['a body cut short', input + `--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nbyt`, undefined],
  ['two files', input + file() + file('file', 'b.txt') + end, undefined],
  ['a file part under another name', input + file('upload') + end, undefined],
  ['a part the envelope does not know', input + part('extra', 'x') + file() + end, undefined],
  ['input that is not JSON', part('input', '{nope') + file() + end, undefined]
])('%s: a 4xx problem, nothing spooled left', async (_name, payload, contentType) => {
  const before = spooled().length
  const res = await send(payload, contentType)
  expect(res.status).toBeGreaterThanOrEqual(400)
  expect(res.status).toBeLessThan(500)
  expect(res.code).toBeDefined()
  expect(spooled().length).toBeLessThanOrEqual(before)
})

it('a file to an action that takes none: 415 UNSUPPORTED_MEDIA_TYPE, like any body that is not JSON', async () => {
  expect(await send(input + file() + end, undefined, 'confluence.page.get')).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
})
