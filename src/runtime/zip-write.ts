/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * Writing artifact zips with yazl, as a stream (nothing is buffered whole): a folder, or a map of files.
 *
 * Why yazl: the writing half of yauzl (same author and conventions), streaming output with no dependencies, zip64
 * when needed, UNIX modes (executable bits survive). A folder is read a few files ahead (at most 16 open at once,
 * whatever its size) and entries that do not compress are stored: see "Zipping a folder fast" below.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Readable, Transform, TransformCallback } from 'stream';
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
 * yazl computes CRC-32 with buffer-crc32, a JavaScript table loop (~126 MB/s measured); zlib.crc32 (Node >= 20.15 and
 * 22.2, so every Lambda Node.js runtime) gives the same values ~6x faster. yazl looks `unsigned` up at each call, so
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
/** Files up to this size are read whole ahead of the writer; larger ones are streamed when their turn comes. */
const BUFFERED_FILE_MAX_BYTES = 256 * 1024;
/** Folder items prepared ahead of the writer: at most this many files read (or sampled) at once. */
const READ_AHEAD_ITEMS = 16;
/** Size of the chunks the zip is produced in (see {@link Coalescer}). */
const COALESCED_CHUNK_BYTES = 64 * 1024;
/** Read size of streamed files (fs's default): 256 KiB chunks were no faster in the bench, and peaked ~5 MB higher. */
const FILE_CHUNK_BYTES = 64 * 1024;

/**
 * A zip of the folder `dir`, as a stream. Files keep their mode (executable bits) and mtime; symlinks are stored as
 * symlinks (not followed, so nothing outside the folder is read); empty folders are kept. Files that do not compress
 * (media, archives, model weights) are stored rather than deflated.
 */
