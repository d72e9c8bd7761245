/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * Writing artifact zips as a stream (nothing is buffered whole): a folder, or a map of files.
 *
 * A map of files goes through yazl: the writing half of yauzl (same author and conventions), streaming output with no
 * dependencies, zip64 when needed, UNIX modes (executable bits survive). A folder, the large case, is written by the
 * folder writer below in yazl's format, deflating several files at once on zlib's thread pool: see "Zipping a folder
 * fast". Both store entries that do not compress.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline as streamPipeline, Readable, Transform, TransformCallback } from 'stream';
import { promisify } from 'util';
import * as zlib from 'zlib';
import type { ZipFile } from 'yazl';
import { safeEntryPath } from './zip-safety';

function yazl(): typeof import('yazl') {
  // Loaded on first use, like yauzl: handlers without output artifacts never pay for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module: typeof import('yazl') = require('yazl');
  useNativeCrc32();
  return module;
}

let crc32Checked = false;

/**
 * yazl computes CRC-32 with buffer-crc32, a JavaScript table loop; zlib.crc32 (Node >= 20.15 and 22.2, so every
 * Lambda Node.js runtime) gives the same values in native code, several times faster. yazl looks `unsigned` up at each call, so
 * swapping it in makes uploads of large artifacts markedly cheaper. Without zlib.crc32, nothing changes.
 */
function useNativeCrc32(): void {
  if (crc32Checked) return;
  crc32Checked = true;
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (typeof native !== 'function') return;
  try {
    // yazl's own dependency, patched where yazl finds it (not one of ours: nothing else uses it).
    // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
    const bufferCrc32 = require('buffer-crc32') as { unsigned: (buf: unknown, previous?: unknown) => number };
    const original = bufferCrc32.unsigned;
    bufferCrc32.unsigned = (buf, previous) =>
      Buffer.isBuffer(buf) && (previous === undefined || typeof previous === 'number')
        ? native(buf, (previous as number | undefined) ?? 0) >>> 0
        : original(buf, previous);
  } catch {
    // buffer-crc32 not resolvable from here (nested install): yazl keeps its own.
  }
}

/** The content of one file of an output artifact. */
export type FileContent = string | Uint8Array | Readable;

/** A file with its UNIX mode, e.g. `{ content: '#!/bin/sh\n...', mode: 0o755 }` for a script. */
export interface FileWithMode {
  readonly content: FileContent;
  readonly mode: number;
}

export type FileSpec = FileContent | FileWithMode;

const REGULAR_FILE = 0o100000;
const SYMLINK = 0o120000;
const DEFAULT_FILE_MODE = 0o644;

/** How much of a file is deflated to judge whether it compresses. */
const SAMPLE_BYTES = 64 * 1024;
/** A sample deflated to more than this fraction of its size: the file is stored. */
const STORE_ABOVE_RATIO = 0.9;
/** Folder items prepared ahead of the writer: at most this many files read (small ones also deflated) at once. */
const READ_AHEAD_ITEMS = 8;
/** Size of the chunks the zip is produced in (see {@link Coalescer}). */
const COALESCED_CHUNK_BYTES = 64 * 1024;

/**
 * A zip of the folder `dir`, as a stream. Files keep their mode (executable bits) and mtime; symlinks are stored as
 * symlinks (not followed, so nothing outside the folder is read); empty folders are kept. Files that do not compress
 * (media, archives, model weights) are stored rather than deflated.
 */
export function zipDirectory(dir: string): Readable {
  const out = new Coalescer(COALESCED_CHUNK_BYTES);
  // Closing the output early (a failed upload) ends the writer at its next buffer: open files are closed.
  streamPipeline(Readable.from(folderZip(path.resolve(dir)), { objectMode: false }), out, () => undefined);
  return out;
}

