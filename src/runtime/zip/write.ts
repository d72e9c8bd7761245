/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * Writing artifact zips as a stream (nothing is buffered whole): a folder, or a map of files. Both are written by the
 * runtime's one zip writer (entry-writer.ts), which deflates several entries at once on zlib's thread pool and stores
 * entries that do not compress.
 */
import * as path from 'path';
import { pipeline as streamPipeline, Readable, Transform, TransformCallback } from 'stream';
import { bufferEntry, READ_AHEAD_ITEMS, readAhead, streamEntry, WHOLE_FILE_MAX_BYTES, wholeEntry, ZipEntry, zipEntries } from './entry-writer';
import { folderZip } from './folder-zip';
import { EntryMeta } from './records';
import { safeEntryPath } from './safety';

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
  // Closing the output early (a failed upload) ends the writer at its next buffer: open files are closed.
  return coalesced(folderZip(path.resolve(dir)));
}

/** A zip of the given files (path inside the zip -> content), as a stream, in the map's order. */
export function zipFiles(files: { readonly [path: string]: FileSpec }, artifact: string): Readable {
  let entries: Array<{ readonly meta: EntryMeta; readonly content: FileContent }>;
  try {
    const mtime = new Date();
    entries = Object.entries(files).map(([name, spec]) => {
      const { content, mode } = isFileWithMode(spec) ? spec : { content: spec, mode: DEFAULT_FILE_MODE };
      return { meta: { relative: safeEntryPath(name, artifact), mode: REGULAR_FILE | (mode & 0o7777), mtime }, content };
    });
    // A stream that fails before its turn (a file that cannot be opened) keeps its error (`errored`), which fails the
    // zip when the writer reaches it, instead of an 'error' event nobody listens to, which would end the process.
    for (const { content } of entries) if (content instanceof Readable) content.on('error', () => undefined);
  } catch (error) {
    const failed = new Readable({ read: () => undefined });
    process.nextTick(() => failed.destroy(error as Error));
    return failed;
  }
  return coalesced(filesZip(entries));
}

/** The zip of the files: contents in memory are prepared (deflated) ahead, streams are read when their turn comes. */
async function* filesZip(entries: ReadonlyArray<{ readonly meta: EntryMeta; readonly content: FileContent }>): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    yield* zipEntries(readAhead(entries.values(), prepare, READ_AHEAD_ITEMS));
    finished = true;
  } finally {
    // Closed early (a failed upload): the streams not read to their end are closed too, releasing what they hold.
    if (!finished) for (const { content } of entries) if (content instanceof Readable) content.destroy();
  }
}

async function prepare({ meta, content }: { readonly meta: EntryMeta; readonly content: FileContent }): Promise<ZipEntry> {
  if (content instanceof Readable) return streamEntry(meta, content);
  const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  return data.length <= WHOLE_FILE_MAX_BYTES ? wholeEntry(meta, data) : bufferEntry(meta, data);
}

function isFileWithMode(spec: FileSpec): spec is FileWithMode {
  return typeof spec === 'object' && spec !== null && !(spec instanceof Readable) && !(spec instanceof Uint8Array) && 'content' in spec;
}

/** The zip's buffers as a byte stream of {@link COALESCED_CHUNK_BYTES} chunks; closing it early ends the writer. */
function coalesced(zip: AsyncGenerator<Buffer>): Readable {
  const out = new Coalescer(COALESCED_CHUNK_BYTES);
  streamPipeline(Readable.from(zip, { objectMode: false }), out, () => undefined);
  return out;
}

/**
 * The zip's output in chunks of at least `size` bytes (the last one may be shorter). The writer emits each entry as
 * several small buffers (a local header, the deflated bytes, a data descriptor): for thousands of small files, tens of
 * thousands of tiny chunks, each held by the multipart upload until it has a whole 5 MiB part. Copied into 64 KiB
 * chunks, they hold less memory, for a copy that costs little next to deflate.
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
