// Files the spoke writes under SPOKE_DATA_DIR (crawl exports, licence reports, generated secrets): they hold
// page bodies, ACLs, e-mail addresses or keys, and the data directory may be shared with other programs (a
// downstream indexer on the same volume). So every sink opens its file here, the one way that cannot be
// redirected or read by others:
// - the folder is created 0700 and the file 0600, set explicitly after creation so the umask cannot widen them;
// - the folder's real path (symlinks resolved) must stay inside the sink's root directory;
// - the file itself is opened with O_NOFOLLOW: a symlink at the last component (to a file elsewhere, or a
//   dangling one that would create a file elsewhere) is refused, never followed;
// - what was opened must be a regular file with a single link (a planted hard link to another file, a FIFO
//   or a device is refused) — checked on the open descriptor, before anything is truncated or written.
import { constants, openSync, closeSync, fstatSync, fchmodSync, writeSync } from 'node:fs'
import { chmod, lstat, mkdir, open, realpath, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, relative, sep } from 'node:path'

export const PRIVATE_FILE_MODE = 0o600
export const PRIVATE_DIR_MODE = 0o700

/** Why a sink file was refused: the caller turns it into its own 400 problem (it names the input field). */
export class UnsafeSinkPathError extends Error {
  constructor (message: string) { super(message); this.name = 'UnsafeSinkPathError' }
}

// O_NONBLOCK: opening a FIFO planted at the path must fail (ENXIO) instead of hanging the worker; it changes
// nothing for a regular file.
const NO_FOLLOW = constants.O_NOFOLLOW | constants.O_NONBLOCK

function inside (root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep)
}

/**
 * Creates `dir` (and the folders between `root` and it) 0700, whatever the umask; existing ones are narrowed
 * too. Walked one folder at a time, so nothing is created through a symlinked folder that leads outside
 * `root` (a link that stays inside is followed).
 */
export async function ensurePrivateDir (root: string, dir: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: PRIVATE_DIR_MODE })
  const realRoot = await realpath(root)
  const rootStat = await lstat(root)
  if (rootStat.isDirectory() && (rootStat.mode & 0o777) !== PRIVATE_DIR_MODE) await chmod(root, PRIVATE_DIR_MODE)
  const rel = relative(root, dir)
  if (rel === '') return
  let at = root
  for (const step of rel.split(sep)) {
    at = join(at, step)
    const st = await lstat(at).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return undefined; throw err })
    if (st === undefined) {
      await mkdir(at, { mode: PRIVATE_DIR_MODE }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
      if (((await lstat(at)).mode & 0o777) !== PRIVATE_DIR_MODE) await chmod(at, PRIVATE_DIR_MODE)
    } else if (st.isSymbolicLink()) {
      // not ours to chmod; followed only while it stays inside the root
      if (!inside(realRoot, await realpath(at).catch(() => ''))) throw new UnsafeSinkPathError('the folder leads outside the sink directory through a symbolic link')
    } else if (!st.isDirectory()) {
      throw new UnsafeSinkPathError(`${step} is not a folder`)
    } else if ((st.mode & 0o777) !== PRIVATE_DIR_MODE) {
      await chmod(at, PRIVATE_DIR_MODE)
    }
  }
}

function refusal (err: unknown, file: string): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ELOOP') return new UnsafeSinkPathError(`${basename(file)} is a symbolic link: a sink never follows one`)
  if (code === 'ENXIO' || code === 'EISDIR') return new UnsafeSinkPathError(`${basename(file)} is not a regular file`)
  return err as Error
}

/**
 * Opens `file` (which must lie inside `root`) for writing, created 0600 if absent, never through a symlink.
 * Nothing is truncated here: the caller cuts the file back once it holds the checked descriptor.
 */
export async function openPrivateFile (root: string, file: string): Promise<FileHandle> {
  await ensurePrivateDir(root, dirname(file))
  const realRoot = await realpath(root)
  const realDir = await realpath(dirname(file))
  if (!inside(realRoot, realDir)) throw new UnsafeSinkPathError('the folder leads outside the sink directory through a symbolic link')
  // Opened through the resolved folder: a link swapped into the path after the check above is not followed.
  const target = join(realDir, basename(file))
  let handle: FileHandle
  try {
    handle = await open(target, constants.O_WRONLY | constants.O_CREAT | NO_FOLLOW, PRIVATE_FILE_MODE)
  } catch (err) { throw refusal(err, file) }
  try {
    const st = await handle.stat()
    if (!st.isFile()) throw new UnsafeSinkPathError(`${basename(file)} is not a regular file`)
    if (st.nlink !== 1) throw new UnsafeSinkPathError(`${basename(file)} has other hard links: a sink writes only a file of its own`)
    if ((st.mode & 0o777) !== PRIVATE_FILE_MODE) await handle.chmod(PRIVATE_FILE_MODE)
    return handle
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** A new secret file (never an existing one, never through a link), 0600; the folder is created 0700. */
export function writeNewPrivateFileSync (file: string, content: string): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, PRIVATE_FILE_MODE)
  try {
    if ((fstatSync(fd).mode & 0o777) !== PRIVATE_FILE_MODE) fchmodSync(fd, PRIVATE_FILE_MODE)
    writeSync(fd, content)
  } finally { closeSync(fd) }
}