export function zipDirectory(dir: string): Readable {
  const zip = new (yazl().ZipFile)() as LazyZipFile;
  const out = connectOutput(zip);
  new FolderWriter(zip, out)
    .write(path.resolve(dir))
    .then(() => zip.end())
    .catch((error: Error) => out.destroy(error));
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
 * Zipping a folder fast with bounded memory. Where the time went with one yazl `addFile` per file (bench
 * `uploadSpeedVsZip`: a 270 MB folder of 10,000 source files and a few large media and binary files): deflating
 * bytes that do not compress (zlib spends ~55 MB/s to shrink random data by nothing), and the latency of each small
 * file (stat, then open, read and close through a read stream, one file after the other). So:
 *
 * - each file's compressibility is judged on a sample, its first 64 KiB deflated at level 1: when the sample does not
 *   shrink below 90 %, the entry is stored (method 0) instead of deflated. Files up to 64 KiB are always deflated: they
 *   are mostly text, and a misjudged one costs little.
 * - the next few items are prepared ahead, in parallel (small files read whole, large ones opened for their sample);
 *   yazl then finds each entry ready when its turn comes. Large files are streamed, one open at a time.
 * - every file goes to yazl as a lazily opened stream, never with `addBuffer`: yazl keeps each buffer entry's deflated
 *   bytes until the archive ends (a 16 KiB zlib chunk per small file: 160 MB for 10,000 files), while a lazy entry
 *   keeps only its callback, which lets go of the data once handed over. An entry is handed to yazl only once the one
 *   before it has started, so yazl never holds more than two.
 */

/** yazl 3 API missing from @types/yazl 2. */
interface LazyZipFile extends ZipFile {
  addReadStreamLazy(
    metadataPath: string,
    options: EntryOptions & { readonly size: number },
    getReadStream: (callback: (error: Error | null, stream?: Readable) => void) => void,
  ): void;
}

interface EntryOptions {
  readonly mode: number;
  readonly mtime: Date;
  readonly compress: boolean;
}

/** One thing of the folder to archive, in archive order. */
interface FolderItem {
  readonly kind: 'file' | 'symlink' | 'emptyFolder';
  readonly absolute: string;
  readonly relative: string;
}

/** A folder item ready for yazl: its content in memory, or a file to stream. */
type PreparedEntry =
  | { readonly kind: 'buffer'; readonly relative: string; readonly data: Buffer; readonly options: EntryOptions }
  | { readonly kind: 'stream'; readonly relative: string; readonly absolute: string; readonly size: number; readonly options: EntryOptions }
  | { readonly kind: 'emptyFolder'; readonly relative: string; readonly mode: number; readonly mtime: Date };

type ContentEntry = Exclude<PreparedEntry, { kind: 'emptyFolder' }>;

/** Hands a folder's entries to yazl in order, prepared ahead; stops when the output is closed early. */
class FolderWriter {
  private stopped = false;
  private readonly streams = new Set<Readable>();
  /** Entries handed to yazl and not reached yet (two at most). A failed yazl never reaches them: closing releases them. */
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly zip: LazyZipFile,
    private readonly out: Readable,
  ) {
    // The consumer went away (a failed upload) or the zip failed: stop reading, close the open file.
    out.once('close', () => {
      this.stopped = true;
      for (const stream of this.streams) stream.destroy();
      for (const release of this.waiting) release();
    });
  }

  async write(root: string): Promise<void> {
    let previousStarted: Promise<void> = Promise.resolve();
    for await (const entry of readAhead(walk(root, ''), prepare, READ_AHEAD_ITEMS)) {
      if (this.stopped) return;
      if (entry.kind === 'emptyFolder') {
        this.zip.addEmptyDirectory(entry.relative, { mode: entry.mode, mtime: entry.mtime });
        continue;
      }
      const started = this.addLazily(entry);
      await previousStarted;
      previousStarted = started;
    }
  }

  /** Hands the entry to yazl as a stream opened when yazl reaches it; resolves then. */
  private addLazily(entry: ContentEntry): Promise<void> {
    const size = entry.kind === 'buffer' ? entry.data.length : entry.size;
    return new Promise((resolve) => {
      const started = () => {
        this.waiting.delete(started);
        resolve();
      };
      this.waiting.add(started);
      this.zip.addReadStreamLazy(entry.relative, { ...entry.options, size }, this.opener(entry, started));
    });
  }

  /**
   * The callback yazl calls when it reaches the entry, and keeps until the archive ends (10,000 files: 10,000 of them):
   * it holds the entry, data included, only until called.
   */
  private opener(entry: ContentEntry, started: () => void): (callback: (error: Error | null, stream?: Readable) => void) => void {
    let pending: { readonly entry: ContentEntry; readonly started: () => void } | undefined = { entry, started };
    return (callback) => {
      const reached = pending as NonNullable<typeof pending>;
      pending = undefined;
      reached.started();
      callback(null, this.open(reached.entry));
    };
  }

  private open(entry: ContentEntry): Readable {
    const stream = entry.kind === 'buffer' ? readableOf(entry.data) : fs.createReadStream(entry.absolute, { highWaterMark: FILE_CHUNK_BYTES });
    // yazl listens for errors only on the streams it opens itself.
    stream.once('error', (error) => this.out.destroy(error));
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    if (this.stopped) stream.destroy();
    return stream;
  }
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
    const options = { mode: SYMLINK | 0o777, mtime: stats.mtime, compress: false };
    return { kind: 'buffer', relative: item.relative, data: Buffer.from(target, 'utf8'), options };
  }
  if (item.kind === 'emptyFolder') {
    const stats = await fs.promises.stat(item.absolute);
    return { kind: 'emptyFolder', relative: item.relative, mode: stats.mode, mtime: stats.mtime };
  }
  const { stats, content } = await readFileOrSample(item.absolute);
  const compress = stats.size <= SAMPLE_BYTES || (await compresses(content.subarray(0, SAMPLE_BYTES)));
  const options = { mode: stats.mode, mtime: stats.mtime, compress };
  return stats.size <= BUFFERED_FILE_MAX_BYTES
    ? { kind: 'buffer', relative: item.relative, data: content, options }
    : { kind: 'stream', relative: item.relative, absolute: item.absolute, size: stats.size, options };
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
    const wanted = stats.size <= BUFFERED_FILE_MAX_BYTES ? stats.size : SAMPLE_BYTES;
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

/** The sample is deflated at level 1: quick, and enough to tell noise from text. */
const SAMPLE_DEFLATE_OPTIONS: zlib.ZlibOptions = { level: 1 };

/** Whether deflate shrank the sample enough to be worth its CPU. */
function shrankEnough(sample: Buffer, deflated: Buffer): boolean {
  return deflated.length <= sample.length * STORE_ABOVE_RATIO;
}

/** Whether deflate shrinks the sample enough to be worth its CPU (on zlib's thread pool). */
function compresses(sample: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) =>
    zlib.deflateRaw(sample, SAMPLE_DEFLATE_OPTIONS, (error, deflated) => {
      if (error) reject(error);
      else resolve(shrankEnough(sample, deflated));
    }),
  );
}

/** {@link compresses} for content already in memory (about a millisecond for a full sample). */
function compressesSync(sample: Buffer): boolean {
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

/** A stream of one buffer, as cheap as a stream gets. */
function readableOf(data: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) this.push(data);
      sent = true;
      this.push(null);
    },
  });
}
