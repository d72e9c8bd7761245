/* eslint-disable no-bitwise -- zip headers pack UNIX modes and host ids into bit fields */
/**
 * Reading an entry's data: stored bytes and inflated streams (through the random-access reader, or straight from a
 * local zip file),
 * bounded by the extraction limits and checked against the declared size and CRC-32.
 */
import * as fs from 'fs';
import { pipeline as streamPipeline, Readable, Transform } from 'stream';
import * as zlib from 'zlib';
import { crc32 } from './crc32';
import { asZipError, BIG_CHUNK_BYTES } from './open';
import { ExtractionLimits, shortName, tooLarge } from './safety';
import { ArtifactSafetyError } from '../errors';
import type { CentralDirectory as ZipFile, CentralEntry as Entry } from './central-directory';

const INFLATE_CHUNK_BYTES = 256 * 1024;
export interface SyncEntryData {
  /** The stored bytes of an entry, read synchronously; valid until the next call (a shared buffer). */
  compressed(entry: Entry): Buffer;
}

/** How entry data is read: through the random-access reader's streams, or straight from the zip file with large buffers. */
export interface EntryData {
  /** Synchronous reads, when the zip is a local file. */
  readonly sync?: SyncEntryData;
  /** The stored (compressed) bytes of an entry, whole. */
  compressed(entry: Entry): Promise<Buffer>;
  /** The inflated bytes of an entry; the stream fails when they differ from the declared size. */
  inflated(entry: Entry): Promise<Readable>;
  close(): Promise<void>;
}

export function readerEntryData(zip: ZipFile, artifact: string): EntryData {
  return {
    compressed: async (entry) => {
      const raw = await zip.storedStream(entry);
      const chunks: Buffer[] = [];
      for await (const chunk of raw) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    inflated: (entry) => openEntryStream(zip, entry, artifact),
    close: async () => undefined,
  };
}

/**
 * Entry data read from the downloaded zip file directly, in large chunks (16 KiB reads would dominate the CPU time of
 * large artifacts), small entries with synchronous reads. The reader still locates the data (local header, bounds).
 */
export async function fileEntryData(zip: ZipFile, file: string, artifact: string): Promise<EntryData> {
  const handle = await fs.promises.open(file, 'r');
  const dataStart = (entry: Entry) => zip.dataStart(entry);
  // One scratch buffer for the compressed bytes of small entries: the caller inflates (or copies) them before the next
  // read, and thousands of short-lived buffers would grow the process (external memory is collected late).
  let scratch = Buffer.allocUnsafe(0);
  return {
    sync: {
      compressed: (entry) => {
        const start = dataStartSync(zip, handle.fd, entry);
        if (scratch.length < entry.compressedSize) scratch = Buffer.allocUnsafe(Math.max(entry.compressedSize, 64 * 1024));
        const buffer = scratch.subarray(0, entry.compressedSize);
        if (entry.compressedSize > 0 && fs.readSync(handle.fd, buffer, 0, buffer.length, start) !== buffer.length) {
          throw new Error(`unexpected end of the zip in entry ${shortName(entry.fileName)}`);
        }
        return buffer;
      },
    },
    compressed: async (entry) => {
      const start = await dataStart(entry);
      const buffer = Buffer.allocUnsafe(entry.compressedSize);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      if (bytesRead !== buffer.length) throw new Error(`unexpected end of the zip in entry ${shortName(entry.fileName)}`);
      return buffer;
    },
    inflated: async (entry) => {
      if (entry.isEncrypted() || (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)) return openEntryStream(zip, entry, artifact);
      const start = await dataStart(entry);
      const raw =
        entry.compressedSize === 0
          ? Readable.from([])
          : fs.createReadStream(file, { start, end: start + entry.compressedSize - 1, highWaterMark: BIG_CHUNK_BYTES });
      const checked = checkedContent(entry, artifact);
      const stages: NodeJS.ReadWriteStream[] =
        entry.compressionMethod === 8 ? [zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES }), checked] : [checked];
      // Errors of any stage end up on the last one, which the caller pipes and awaits.
      streamPipeline([raw, ...stages] as never, () => undefined);
      return checked;
    },
    close: () => handle.close(),
  };
}

/** Where an entry's data starts: after its local header (what CentralDirectory.dataStart computes, synchronously). */
function dataStartSync(zip: ZipFile, fd: number, entry: Entry): number {
  const header = Buffer.allocUnsafe(30);
  if (fs.readSync(fd, header, 0, 30, entry.relativeOffsetOfLocalHeader) !== 30) {
    throw new Error(`unexpected end of the zip at the header of ${shortName(entry.fileName)}`);
  }
  return zip.dataStartFrom(header, entry);
}

/**
 * Fails when an entry inflates to more or fewer bytes than its header declares, or when its bytes do not match the
 * CRC-32 of the central directory (as Info-ZIP's unzip checks it).
 */
