// The NDJSON file a large licence report goes to: `SPOKE_DATA_DIR/licence/<path>`, written to a
// `.partial` file and renamed on close, so a reader never sees half a report and a retried job starts the
// file afresh. Paths that leave the licence directory (`..`, absolute, a symlink out) are refused.
import type { WriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { once } from 'node:events'
import { InputInvalidError } from '../errors/errors'
import { openPrivateFile, UnsafeSinkPathError } from '../lib/private-file'

export interface FileSink {
  write: (records: unknown[]) => Promise<void>
  /** Renames the finished file into place; answers where it is and what it holds. */
  close: () => Promise<{ path: string, records: number, bytes: number }>
  abort: () => Promise<void>
}

export const LICENCE_DIR = 'licence'

function refuse (path: string, why = `must stay inside the ${LICENCE_DIR} directory`): never {
  throw new InputInvalidError(`sink.path must name a file inside SPOKE_DATA_DIR/${LICENCE_DIR}/ (got "${path.slice(0, 200)}"): ${why}`, {
    errors: [{ path: '/sink/path', message: why, keyword: 'sinkPath', params: {} }]
  })
}

/** `path` relative to `<dataDir>/licence/`. */
export function licenceFilePath (dataDir: string, path: string): string {
  const root = resolve(dataDir, LICENCE_DIR)
  const target = resolve(root, path)
  const rel = relative(root, target)
  if (path.includes('\0') || rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) refuse(path)
  return join(root, rel)
}

export async function openFileSink (dataDir: string, path: string): Promise<FileSink> {
  const file = licenceFilePath(dataDir, path)
  const partial = `${file}.partial`
  // 0600 in 0700 folders, never through a symlink (lib/private-file); cut back only once the file is checked.
  // The rename on close replaces whatever name sits at `file` (a link there is replaced, not followed).
  let out: WriteStream
  try {
    const handle = await openPrivateFile(resolve(dataDir, LICENCE_DIR), partial)
    await handle.truncate(0)
    out = handle.createWriteStream()
  } catch (err) {
    if (err instanceof UnsafeSinkPathError) refuse(path, err.message)
    throw err
  }
  let records = 0
  let bytes = 0
  return {
    write: async (items) => {
      if (items.length === 0) return
      const text = items.map(r => JSON.stringify(r)).join('\n') + '\n'
      records += items.length
      bytes += Buffer.byteLength(text)
      if (!out.write(text)) await once(out, 'drain')
    },
    close: async () => {
      out.end()
      await once(out, 'finish')
      await rename(partial, file)
      return { path: relative(resolve(dataDir, LICENCE_DIR), file), records, bytes }
    },
    abort: async () => {
      out.destroy()
      await rm(partial, { force: true })
    }
  }
}
