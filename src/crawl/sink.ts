// Where records go. Each sink takes one batch per fully processed listing page and reports a position the
// checkpoint keeps; a resumed run hands that position back, so nothing written after the last checkpoint
// survives twice (the file is cut back to it) and nothing before it is written again.
import type { FileHandle } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { InputInvalidError } from '../errors/errors'
import { openPrivateFile, UnsafeSinkPathError } from '../lib/private-file'
import type { CrawlRecord } from './types'
import { postBatch, type WebhookOptions } from './webhook-sink'

export interface Sink {
  /** Writes the batch durably (file: flushed; webhook: acknowledged). */
  write: (records: CrawlRecord[]) => Promise<void>
  /** Opaque position to checkpoint after a write. */
  position: () => number
  close: () => Promise<void>
}

/** `path` relative to `<dataDir>/crawls/`; anything that escapes it is refused. */
export function crawlFilePath (dataDir: string, path: string): string {
  const root = resolve(dataDir, 'crawls')
  const target = resolve(root, path)
  const rel = relative(root, target)
  if (rel === '' || rel.startsWith('..') || rel.includes(`..${sep}`) || resolve(root, rel) !== target || path.includes('\0')) {
    throw new InputInvalidError(`sink.path must name a file inside SPOKE_DATA_DIR/crawls/ (got "${path.slice(0, 200)}")`, { errors: [{ path: '/sink/path', message: 'must stay inside the crawls directory', keyword: 'sinkPath', params: {} }] })
  }
  return join(root, rel)
}

/** NDJSON file, appended; `resumeAt` cuts it back to the last checkpointed length (0 = a new run starts it afresh). */
export async function openFileSink (dataDir: string, path: string, resumeAt: number): Promise<Sink> {
  const file = crawlFilePath(dataDir, path)
  // 0600 in 0700 folders, never through a symlink (lib/private-file): the export holds page bodies and ACLs
  let handle: FileHandle
  try {
    handle = await openPrivateFile(resolve(dataDir, 'crawls'), file)
  } catch (err) {
    if (err instanceof UnsafeSinkPathError) throw new InputInvalidError(`sink.path is refused: ${err.message}`, { errors: [{ path: '/sink/path', message: err.message, keyword: 'sinkPath', params: {} }] })
    throw err
  }
  await handle.truncate(resumeAt)
  let length = resumeAt
  return {
    write: async (records) => {
      if (records.length === 0) return
      const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n'
      const buf = Buffer.from(text)
      await handle.write(buf, 0, buf.length, length)
      await handle.datasync()
      length += buf.length
    },
    position: () => length,
    close: async () => { await handle.close() }
  }
}

/** Batches POSTed, signed like job callbacks; position = batches acknowledged (the receiver de-duplicates by recordId). */
export function openWebhookSink (opts: WebhookOptions, resumeAt: number): Sink {
  let sent = resumeAt
  // The position last handed to a checkpoint: the run may give its slot back to wait (and resume from the
  // checkpoint) only while nothing was acknowledged after it, or the resumed run would send batches again.
  let checkpointed = resumeAt
  return {
    write: async (records) => {
      for (let i = 0; i < records.length; i += opts.batchSize) {
        await postBatch(sent === checkpointed ? opts : { ...opts, holdMs: undefined }, { sequence: sent, records: records.slice(i, i + opts.batchSize) })
        sent++
      }
    },
    position: () => { checkpointed = sent; return sent },
    close: async () => {}
  }
}