function checkedContent(entry: Entry, artifact: string): Transform {
  let seen = 0;
  let crc = 0;
  const mismatch = (what: string) =>
    new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: entry ${shortName(entry.fileName)} ${what}`, entry.fileName);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > entry.uncompressedSize) {
        callback(mismatch(`inflates to more than the ${entry.uncompressedSize} bytes its header declares (too many bytes)`));
        return;
      }
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
    flush(callback) {
      if (seen < entry.uncompressedSize) callback(mismatch(`inflates to ${seen} bytes, not the ${entry.uncompressedSize} its header declares`));
      else if (crc >>> 0 !== entry.crc32 >>> 0) callback(mismatch(crcMismatch(crc, entry)));
      else callback();
    },
  });
}

/** Throws when `content` (an entry's whole bytes) does not match its CRC-32. */
function checkCrc(content: Buffer, entry: Entry, artifact: string): void {
  const crc = crc32(content);
  if (crc >>> 0 !== entry.crc32 >>> 0) {
    throw new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: entry ${shortName(entry.fileName)} ${crcMismatch(crc, entry)}`, entry.fileName);
  }
}

function crcMismatch(crc: number, entry: Entry): string {
  const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
  return `fails its CRC-32 check (the data gives ${hex(crc)}, the zip says ${hex(entry.crc32)}): the artifact is damaged`;
}

type CountingTransform = Transform & { bytes: number };

/** Passes bytes through while the artifact's total stays within `maxTotalBytes`. */
export function byteLimit(budget: { remaining: number }, limits: ExtractionLimits, artifact: string, entryName: string): CountingTransform {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      counter.bytes += chunk.length;
      budget.remaining -= chunk.length;
      if (budget.remaining < 0) {
        callback(tooLarge(artifact, limits, entryName));
        return;
      }
      callback(null, chunk);
    },
  }) as CountingTransform;
  counter.bytes = 0;
  return counter;
}

/** An entry's inflated bytes through the random-access reader, checked against its declared size and CRC-32. */
export async function openEntryStream(zip: ZipFile, entry: Entry, artifact: string): Promise<Readable> {
  if (entry.isEncrypted()) {
    throw new ArtifactSafetyError('corrupt', `Artifact ${artifact}: entry ${shortName(entry.fileName)} is encrypted`, entry.fileName);
  }
  let raw: Readable;
  try {
    // 4.4.5: 0 stored, 8 deflated; the only methods zip tools write by default, and the only ones we read.
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) throw new Error(`unsupported compression method: ${entry.compressionMethod}`);
    raw = await zip.storedStream(entry);
  } catch (error) {
    throw asZipError(error, artifact);
  }
  const checked = checkedContent(entry, artifact);
  const stages: NodeJS.ReadWriteStream[] =
    entry.compressionMethod === 8 ? [zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES }), checked] : [checked];
  // Errors of any stage end up on `checked`, which the caller reads.
  streamPipeline([raw, ...stages] as never, () => undefined);
  return checked;
}

/**
 * Reads an entry into one buffer of its declared size, at most `maxBytes`: refused on the declared size before a byte
 * is read, and on the bytes as they come (a header that understates the size fails the size check of checkedContent).
 */
export async function readEntryBuffer(
  zip: ZipFile,
  entry: Entry,
  maxBytes: number,
  artifact: string,
  name = entry.fileName,
  tooBig = () => new ArtifactSafetyError('too-large', `Artifact ${artifact}: entry ${shortName(name)} is larger than ${maxBytes} bytes`, name),
): Promise<Buffer> {
  if (entry.uncompressedSize > maxBytes) throw tooBig();
  const content = Buffer.allocUnsafe(entry.uncompressedSize);
  let total = 0;
  try {
    for await (const chunk of await openEntryStream(zip, entry, artifact)) {
      if (total + (chunk as Buffer).length > maxBytes) throw tooBig();
      total += (chunk as Buffer).copy(content, total);
    }
  } catch (error) {
    throw asZipError(error, artifact);
  }
  return content.subarray(0, total);
}

/**
 * A small entry read whole and inflated in one synchronous call: an async zlib stream per file costs more CPU than
 * inflating the file. The output is capped at the declared size,
 * so a lying header cannot make this inflate more.
 */
export async function inflateSmallEntry(data: EntryData, entry: Entry, artifact: string): Promise<Buffer> {
  const method = entry.compressionMethod;
  if ((method !== 0 && method !== 8) || entry.isEncrypted()) {
    // openEntryStream reports what cannot be read (encryption, other methods)
    const chunks: Buffer[] = [];
    for await (const chunk of await data.inflated(entry)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  return inflateSmall(await data.compressed(entry), entry, artifact);
}

/** Inflates a whole small entry, the output capped at its declared size (a lying header cannot make it inflate more). */
export function inflateSmall(compressed: Buffer, entry: Entry, artifact: string): Buffer {
  const corrupt = (why: string) =>
    new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: entry ${shortName(entry.fileName)} ${why}`, entry.fileName);
  let content: Buffer;
  if (entry.compressionMethod === 8) {
    try {
      content = zlib.inflateRawSync(compressed, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (error) {
      throw corrupt((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'inflates to more than its declared size' : 'has invalid deflate data');
    }
  } else {
    content = compressed;
  }
  if (content.length !== entry.uncompressedSize) {
    throw corrupt(`inflates to ${content.length} bytes, not the ${entry.uncompressedSize} its header declares`);
  }
  checkCrc(content, entry, artifact);
  return content;
}
