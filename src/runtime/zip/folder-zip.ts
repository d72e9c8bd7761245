/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * Zipping a folder fast: files are walked, read ahead and deflated several at once on zlib's thread pool, and
 * written in order by the zip writer (entry-writer.ts); files that do not compress are stored.
 */
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { crc32 } from './crc32';
import {
  Chunk,
  CHUNK_BYTES,
  CHUNKS_AHEAD,
  compresses,
  deflatePiece,
  DICTIONARY_BYTES,
  READ_AHEAD_ITEMS,
  readAhead,
  SAMPLE_BYTES,
  WHOLE_FILE_MAX_BYTES,
  wholeEntry,
  ZipEntry,
  zipEntries,
} from './entry-writer';
import { STORED, SYMLINK } from './records';

/** One thing of the folder to archive, in archive order. */
interface FolderItem {
  readonly kind: 'file' | 'symlink' | 'emptyFolder';
  readonly absolute: string;
  readonly relative: string;
}

/** The zip of a folder, as the buffers to write in order. */
export function folderZip(root: string): AsyncGenerator<Buffer> {
  return zipEntries(readAhead(walk(root, ''), prepare, READ_AHEAD_ITEMS));
}

/** The folder's items, depth first, names sorted by code unit: the archive never depends on the disk's order. */
async function* walk(absolute: string, relative: string): AsyncGenerator<FolderItem> {
  const children = (await fs.promises.readdir(absolute, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (children.length === 0 && relative !== '') {
    yield { kind: 'emptyFolder', absolute, relative };
    return;
  }
  for (const child of children) {
    const childAbsolute = path.join(absolute, child.name);
    const childRelative = relative === '' ? child.name : `${relative}/${child.name}`;
    if (child.isSymbolicLink()) yield { kind: 'symlink', absolute: childAbsolute, relative: childRelative };
    else if (child.isDirectory()) yield* walk(childAbsolute, childRelative);
    else if (child.isFile()) yield { kind: 'file', absolute: childAbsolute, relative: childRelative };
    // Sockets, FIFOs and devices have no content to archive: skipped.
  }
}

async function prepare(item: FolderItem): Promise<ZipEntry> {
  if (item.kind === 'symlink') {
    const [target, stats] = await Promise.all([fs.promises.readlink(item.absolute), fs.promises.lstat(item.absolute)]);
    const data = Buffer.from(target, 'utf8');
    return { kind: 'whole', relative: item.relative, mode: SYMLINK | 0o777, mtime: stats.mtime, method: STORED, crc: crc32(data), size: data.length, data };
  }
  if (item.kind === 'emptyFolder') {
    const stats = await fs.promises.stat(item.absolute);
    return { kind: 'emptyFolder', relative: item.relative, mode: stats.mode, mtime: stats.mtime };
  }
  const { stats, content } = await readFileOrSample(item.absolute);
  const meta = { relative: item.relative, mode: stats.mode & 0xffff, mtime: stats.mtime };
  if (stats.size > WHOLE_FILE_MAX_BYTES) {
    const compress = await compresses(content.subarray(0, SAMPLE_BYTES));
    return { ...meta, kind: 'chunked', compress, chunks: () => fileChunks(item.absolute, stats.size, compress) };
  }
  return wholeEntry(meta, content);
}

/** A large file's pieces in order, {@link CHUNKS_AHEAD} read (and deflated) at once; the file is closed at the end. */
async function* fileChunks(file: string, size: number, compress: boolean): AsyncGenerator<Chunk> {
  const fd = await open(file, READ_NON_BLOCKING);
  const pending: Promise<Chunk>[] = [];
  let next = 0;
  const startMore = () => {
    while (pending.length < CHUNKS_AHEAD && next < size) {
      const length = Math.min(CHUNK_BYTES, size - next);
      const chunk = readChunk(fd, file, next, length, compress, next + length >= size);
      chunk.catch(() => undefined); // rethrown when its turn comes; never unhandled if the writer stops first
      pending.push(chunk);
      next += length;
    }
  };
  try {
    if (!(await fstat(fd)).isFile()) throw new Error(`Cannot zip ${file}: no longer a regular file`);
    startMore();
    while (pending.length > 0) {
      const chunk = await (pending.shift() as Promise<Chunk>);
      startMore();
      yield chunk;
    }
  } finally {
    await Promise.allSettled(pending); // reads still in flight use the descriptor
    await close(fd);
  }
}

/** The piece of `file` at `position`, deflated with the 32 KiB before it as dictionary, ending with a sync flush unless last. */
async function readChunk(fd: number, file: string, position: number, length: number, compress: boolean, last: boolean): Promise<Chunk> {
  const dictionaryBytes = compress ? Math.min(position, DICTIONARY_BYTES) : 0;
  const buffer = Buffer.allocUnsafeSlow(dictionaryBytes + length);
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await read(fd, buffer, filled, buffer.length - filled, position - dictionaryBytes + filled);
    if (bytesRead === 0) throw new Error(`Cannot zip ${file}: it shrank while being zipped`);
    filled += bytesRead;
  }
  return deflatePiece(buffer.subarray(dictionaryBytes), buffer.subarray(0, dictionaryBytes), compress, last);
}

const open = promisify(fs.open);
/** Listed as a file but replaced by a FIFO since: fail at fstat instead of waiting forever for a writer. */
const READ_NON_BLOCKING = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);
const fstat = promisify(fs.fstat);
const read = promisify(fs.read);
const close = promisify(fs.close);

/**
 * A small file whole, or a large file's first {@link SAMPLE_BYTES}, with its stats: one open, fstat, read and close
 * (callback fs: markedly cheaper per file than fs.promises' FileHandle, and per file is what counts here).
 */
async function readFileOrSample(file: string): Promise<{ stats: fs.Stats; content: Buffer }> {
  const fd = await open(file, READ_NON_BLOCKING);
  try {
    const stats = await fstat(fd);
    if (!stats.isFile()) throw new Error(`Cannot zip ${file}: no longer a regular file`);
    const wanted = stats.size <= WHOLE_FILE_MAX_BYTES ? stats.size : SAMPLE_BYTES;
    const content = Buffer.allocUnsafeSlow(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await read(fd, content, filled, wanted - filled, filled);
      if (bytesRead === 0) break; // shrank since fstat: what is there is the content
      filled += bytesRead;
    }
    return { stats, content: filled === wanted ? content : content.subarray(0, filled) };
  } finally {
    await close(fd);
  }
}
