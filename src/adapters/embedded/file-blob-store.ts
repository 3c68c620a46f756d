import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { BlobInfo, BlobStore } from '../../ports/blob-store';
import { NotFoundError } from '../../ports/errors';
import { rethrowStorageError } from './storage-errors';

// Temporary files live beside their target (rename is only atomic within one file system) and are
// never listed.
const TEMP_SUFFIX = '.himas-tmp';

/**
 * BlobStore on a directory (`.himas/blobs`): a blob path maps to the same relative file path.
 * put writes a temporary file, fsyncs it and renames it over the target, so a reader sees the old
 * bytes or the new, never a partial file, and a crash leaves at most a stray temporary file.
 * `contentType` is accepted and ignored (files carry none).
 */
export class FileBlobStore implements BlobStore {
  readonly root: string;

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
    await mkdir(directory, { recursive: true });
    const temporary = path.join(directory, `.${path.basename(target)}.${randomUUID()}${TEMP_SUFFIX}`);
    try {
      const handle = await open(temporary, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await syncDirectory(directory);
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
    await mkdir(directory, { recursive: true });
    const temporary = path.join(directory, `.${path.basename(target)}.${randomUUID()}${TEMP_SUFFIX}`);
    let created = false;
    try {
      const handle = await open(temporary, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await link(temporary, target);
        created = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    } finally {
      await rm(temporary, { force: true });
    }
    if (!created) return null;
    await syncDirectory(directory);
    return {
      path: blobPath,
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }

  async get(blobPath: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.resolve(blobPath)));
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

/** fsync the directory so the rename itself survives a power loss (POSIX; a no-op elsewhere). */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
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
