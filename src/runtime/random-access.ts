/**
 * Random-access readers for the zip reader, with a block cache, over S3 (HTTP Range requests) or a local file.
 *
 * The zip reader reads the end records, windows of the central directory and one small local header per entry read,
 * each a round trip (an HTTP request over S3, a thread-pool hand-off on disk). Serving them from cached blocks turns
 * thousands of such reads into a handful; entry data still streams with one ranged read.
 */
import type { Readable } from 'stream';

/** The zip reader's byte source, opaque outside the zip modules (see ByteSource). */
export interface ZipByteReader {
  /** Only the zip reader (zip/) knows what is behind it. */
  readonly __zipByteReader?: never;
}

/** What the zip reader (zip/central-directory.ts) reads through: exact ranges, streamed ranges. */
export interface ByteSource {
  /** Exactly the bytes [start, end); fails when the zip is shorter. */
  read(start: number, end: number): Promise<Buffer>;
  /** A stream of the bytes [start, end), start < end. */
  stream(start: number, end: number): Readable;
  close(): Promise<void>;
}

/** The byte source behind a ZipByteReader. */
export function byteSourceOf(reader: ZipByteReader): ByteSource {
  return reader as ByteSource;
}

/** Where the bytes come from. */
export interface RangeSource {
  readonly size: number;
  /** Bytes [start, end). */
  readRange(start: number, end: number): Promise<Buffer>;
  /** A stream of bytes [start, end). */
  streamRange(start: number, end: number): Readable;
  close(): Promise<void>;
}

/**
 * Errors of the transport (S3, the network, an aborted signal) that pass through the zip reader: they are not the zip's fault,
 * and the zip reader passes them on as they are instead of calling the zip corrupt.
 */
const transportErrors = new WeakSet<object>();

/** Marks an error as the transport's (see transportErrors); returns it. */
export function markTransportError<T>(error: T): T {
  if (typeof error === 'object' && error !== null) transportErrors.add(error);
  return error;
}

export function isTransportError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && transportErrors.has(error);
}

export interface BlockCacheOptions {
  readonly blockBytes: number;
  readonly cachedBlocks: number;
}

export function blockCachedReader(source: RangeSource, options: BlockCacheOptions): ZipByteReader {
  const { blockBytes, cachedBlocks } = options;
  const blocks = new Map<number, Promise<Buffer>>();
  const block = (index: number): Promise<Buffer> => {
    let cached = blocks.get(index);
    if (cached === undefined) {
      const start = index * blockBytes;
      cached = source.readRange(start, Math.min(source.size, start + blockBytes));
      cached.catch(() => blocks.delete(index));
      blocks.set(index, cached);
      if (blocks.size > cachedBlocks) blocks.delete(blocks.keys().next().value as number);
    }
    return cached;
  };

  const reader: ByteSource = {
    read: async (start, end) => {
      if (end > source.size) throw new Error('unexpected end of the zip');
      if (end <= start) return Buffer.alloc(0);
      const first = Math.floor(start / blockBytes);
      const last = Math.floor((end - 1) / blockBytes);
      const parts = await Promise.all(Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => block(first + i)));
      const joined = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      const from = start - first * blockBytes;
      if (joined.length < from + (end - start)) throw new Error('unexpected end of the zip');
      return joined.subarray(from, from + (end - start));
    },
    stream: (start, end) => source.streamRange(start, end),
    close: async () => {
      blocks.clear();
      await source.close();
    },
  };
  return reader as ZipByteReader;
}
