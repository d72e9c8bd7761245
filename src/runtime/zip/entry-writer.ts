/**
 * The runtime's one zip writer: entries in, the zip's buffers out, in order (records in records.ts). A folder
 * (folder-zip.ts) and a map of files (write.ts) are both prepared into {@link ZipEntry} items and written here.
 *
 * - an entry whose bytes are in memory and small is deflated whole, on zlib's thread pool, and kept deflated when
 *   deflate shrinks it (by at least 10 % when it is over 64 KiB); else it is stored, as Info-ZIP does.
 * - a large entry is written in {@link CHUNK_BYTES} pieces, {@link CHUNKS_AHEAD} deflated at once. Each piece is
 *   deflated on its own with the 32 KiB before it as preset dictionary and ends with a sync flush (the last one with
 *   the final block), so the pieces joined are one deflate stream compressing like a single pass (pigz does the same).
 *   Its CRC-32 and sizes follow its data in a data descriptor (APPNOTE.TXT 4.3.9), as yazl and `zip -` write them.
 * - whether a large entry is deflated is judged on a sample (its first 64 KiB deflated at level 1): zlib spends real
 *   CPU time to shrink random data (media, archives, model weights) by nothing.
 */
import { Readable } from 'stream';
import * as zlib from 'zlib';
import { crc32 } from './crc32';
import { centralDirectoryRecord, dataDescriptor, DEFLATED, endOfCentralDirectory, EntryMeta, localFileHeader, STORED } from './records';

/** How much of a large entry is deflated to judge whether it compresses. */
export const SAMPLE_BYTES = 64 * 1024;
/** A sample deflated to more than this fraction of its size: the entry is stored. */
const STORE_ABOVE_RATIO = 0.9;
/** Entries prepared ahead of the writer: at most this many read (small ones also deflated) at once. */
export const READ_AHEAD_ITEMS = 8;
/** Entries up to this size are deflated whole ahead of the writer; larger ones are written in pieces when their turn comes. */
export const WHOLE_FILE_MAX_BYTES = 256 * 1024;
/** The pieces large entries are read and deflated in. */
export const CHUNK_BYTES = 256 * 1024;
/** Pieces of a large entry deflated at once. */
export const CHUNKS_AHEAD = 4;
/** Deflate's window: the preset dictionary of a piece is the data just before it. */
export const DICTIONARY_BYTES = 32 * 1024;

/** One piece of a large entry. */
export interface Chunk {
  /** The entry's bytes. */
  readonly raw: Buffer;
  /** What goes into the zip: `raw` deflated, or `raw` itself when stored. */
  readonly data: Buffer;
}

/** An entry ready for the writer: its bytes in memory, a large entry's pieces to come, or an empty folder. */
export type ZipEntry =
  | (EntryMeta & { readonly kind: 'whole'; readonly method: number; readonly crc: number; readonly size: number; readonly data: Buffer })
  | (EntryMeta & { readonly kind: 'chunked'; readonly compress: boolean; readonly chunks: () => AsyncIterable<Chunk> })
  | (EntryMeta & { readonly kind: 'emptyFolder' });