/** A zip of the given files (path inside the zip -> content), as a stream. */
export function zipFiles(files: { readonly [path: string]: FileSpec }, artifact: string): Readable {
  const zip = new (yazl().ZipFile)();
  const out = connectOutput(zip);
  try {
    for (const [name, spec] of Object.entries(files)) {
      const entryPath = safeEntryPath(name, artifact);
      const { content, mode } = isFileWithMode(spec) ? spec : { content: spec, mode: DEFAULT_FILE_MODE };
      const options = { mode: REGULAR_FILE | (mode & 0o7777) };
      if (content instanceof Readable) {
        zip.addReadStream(content, entryPath, options);
      } else {
        const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
        zip.addBuffer(data, entryPath, { ...options, compress: data.length <= SAMPLE_BYTES || compressesSync(data.subarray(0, SAMPLE_BYTES)) });
      }
    }
    zip.end();
  } catch (error) {
    process.nextTick(() => out.destroy(error as Error));
  }
  return out;
}

function isFileWithMode(spec: FileSpec): spec is FileWithMode {
  return typeof spec === 'object' && spec !== null && !(spec instanceof Readable) && !(spec instanceof Uint8Array) && 'content' in spec;
}

/** yazl reports failures (an unreadable file) on the ZipFile, not on its output stream: forward them. */
function connectOutput(zip: ZipFile): Readable {
  const out = new Coalescer(COALESCED_CHUNK_BYTES);
  zip.on('error', (error: Error) => out.destroy(error));
  zip.outputStream.on('error', (error: Error) => out.destroy(error));
  zip.outputStream.pipe(out);
  return out;
}

/**
 * The zip's output in chunks of at least `size` bytes (the last one may be shorter). yazl writes each entry as several
 * small buffers (a local header, the deflated bytes, a data descriptor): for 10,000 small files, tens of thousands of
 * tiny chunks, each held by the multipart upload until it has a whole 5 MiB part. Copied into 64 KiB chunks, the peak
 * of buffer memory of the 200 MB bench upload went from ~33 to ~25 MB, for a copy of 200 MB that costs ~50 ms.
 */
class Coalescer extends Transform {
  private pending: Buffer;
  private filled = 0;

