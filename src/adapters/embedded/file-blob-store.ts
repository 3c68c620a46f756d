import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsync,
  open,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { link, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { BlobFingerprint, BlobInfo, BlobStore } from '../../ports/blob-store';
import { NotFoundError } from '../../ports/errors';
import { rethrowStorageError } from './storage-errors';

// Temporary files live beside their target (rename is only atomic within one file system) and are
// never listed.
const TEMP_SUFFIX = '.himas-tmp';

/**
 * Blobs up to this size are read, and written into a file created asynchronously, with synchronous
 * calls (the create and the fsync stay asynchronous). On a local disk each such call takes microseconds, while each await of
 * fs/promises is a round trip through libuv's 4-thread pool: measured on this machine, a 600-byte
 * file takes 16 µs with readFileSync and 300 µs with `await readFile` (open, fstat, read, read,
 * close). A round reads a ledger entry, a key or a receipt-sized blob dozens of times per
 * hospital; larger blobs (updates, weights) stay asynchronous so a long read never blocks the loop.
 */
const SMALL_BLOB_BYTES = 64 * 1024;

const fsyncFd = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
const openFd = (file: string, flags: string): Promise<number> =>
  new Promise((resolve, reject) =>
    open(file, flags, 0o666, (error, fd) => (error ? reject(error) : resolve(fd))),
  );

/**
 * BlobStore on a directory (`.himas/blobs`): a blob path maps to the same relative file path.
 * put writes a temporary file, fsyncs it and renames it over the target, so a reader sees the old
 * bytes or the new, never a partial file, and a crash leaves at most a stray temporary file.
 * `contentType` is accepted and ignored (files carry none).
 */
export class FileBlobStore implements BlobStore {
  readonly root: string;
  /** Directory fsyncs of concurrent writes in one folder, shared (group commit). */
  private readonly directories = new DirectorySyncs();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(blobPath: string, bytes: Uint8Array, options?: { contentType?: string }): Promise<BlobInfo> {
    const target = this.resolve(blobPath);
    return this.writing(target, () => this.putFile(target, blobPath, bytes, options));
  }

  private async putFile(
    target: string,
    blobPath: string,
    bytes: Uint8Array,
    _options?: { contentType?: string },
  ): Promise<BlobInfo> {
    const directory = path.dirname(target);
    const temporary = path.join(directory, `.${path.basename(target)}.${randomUUID()}${TEMP_SUFFIX}`);
    try {
      await writeDurably(temporary, bytes);
      await rename(temporary, target);
    } catch (error) {
      await removeIfPresent(temporary);
      throw error;
    }
    await this.directories.sync(directory);
    return {
      path: blobPath,
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }

  /**
   * Like put, but the whole temporary file is hard-linked into place: link() fails with EEXIST
   * when the target exists, atomically, so two concurrent creates cannot both succeed and an
   * existing object is never replaced.
   */
  async create(
    blobPath: string,
    bytes: Uint8Array,
    _options?: { contentType?: string },
  ): Promise<BlobInfo | null> {
    const target = this.resolve(blobPath);
    return this.writing(target, () => this.createFile(target, blobPath, bytes));
  }

  private async createFile(target: string, blobPath: string, bytes: Uint8Array): Promise<BlobInfo | null> {
    const directory = path.dirname(target);
    const temporary = path.join(directory, `.${path.basename(target)}.${randomUUID()}${TEMP_SUFFIX}`);
    let created = false;
    try {
      await writeDurably(temporary, bytes);
      try {
        await link(temporary, target);
        created = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    } finally {
      await removeIfPresent(temporary);
    }
    if (!created) return null;
    await this.directories.sync(directory);
    return {
      path: blobPath,
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }

  async get(blobPath: string): Promise<Uint8Array> {
    const file = this.resolve(blobPath);
    try {
      return readSmallFile(file) ?? new Uint8Array(await readFile(file));
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError('blob', blobPath);
      throw error;
    }
  }

  async stat(blobPath: string): Promise<BlobInfo | undefined> {
    const file = this.resolve(blobPath);
    try {
      const info = await stat(file);
      if (!info.isFile()) return undefined;
      return { path: blobPath, size: info.size, sha256: await hashFile(file) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /**
   * Device, inode, size, mtime and ctime (ns) of the file: a rename over it changes the inode, a
   * write in place the size or mtime, and ctime moves with any change and cannot be set back.
   */
  fingerprint(blobPath: string): Promise<BlobFingerprint | undefined> {
    const file = this.resolve(blobPath);
    let info;
    try {
      info = statSync(file, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      if (isMissing(error)) return Promise.resolve(undefined);
      throw error;
    }
    if (info === undefined || !info.isFile()) return Promise.resolve(undefined);
    return Promise.resolve({
      id: `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`,
      changedAtMs: Number(info.ctimeNs > info.mtimeNs ? info.ctimeNs : info.mtimeNs) / 1e6,
    });
  }

  /** Blob paths starting with `prefix` (a plain string prefix, as in Cloud Storage), sorted. */
  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') validateBlobPath(prefix, { allowTrailingSlash: true });
    // Only the directory that holds the prefix's last complete segment needs walking.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    const found: string[] = [];
    await walk(path.join(this.root, base), base, found);
    return found.filter((blobPath) => blobPath.startsWith(prefix)).sort(compareCodeUnits);
  }

  async delete(blobPath: string): Promise<void> {
    try {
      await unlink(this.resolve(blobPath));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  locate(blobPath: string): string {
    return this.resolve(blobPath);
  }

  /** A write that fails for lack of space or permission names the file (the temporary is gone). */
  private async writing<R>(target: string, write: () => Promise<R>): Promise<R> {
    try {
      return await write();
    } catch (error) {
      rethrowStorageError(error, target);
    }
  }

  private resolve(blobPath: string): string {
    validateBlobPath(blobPath);
    return path.join(this.root, ...blobPath.split('/'));
  }
}

/** Rejects paths that could escape the root or name no file: `..`, absolute, empty segments. */
export function validateBlobPath(blobPath: string, options: { allowTrailingSlash?: boolean } = {}): void {
  const fail = (reason: string) => {
    throw new Error(`invalid blob path ${JSON.stringify(blobPath)}: ${reason}`);
  };
  if (typeof blobPath !== 'string' || blobPath.length === 0) fail('the path is empty');
  if (blobPath.startsWith('/') || path.isAbsolute(blobPath)) fail('absolute paths are not allowed');
  if (blobPath.includes('\\') || blobPath.includes('\0')) fail('backslashes and NUL are not allowed');
  const segments = blobPath.split('/');
  if (options.allowTrailingSlash && segments[segments.length - 1] === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') fail("empty segment (no trailing or double '/')");
    if (segment === '.' || segment === '..') fail(`segment ${JSON.stringify(segment)} is not allowed`);
    if (segment.endsWith(TEMP_SUFFIX)) fail(`names ending in ${TEMP_SUFFIX} are reserved`);
  }
}

async function walk(directory: string, relative: string, found: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw error;
  }
  for (const entry of entries) {
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) await walk(path.join(directory, entry.name), child, found);
    else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) found.push(child);
  }
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * Creates `file` (which must not exist) with `bytes`, fsynced before it resolves. Its folder is
 * made on first use: trying the open first saves a recursive mkdir (a walk up the path) per write.
 */
async function writeDurably(file: string, bytes: Uint8Array): Promise<void> {
  if (bytes.byteLength > SMALL_BLOB_BYTES) {
    const handle = await openCreating(file, () => fsp.open(file, 'wx'));
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return;
  }
  // The create itself stays asynchronous: it needs the file system's journal, which an fsync in
  // flight can hold for milliseconds (measured: a synchronous create stalled the event loop there).
  const fd = await openCreating(file, () => openFd(file, 'wx'));
  try {
    for (let written = 0; written < bytes.byteLength;)
      written += writeSync(fd, bytes, written, bytes.byteLength - written);
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

async function openCreating<T>(file: string, openFile: () => T | Promise<T>): Promise<T> {
  try {
    return await openFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(path.dirname(file), { recursive: true });
    return openFile();
  }
}

/** The whole file if it is at most SMALL_BLOB_BYTES long (read synchronously), else undefined. */
function readSmallFile(file: string): Uint8Array | undefined {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > SMALL_BLOB_BYTES) return undefined;
    // Read to the end, not to the size seen: the inode's bytes are final (written before the
    // rename or link that named it), but a read that came up short must not pass for the blob.
    const buffer = Buffer.allocUnsafe(size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.byteLength) return undefined;
      const n = readSync(fd, buffer, length, buffer.byteLength - length, null);
      if (n === 0) break;
      length += n;
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  } finally {
    closeSync(fd);
  }
}

async function removeIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Group commit of directory fsyncs: a write that renamed or linked a name into a folder waits for
 * an fsync of that folder that *started after* its rename, and every write waiting at that moment
 * shares it. So K hospitals writing into one folder at once cost about two fsyncs, not K, and none
 * is acknowledged before its name is on disk.
 */
class DirectorySyncs {
  private readonly folders = new Map<string, { running: Promise<void> | null; next: Promise<void> | null }>();

  sync(directory: string): Promise<void> {
    let folder = this.folders.get(directory);
    if (!folder) {
      folder = { running: null, next: null };
      this.folders.set(directory, folder);
    }
    const state = folder;
    if (state.running === null) {
      state.running = syncDirectory(directory).finally(() => this.finished(directory, state));
      return state.running;
    }
    // One is running: it may have started before our rename, so wait for the next one.
    state.next ??= state.running.then(() => syncDirectory(directory));
    return state.next;
  }

  private finished(
    directory: string,
    state: { running: Promise<void> | null; next: Promise<void> | null },
  ): void {
    const next = state.next;
    state.next = null;
    state.running = next === null ? null : next.finally(() => this.finished(directory, state));
    if (state.running === null) this.folders.delete(directory);
  }
}

/** fsync the directory so the rename itself survives a power loss (POSIX; a no-op elsewhere). */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await fsp.open(directory, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open directories; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

// Cloud Storage lists in UTF-8 byte order; for the ASCII names HIMAS uses, code-unit order matches.
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