/** The zip of the entries, as the buffers to write in order. */
export async function* zipEntries(entries: AsyncIterable<ZipEntry>): AsyncGenerator<Buffer> {
  const central: Buffer[] = [];
  let offset = 0;
  for await (const entry of entries) {
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
      for await (const chunk of entry.chunks()) {
        crc = crc32(chunk.raw, crc);
        size += chunk.raw.length;
        compressedSize += chunk.data.length;
        if (chunk.data.length > 0) yield chunk.data;
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

/**
 * An entry whose bytes are all in memory and at most {@link WHOLE_FILE_MAX_BYTES}: deflated (on zlib's thread pool)
 * and judged by its own deflated size, no sample to deflate first.
 */
export async function wholeEntry(meta: EntryMeta, content: Buffer): Promise<ZipEntry> {
  const crc = crc32(content);
  const deflated = await deflateRaw(content, {});
  const keep = content.length <= SAMPLE_BYTES ? deflated.length < content.length : shrankEnough(content, deflated);
  return keep
    ? { ...meta, kind: 'whole', method: DEFLATED, crc, size: content.length, data: deflated }
    : { ...meta, kind: 'whole', method: STORED, crc, size: content.length, data: content };
}

/** A large entry already in memory, in pieces deflated {@link CHUNKS_AHEAD} at once. */
export async function bufferEntry(meta: EntryMeta, content: Buffer): Promise<ZipEntry> {
  const compress = await compresses(content.subarray(0, SAMPLE_BYTES));
  const chunks = () =>
    readAhead(
      bufferPieces(content),
      (piece) => deflatePiece(piece.raw, piece.dictionary, compress, piece.last),
      CHUNKS_AHEAD,
    );
  return { ...meta, kind: 'chunked', compress, chunks };
}

interface Piece {
  readonly raw: Buffer;
  /** The bytes just before `raw` (up to 32 KiB): the preset dictionary of its deflate. */
  readonly dictionary: Buffer | undefined;
  readonly last: boolean;
}

async function* bufferPieces(content: Buffer): AsyncGenerator<Piece> {
  for (let at = 0; at < content.length; at += CHUNK_BYTES) {
    const end = Math.min(at + CHUNK_BYTES, content.length);
    const dictionary = at > 0 ? content.subarray(Math.max(0, at - DICTIONARY_BYTES), at) : undefined;
    yield { raw: content.subarray(at, end), dictionary, last: end === content.length };
  }
}

/**
 * An entry read from a stream of unknown length when its turn comes: deflated (nothing is known of it ahead), in
 * {@link CHUNK_BYTES} pieces, at most {@link CHUNKS_AHEAD} read from the stream ahead of the writer.
 */
export function streamEntry(meta: EntryMeta, stream: Readable): ZipEntry {
  const chunks = () => readAhead(streamPieces(stream), (piece) => deflatePiece(piece.raw, piece.dictionary, true, piece.last), CHUNKS_AHEAD);
  return { ...meta, kind: 'chunked', compress: true, chunks };
}

/** The stream's bytes in pieces of {@link CHUNK_BYTES} (the last one shorter, possibly empty), with their dictionaries. */
async function* streamPieces(stream: Readable): AsyncGenerator<Piece> {
  let dictionary: Buffer | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (): Buffer => {
    const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    const piece = all.subarray(0, CHUNK_BYTES);
    const rest = all.subarray(piece.length);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return piece;
  };
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : asBuffer(chunk as Uint8Array);
    pending.push(bytes);
    pendingBytes += bytes.length;
    // Keep at least one byte back: the piece that ends the stream must be the one deflated with the final block.
    while (pendingBytes > CHUNK_BYTES) {
      const raw = take();
      yield { raw, dictionary, last: false };
      dictionary = raw.subarray(Math.max(0, raw.length - DICTIONARY_BYTES));
    }
  }
  yield { raw: take(), dictionary, last: true };
}

/** The bytes as a Buffer, without a copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A piece deflated with its dictionary, ending with a sync flush unless last; or the piece itself when stored. */
export async function deflatePiece(raw: Buffer, dictionary: Buffer | undefined, compress: boolean, last: boolean): Promise<Chunk> {
  if (!compress) return { raw, data: raw };
  const data = await deflateRaw(raw, {
    dictionary: dictionary !== undefined && dictionary.length > 0 ? dictionary : undefined,
    finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
  });
  return { raw, data };
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
export async function compresses(sample: Buffer): Promise<boolean> {
  return shrankEnough(sample, await deflateRaw(sample, SAMPLE_DEFLATE_OPTIONS));
}

/**
 * `prepareItem` applied to the items, at most `ahead` at a time, results in the items' order. A failure surfaces when
 * its item's turn comes.
 */
export async function* readAhead<T, R>(
  items: Iterator<T> | AsyncIterator<T>,
  prepareItem: (item: T) => Promise<R>,
  ahead: number,
): AsyncGenerator<R> {
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