  constructor(private readonly size: number) {
    super();
    this.pending = Buffer.allocUnsafe(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.filled + chunk.length > this.size) this.flushPending();
    if (chunk.length >= this.size) {
      this.push(chunk);
    } else {
      chunk.copy(this.pending, this.filled);
      this.filled += chunk.length;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.flushPending();
    callback();
  }

  private flushPending(): void {
    if (this.filled === 0) return;
    this.push(this.pending.subarray(0, this.filled));
    this.pending = Buffer.allocUnsafe(this.size);
    this.filled = 0;
  }
}

/*
 * Zipping a folder fast with bounded memory. Info-ZIP `zip -r` deflates one file after the other on one core; a folder
 * of source files is mostly deflate work, so the folder writer below deflates several pieces at once on zlib's thread
 * pool (libuv, UV_THREADPOOL_SIZE threads, 4 by default: every core of a Lambda function) and writes the entries in
 * order as their pieces come back. yazl cannot take bytes deflated elsewhere (it deflates each entry itself, one entry
 * at a time, and keeps every buffer entry's bytes until the archive ends), so the folder's archive is written here; the
 * format is the one yazl writes (local headers, data descriptors for large files, ZIP64 records when sizes, offsets or
 * the entry count need them: APPNOTE.TXT 4.3, 4.4 and 4.5.3).
 *
 * - a large file's compressibility is judged on a sample, its first 64 KiB deflated at level 1: when the sample does
 *   not shrink below 90 %, the entry is stored (method 0) instead of deflated (zlib spends real CPU time to shrink random
 *   data by nothing). A file read whole is deflated and judged by the result by the same rule, except that one up to
 *   64 KiB is kept deflated whenever deflate shrinks it at all; one deflate does not shrink is stored, as Info-ZIP does.
 * - the next {@link READ_AHEAD_ITEMS} items are prepared ahead, in parallel: a small file is read whole and deflated
 *   (zlib's asynchronous API, on the thread pool), a large one opened for its sample.
 * - a large file is streamed in {@link CHUNK_BYTES} pieces, {@link CHUNKS_AHEAD} read and deflated at once. Each piece is
 *   deflated on its own with the 32 KiB before it as preset dictionary and ends with a sync flush (the last one with
 *   the final block), so the pieces joined are one deflate stream compressing like a single pass (pigz does the same).
 * - memory: at most READ_AHEAD_ITEMS small files and CHUNKS_AHEAD pieces of one large file are held, each until written.
 */

/** Files up to this size are read whole ahead of the writer; larger ones are streamed in chunks when their turn comes. */
const WHOLE_FILE_MAX_BYTES = 256 * 1024;
/** The pieces large files are read and deflated in. */
const CHUNK_BYTES = 256 * 1024;
/** Pieces of a large file read and deflated at once. */
const CHUNKS_AHEAD = 4;
/** Deflate's window: the preset dictionary of a piece is the data just before it. */
const DICTIONARY_BYTES = 32 * 1024;

/** One thing of the folder to archive, in archive order. */
interface FolderItem {
  readonly kind: 'file' | 'symlink' | 'emptyFolder';
  readonly absolute: string;
  readonly relative: string;
}

interface EntryMeta {
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
async function* folderZip(root: string): AsyncGenerator<Buffer> {
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

const STORED = 0;
const DEFLATED = 8;
/** Bit 3: CRC-32 and sizes follow the data (data descriptor); bit 11: the name is UTF-8. */
const FLAG_DATA_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
/** Made by: UNIX (3), so the high 16 bits of the external attributes are the mode; specification version 6.3. */
const VERSION_MADE_BY = (3 << 8) | 63;
const VERSION_NEEDED = 20;
const VERSION_NEEDED_ZIP64 = 45;
/** Sizes and offsets above this are written in ZIP64 fields (0xffffffff itself means "see the ZIP64 field"). */
const MAX_32 = 0xfffffffe;
const MAX_ENTRIES_16 = 0xfffe;
const MSDOS_DIRECTORY = 0x10;

interface EntrySizes {
  readonly crc: number;
  readonly size: number;
  readonly compressedSize: number;
}

function needsZip64(sizes: EntrySizes, headerOffset: number): boolean {
  return sizes.size > MAX_32 || sizes.compressedSize > MAX_32 || headerOffset > MAX_32;
}

/** A local file header; without `sizes` they follow the data in a data descriptor. */
function localFileHeader(name: Buffer, entry: EntryMeta, method: number, sizes: EntrySizes | undefined): Buffer {
  const header = Buffer.alloc(30 + name.length);
  const { time, date } = dosDateTime(entry.mtime);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(VERSION_NEEDED, 4);
  header.writeUInt16LE(FLAG_UTF8 | (sizes ? 0 : FLAG_DATA_DESCRIPTOR), 6);
  header.writeUInt16LE(method, 8);
  header.writeUInt16LE(time, 10);
  header.writeUInt16LE(date, 12);
  // Whole entries are at most WHOLE_FILE_MAX_BYTES: their sizes always fit here.
  header.writeUInt32LE(sizes?.crc ?? 0, 14);
  header.writeUInt32LE(sizes?.compressedSize ?? 0, 18);
  header.writeUInt32LE(sizes?.size ?? 0, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(0, 28);
  name.copy(header, 30);
  return header;
}

/** The data descriptor after a streamed entry: 8-byte sizes when they need ZIP64 (APPNOTE 4.3.9). */
function dataDescriptor(sizes: EntrySizes): Buffer {
  const zip64 = sizes.size > MAX_32 || sizes.compressedSize > MAX_32;
  const descriptor = Buffer.alloc(zip64 ? 24 : 16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(sizes.crc, 4);
  if (zip64) {
    descriptor.writeBigUInt64LE(BigInt(sizes.compressedSize), 8);
    descriptor.writeBigUInt64LE(BigInt(sizes.size), 16);
  } else {
    descriptor.writeUInt32LE(sizes.compressedSize, 8);
    descriptor.writeUInt32LE(sizes.size, 12);
  }
  return descriptor;
}

/** An entry's central directory record, with the mtime in an extended timestamp field and ZIP64 sizes when needed. */
function centralDirectoryRecord(name: Buffer, entry: EntryMeta, method: number, sizes: EntrySizes, headerOffset: number, streamed: boolean): Buffer {
  const zip64 = needsZip64(sizes, headerOffset);
  const extraLength = 9 + (zip64 ? 28 : 0);
  const record = Buffer.alloc(46 + name.length + extraLength);
  const { time, date } = dosDateTime(entry.mtime);
  record.writeUInt32LE(0x02014b50, 0);
  record.writeUInt16LE(VERSION_MADE_BY, 4);
  record.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, 6);
  record.writeUInt16LE(FLAG_UTF8 | (streamed ? FLAG_DATA_DESCRIPTOR : 0), 8);
  record.writeUInt16LE(method, 10);
  record.writeUInt16LE(time, 12);
  record.writeUInt16LE(date, 14);
  record.writeUInt32LE(sizes.crc, 16);
  record.writeUInt32LE(zip64 ? 0xffffffff : sizes.compressedSize, 20);
  record.writeUInt32LE(zip64 ? 0xffffffff : sizes.size, 24);
  record.writeUInt16LE(name.length, 28);
  record.writeUInt16LE(extraLength, 30);
  // comment length, disk number, internal attributes: 0
  const folder = (entry.mode & 0o170000) === 0o040000;
  record.writeUInt32LE((((entry.mode & 0xffff) << 16) | (folder ? MSDOS_DIRECTORY : 0)) >>> 0, 38);
  record.writeUInt32LE(zip64 ? 0xffffffff : headerOffset, 42);
  name.copy(record, 46);
  let at = 46 + name.length;
  // Extended timestamp ("UT", APPNOTE 4.6): the mtime in UNIX seconds, in UTC (the DOS time is local and 2 s coarse).
  record.writeUInt16LE(0x5455, at);
  record.writeUInt16LE(5, at + 2);
  record.writeUInt8(1, at + 4);
  record.writeInt32LE(Math.max(-0x80000000, Math.min(0x7fffffff, Math.floor(entry.mtime.getTime() / 1000))), at + 5);
  at += 9;
  if (zip64) {
    record.writeUInt16LE(0x0001, at);
    record.writeUInt16LE(24, at + 2);
    record.writeBigUInt64LE(BigInt(sizes.size), at + 4);
    record.writeBigUInt64LE(BigInt(sizes.compressedSize), at + 12);
    record.writeBigUInt64LE(BigInt(headerOffset), at + 20);
  }
  return record;
}

/** The end of central directory record, preceded by the ZIP64 record and locator when a count or offset needs them. */
function endOfCentralDirectory(entries: number, centralSize: number, centralOffset: number): Buffer {
  const zip64 = entries > MAX_ENTRIES_16 || centralSize > MAX_32 || centralOffset > MAX_32;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : centralSize, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : centralOffset, 16);
  if (!zip64) return end;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(BigInt(56 - 12), 4);
  record.writeUInt16LE(VERSION_MADE_BY, 12);
  record.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
  record.writeBigUInt64LE(BigInt(entries), 24);
  record.writeBigUInt64LE(BigInt(entries), 32);
  record.writeBigUInt64LE(BigInt(centralSize), 40);
  record.writeBigUInt64LE(BigInt(centralOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(centralOffset + centralSize), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([record, locator, end]);
}

const MIN_DOS_DATE = new Date(1980, 0, 1);
const MAX_DOS_DATE = new Date(2107, 11, 31, 23, 59, 58);

/** MS-DOS date and time (local time, 2 s steps, 1980-2107), as zip headers carry them. */
function dosDateTime(mtime: Date): { time: number; date: number } {
  const d = mtime < MIN_DOS_DATE ? MIN_DOS_DATE : mtime > MAX_DOS_DATE ? MAX_DOS_DATE : mtime;
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
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
function compressesSync(sample: Buffer): boolean {
  return shrankEnough(sample, zlib.deflateRawSync(sample, SAMPLE_DEFLATE_OPTIONS));
}

let crc32Function: ((data: Uint8Array, previous?: number) => number) | undefined;

/** CRC-32 as zip computes it: zlib.crc32 where Node has it (every Lambda Node.js runtime), else yazl's buffer-crc32. */
function crc32(data: Buffer, previous = 0): number {
  if (crc32Function === undefined) {
    const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    if (typeof native === 'function') {
      crc32Function = native;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
      const bufferCrc32 = require('buffer-crc32') as { unsigned: (buf: Buffer, previous?: number) => number };
      crc32Function = (buf, prev) => bufferCrc32.unsigned(buf as Buffer, prev);
    }
  }
  return crc32Function(data, previous) >>> 0;
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
