/**
 * Random-access readers for the zip reader, with a block cache, over S3 (HTTP Range requests) or a local file.
 *
 * The zip reader reads the central directory with two small reads per entry: 20,000 reads for a 10,000-file artifact, each a
 * round trip (an HTTP request over S3, a thread-pool hand-off on disk). Serving small reads from cached blocks turns
 * them into a handful; entry data still streams with one ranged read.
 */
import type { Readable } from 'stream';
import type { RandomAccessReader } from 'yauzl';

/**
 * The zip reader's RandomAccessReader, opaque outside the zip modules: the published declarations never name the
 * zip libraries' types (their @types packages are dev dependencies, so a user's `tsc` would fail with TS7016 on them).
 */
export interface ZipByteReader {
  /** Only the zip reader (zip/) knows what is behind it. */
  readonly __zipByteReader?: never;
}

function yauzl(): typeof import('yauzl') {
  // Loaded on first use (cold start).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('yauzl');
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
 * Errors of the transport (S3, the network, an aborted signal) that pass through yauzl: they are not the zip's fault,
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

  class BlockCachedReader extends yauzl().RandomAccessReader {
    read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
      const first = Math.floor(position / blockBytes);
      const last = Math.floor((position + length - 1) / blockBytes);
      const indexes = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
      Promise.all(indexes.map(block))
        .then((parts) => {
          const joined = parts.length === 1 ? parts[0] : Buffer.concat(parts);
          const from = position - first * blockBytes;
          if (joined.length < from + length) throw new Error('unexpected end of the zip');
          joined.copy(buffer, offset, from, from + length);
          callback(null);
        })
        .catch((error: Error) => callback(error));
    }

    _readStreamForRange(start: number, end: number): Readable {
      return source.streamRange(start, end);
    }

    close(callback: (err: Error | null) => void): void {
      blocks.clear();
      source.close().then(
        () => callback(null),
        (error: Error) => callback(error),
      );
    }
  }
  return new BlockCachedReader() as unknown as RandomAccessReader as ZipByteReader;
}
