/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * Zipping a folder fast: files are walked, read ahead and deflated several at once on zlib's thread pool, and
 * written in order as one zip stream (records.ts); files that do not compress are stored.
 */
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import * as zlib from 'zlib';
import { crc32 } from './crc32';
import { centralDirectoryRecord, dataDescriptor, DEFLATED, endOfCentralDirectory, localFileHeader, STORED, SYMLINK } from './records';

/** How much of a file is deflated to judge whether it compresses. */
export const SAMPLE_BYTES = 64 * 1024;
/** A sample deflated to more than this fraction of its size: the file is stored. */
const STORE_ABOVE_RATIO = 0.9;
/** Folder items prepared ahead of the writer: at most this many files read (small ones also deflated) at once. */
export const READ_AHEAD_ITEMS = 8;
/** Files up to this size are read whole ahead of the writer; larger ones are streamed in chunks when their turn comes. */
export const WHOLE_FILE_MAX_BYTES = 256 * 1024;
/** The pieces large files are read and deflated in. */
export const CHUNK_BYTES = 256 * 1024;
/** Pieces of a large file read and deflated at once. */
export const CHUNKS_AHEAD = 4;
/** Deflate's window: the preset dictionary of a piece is the data just before it. */
const DICTIONARY_BYTES = 32 * 1024;

/** One thing of the folder to archive, in archive order. */
interface FolderItem {
  readonly kind: 'file' | 'symlink' | 'emptyFolder';
  readonly absolute: string;
  readonly relative: string;
}

export interface EntryMeta {
  readonly relative: string;
  /** UNIX mode, file type bits included. */
  readonly mode: number;
  readonly mtime: Date;
}

/** A folder item ready for the writer: its bytes in memory, a large file to stream, or an empty folder. */
type PreparedEntry =
  | (EntryMeta & { readonly kind: 'whole'; readonly method: number; readonly crc: number; readonly size: number; readonly data: Buffer })
  | (EntryMeta & { readonly kind: 'chunked'; readonly absolute: string; readonly size: number; readonly compress: boolean })
  | (EntryMeta & { readonly kind: 'emptyFolder' });

/** The zip of a folder, as the buffers to write in order. */
export async function* folderZip(root: string): AsyncGenerator<Buffer> {
  const central: Buffer[] = [];
  let offset = 0;
  for await (const entry of readAhead(walk(root, ''), prepare, READ_AHEAD_ITEMS)) {
    const name = Buffer.from(entry.kind === 'emptyFolder' ? `${entry.relative}/` : entry.relative, 'utf8');
    const headerOffset = offset;
    if (entry.kind === 'chunked') {
      const method = entry.compress ? DEFLATED : STORED;
      const header = localFileHeader(name, entry, method, undefined);
      yield header;
      offset += header.length;
      let crc = 0;
      let size = 0;
      let compressedSize = 0;
      for await (const chunk of fileChunks(entry.absolute, entry.size, entry.compress)) {
        crc = crc32(chunk.raw, crc);
        size += chunk.raw.length;
        compressedSize += chunk.data.length;
        yield chunk.data;
        offset += chunk.data.length;
      }
      const sizes = { crc, size, compressedSize };
      const descriptor = dataDescriptor(sizes);
      yield descriptor;
      offset += descriptor.length;
      central.push(centralDirectoryRecord(name, entry, method, sizes, headerOffset, true));
    } else {
      const sizes =
        entry.kind === 'whole' ? { crc: entry.crc, size: entry.size, compressedSize: entry.data.length } : { crc: 0, size: 0, compressedSize: 0 };
      const method = entry.kind === 'whole' ? entry.method : STORED;
      const header = localFileHeader(name, entry, method, sizes);
      yield header;
      offset += header.length;
      if (entry.kind === 'whole' && entry.data.length > 0) {
        yield entry.data;
        offset += entry.data.length;
      }
      central.push(centralDirectoryRecord(name, entry, method, sizes, headerOffset, false));
    }
  }
  const centralOffset = offset;
  for (const record of central) {
    yield record;
    offset += record.length;
  }
  yield endOfCentralDirectory(central.length, offset - centralOffset, centralOffset);
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

async function prepare(item: FolderItem): Promise<PreparedEntry> {
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
    return { ...meta, kind: 'chunked', absolute: item.absolute, size: stats.size, compress };
  }
  // A file read whole is judged by its own deflated size: no sample to deflate first.
  const crc = crc32(content);
  const deflated = await deflateRaw(content, {});
  const keep = content.length <= SAMPLE_BYTES ? deflated.length < content.length : shrankEnough(content, deflated);
  return keep
    ? { ...meta, kind: 'whole', method: DEFLATED, crc, size: content.length, data: deflated }
    : { ...meta, kind: 'whole', method: STORED, crc, size: content.length, data: content };
}

interface Chunk {
  /** The file's bytes. */
  readonly raw: Buffer;
  /** What goes into the zip: `raw` deflated, or `raw` itself when stored. */
  readonly data: Buffer;
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
  const raw = buffer.subarray(dictionaryBytes);
  if (!compress) return { raw, data: raw };
  const data = await deflateRaw(raw, {
    dictionary: dictionaryBytes > 0 ? buffer.subarray(0, dictionaryBytes) : undefined,
    finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
  });
  return { raw, data };
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

/** zlib's raw deflate on the thread pool (level 6 unless told: Info-ZIP's default too). */
function deflateRaw(data: Buffer, options: zlib.ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => zlib.deflateRaw(data, options, (error, deflated) => (error ? reject(error) : resolve(deflated))));
}

/** The sample is deflated at level 1: quick, and enough to tell noise from text. */
const SAMPLE_DEFLATE_OPTIONS: zlib.ZlibOptions = { level: 1 };

/** Whether deflate shrank the sample enough to be worth its CPU. */
function shrankEnough(sample: Buffer, deflated: Buffer): boolean {
  return deflated.length <= sample.length * STORE_ABOVE_RATIO;
}

/** Whether deflate shrinks the sample enough to be worth its CPU (on zlib's thread pool). */
async function compresses(sample: Buffer): Promise<boolean> {
  return shrankEnough(sample, await deflateRaw(sample, SAMPLE_DEFLATE_OPTIONS));
}

/** {@link compresses} for content already in memory (about a millisecond for a full sample). */
export function compressesSync(sample: Buffer): boolean {
  return shrankEnough(sample, zlib.deflateRawSync(sample, SAMPLE_DEFLATE_OPTIONS));
}

/**
 * `prepareItem` applied to the items, at most `ahead` at a time, results in the items' order. A failure surfaces when
 * its item's turn comes.
 */
async function* readAhead<T, R>(items: AsyncIterator<T>, prepareItem: (item: T) => Promise<R>, ahead: number): AsyncGenerator<R> {
  const queue: Promise<R>[] = [];
  let exhausted = false;
  const fill = async () => {
    while (!exhausted && queue.length < ahead) {
      const next = await items.next();
      if (next.done === true) {
        exhausted = true;
        return;
      }
      const prepared = prepareItem(next.value);
      prepared.catch(() => undefined); // rethrown when its turn comes; never unhandled if the writer stops first
      queue.push(prepared);
    }
  };
  try {
    await fill();
    while (queue.length > 0) {
      const prepared = await (queue.shift() as Promise<R>);
      await fill();
      yield prepared;
    }
  } finally {
    await items.return?.(undefined);
  }
}
