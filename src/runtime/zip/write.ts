/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * Writing artifact zips as a stream (nothing is buffered whole): a folder, or a map of files.
 *
 * A map of files goes through yazl: the writing half of yauzl (same author and conventions), streaming output with no
 * dependencies, zip64 when needed, UNIX modes (executable bits survive). A folder, the large case, is written by the
 * folder writer in folder-zip.ts in yazl's format, deflating several files at once on zlib's thread pool: see "Zipping a folder
 * fast". Both store entries that do not compress.
 */
import * as path from 'path';
import { pipeline as streamPipeline, Readable, Transform, TransformCallback } from 'stream';
import * as zlib from 'zlib';
import type { ZipFile } from 'yazl';
import { compressesSync, folderZip, SAMPLE_BYTES } from './folder-zip';
import { safeEntryPath } from './safety';

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
const DEFAULT_FILE_MODE = 0o644;

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
