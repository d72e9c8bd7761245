/* eslint-disable no-bitwise -- zip records pack flags and host ids into bit fields */
/**
 * The zip's table of contents, read from its end: the end-of-central-directory record (and the ZIP64 one), the
 * central directory's entries, and each entry's local header (where its data starts). Field offsets are those of
 * PKWARE's APPNOTE.TXT 6.3.10 (https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT), cited by section below.
 *
 * Why our own reader (it replaced yauzl 3.4, which the runtime used only for this part): extraction, inflating,
 * CRC-32 and size checks, links and range reads were already the runtime's own, and yauzl's module graph cannot be
 * dropped by a bundler from a handler that reads artifacts. It accepts and refuses what yauzl 3.4 does (names decoded
 * alike, the same records trusted, the same lies refused): test/runtime/zip-central-directory.test.ts compares both
 * over the hostile corpus, Info-ZIP and Python zips and mutated ones.
 */
import * as fs from 'fs';
import { pipeline, Readable, Transform } from 'stream';
import { crc32 as crc32Of } from './crc32';
import { blockCachedReader, ByteSource, byteSourceOf, RangeSource } from '../random-access';
import type { ZipByteReader } from '../random-access';

/** 4.3.16: the end of central directory record without its comment. */
const EOCD_BYTES = 22;
/** 4.3.15: the ZIP64 end of central directory locator, right before the end record. */
const ZIP64_LOCATOR_BYTES = 20;
/** 4.3.14: the fixed part of the ZIP64 end of central directory record. */
const ZIP64_EOCD_BYTES = 56;
/** 4.3.12: the fixed part of a central directory file header. */
const CENTRAL_HEADER_BYTES = 46;
/** 4.3.7: the fixed part of a local file header. */
const LOCAL_HEADER_BYTES = 30;
/** The comment length is a 2-byte field (4.3.16), so the end record starts at most this far from the end. */
const MAX_COMMENT_BYTES = 0xffff;
const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** 4.4.4 general purpose bit flag: bit 0 encrypted, bit 6 strong encryption, bit 11 names in UTF-8. */
const FLAG_ENCRYPTED = 0x1;
const FLAG_STRONG_ENCRYPTION = 0x40;
const FLAG_UTF8 = 0x800;
/** 4.5.2 / 4.5.3: the ZIP64 extended information extra field. */
const ZIP64_EXTRA_ID = 0x0001;
/** 4.6.9: the Info-ZIP Unicode Path extra field. */
const UNICODE_PATH_EXTRA_ID = 0x7075;
/** 4.3.12 fields that a ZIP64 extra field replaces when they hold this value (4.5.3). */
const ZIP64_MARKER = 0xffffffff;
/** The central directory is read in windows of this size (a few reads for thousands of entries). */
const WINDOW_BYTES = 256 * 1024;

/** One central directory entry (4.3.12), its sizes and offset from the ZIP64 extra field where present (4.5.3). */
export class CentralEntry {
  /** The name as text (see decodeFileName); backslashes kept, treated as separators by safeEntryPath. */
  fileName = '';
  /** The stored name and its Info-ZIP Unicode Path (4.6.9) while they are needed (see releaseRawFields). */
  fileNameRaw?: Buffer;
  unicodePath?: Buffer;

  constructor(
    readonly versionMadeBy: number,
    readonly generalPurposeBitFlag: number,
    readonly compressionMethod: number,
    readonly crc32: number,
    readonly compressedSize: number,
    readonly uncompressedSize: number,
    readonly externalFileAttributes: number,
    readonly relativeOffsetOfLocalHeader: number,
  ) {}

  /** Traditional PKWARE encryption (4.4.4 bit 0): the runtime refuses such entries. */
  isEncrypted(): boolean {
    return (this.generalPurposeBitFlag & FLAG_ENCRYPTED) !== 0;
  }
}

/**
 * An opened zip: its end records read, its entries read one by one with readEntry() (at most `entryCount`, the
 * number the end record declares, so a record that understates the count cannot smuggle more in).
 */
export class CentralDirectory {
  private cursor: number;
  private entriesRead = 0;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  private closed?: Promise<void>;

  constructor(
    private readonly source: ByteSource,
    /** The zip's size in bytes. */
    readonly fileSize: number,
    readonly entryCount: number,
    centralDirectoryOffset: number,
  ) {
    this.cursor = centralDirectoryOffset;
  }

  /** The next entry, or undefined after the last one. Throws (plain Errors) on a record that is not what 4.3.12 says. */
  async readEntry(): Promise<CentralEntry | undefined> {
    if (this.entriesRead >= this.entryCount) return undefined;
    const header = await this.bytes(this.cursor, CENTRAL_HEADER_BYTES);
    const signature = header.readUInt32LE(0);
    if (signature !== CENTRAL_SIGNATURE) throw new Error(`invalid central directory file header signature: 0x${signature.toString(16)}`);
    const flags = header.readUInt16LE(8);
    const entry = new CentralEntry(
      header.readUInt16LE(4),
      flags,
      header.readUInt16LE(10),
      header.readUInt32LE(16),
      header.readUInt32LE(20),
      header.readUInt32LE(24),
      header.readUInt32LE(38),
      header.readUInt32LE(42),
    );
    if (flags & FLAG_STRONG_ENCRYPTION) throw new Error('strong encryption is not supported');
    const nameLength = header.readUInt16LE(28);
    const extraLength = header.readUInt16LE(30);
    const commentLength = header.readUInt16LE(32);
    this.cursor += CENTRAL_HEADER_BYTES;
    const variable = await this.bytes(this.cursor, nameLength + extraLength + commentLength);
    this.cursor += variable.length;
    this.entriesRead++;
    entry.fileNameRaw = variable.subarray(0, nameLength);
    applyExtraFields(entry, variable.subarray(nameLength, nameLength + extraLength));
    // A stored entry's data is its content (plus the 12-byte header of traditional encryption, 4.4.4 / 6.1.3).
    if (entry.compressionMethod === 0 && entry.compressedSize !== entry.uncompressedSize + (entry.isEncrypted() ? 12 : 0)) {
      throw new Error(`compressed/uncompressed size mismatch for stored file: ${entry.compressedSize} != ${entry.uncompressedSize}`);
    }
    return entry;
  }

  /** Where an entry's data starts: after its local header (4.3.7), whose name and extra field may differ in length. */
  async dataStart(entry: CentralEntry): Promise<number> {
    const at = entry.relativeOffsetOfLocalHeader;
    if (at + LOCAL_HEADER_BYTES > this.fileSize) throw new Error('unexpected EOF');
    return this.dataStartFrom(await this.source.read(at, at + LOCAL_HEADER_BYTES), entry);
  }

  /** Data start from an entry's local header (its first 30 bytes, 4.3.7), checked to lie within the zip with its data. */
  dataStartFrom(header: Buffer, entry: CentralEntry): number {
    const signature = header.readUInt32LE(0);
    if (signature !== LOCAL_SIGNATURE) throw new Error(`invalid local file header signature: 0x${signature.toString(16)}`);
    const start = entry.relativeOffsetOfLocalHeader + LOCAL_HEADER_BYTES + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (start + entry.compressedSize > this.fileSize) {
      throw new Error(`file data overflows file bounds: ${start} + ${entry.compressedSize} > ${this.fileSize}`);
    }
    return start;
  }

  /** An entry's stored (still compressed) bytes as a stream; it fails when the zip yields fewer or more of them. */
  async storedStream(entry: CentralEntry): Promise<Readable> {
    const start = await this.dataStart(entry);
    if (entry.compressedSize === 0) return Readable.from([]);
    return countedStream(this.source.stream(start, start + entry.compressedSize), entry.compressedSize);
  }

  /** Closes the source (the file, or the S3 reader's cache) in the background; later calls do nothing more. */
  close(): void {
    this.closed ??= this.source.close().catch(() => undefined);
  }

  /** Exactly `length` bytes at `position`, from the window over the central directory (refilled as the cursor moves). */
  private async bytes(position: number, length: number): Promise<Buffer> {
    const offset = position - this.windowStart;
    if (offset < 0 || offset + length > this.window.length) {
      if (position + length > this.fileSize) throw new Error('unexpected EOF');
      this.window = await this.source.read(position, Math.min(this.fileSize, position + Math.max(length, WINDOW_BYTES)));
      this.windowStart = position;
      return this.window.subarray(0, length);
    }
    return this.window.subarray(offset, offset + length);
  }
}

/**
 * Opens a zip read through `reader`: finds the end of central directory record (4.3.16) searching back from the end
 * (it ends with a comment of up to 64 KiB), and the ZIP64 end record (4.3.14) when its locator (4.3.15) precedes it.
 * Multi-disk zips are refused. The source is closed when the zip is refused.
 */
export async function openCentralDirectory(reader: ZipByteReader, size: number): Promise<CentralDirectory> {
  const source = byteSourceOf(reader);
  try {
    const { entryCount, offset } = await readEndRecords(source, size);
    return new CentralDirectory(source, size, entryCount, offset);
  } catch (error) {
    await source.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A local zip file, read through cached blocks (the central directory in a few reads); entry data streams in chunks
 * of `chunkBytes`.
 */
export async function fileZipReader(file: string, chunkBytes: number): Promise<{ reader: ZipByteReader; size: number }> {
  const handle = await fs.promises.open(file, 'r');
  const { size } = await handle.stat();
  const source: RangeSource = {
    size,
    readRange: async (start, end) => {
      const buffer = Buffer.allocUnsafe(end - start);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      return buffer.subarray(0, bytesRead);
    },
    streamRange: (start, end) => fs.createReadStream(file, { start, end: end - 1, highWaterMark: chunkBytes }),
    close: () => handle.close(),
  };
  return { reader: blockCachedReader(source, { blockBytes: chunkBytes, cachedBlocks: 4 }), size };
}

async function readEndRecords(source: ByteSource, size: number): Promise<{ entryCount: number; offset: number }> {
  const tailBytes = Math.min(ZIP64_LOCATOR_BYTES + EOCD_BYTES + MAX_COMMENT_BYTES, size);
  const tail = tailBytes === 0 ? Buffer.alloc(0) : await source.read(size - tailBytes, size);
  for (let i = tailBytes - EOCD_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== EOCD_SIGNATURE) continue;
    // The last signature found is the record: its comment must run exactly to the end of the file. (A zip whose
    // comment holds the signature, or with bytes appended, is ambiguous: refused, as yauzl refuses it.)
    const commentLength = tail.readUInt16LE(i + 20);
    const expected = tailBytes - i - EOCD_BYTES;
    if (commentLength !== expected) {
      throw new Error(`Invalid comment length. Expected: ${expected}. Found: ${commentLength}. Are there extra bytes at the end of the file?`);
    }
    if (i >= ZIP64_LOCATOR_BYTES && tail.readUInt32LE(i - ZIP64_LOCATOR_BYTES) === ZIP64_LOCATOR_SIGNATURE) {
      // 4.3.15: offset 8, the ZIP64 end record's offset. Its fields replace the classic ones (4.4.1.4), whatever they say.
      const recordOffset = readUInt64(tail, i - ZIP64_LOCATOR_BYTES + 8);
      if (recordOffset + ZIP64_EOCD_BYTES > size) throw new Error('unexpected EOF');
      const record = await source.read(recordOffset, recordOffset + ZIP64_EOCD_BYTES);
      if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw new Error('invalid zip64 end of central directory record signature');
      checkSingleDisk(record.readUInt32LE(16));
      return { entryCount: readUInt64(record, 32), offset: readUInt64(record, 48) };
    }
    checkSingleDisk(tail.readUInt16LE(i + 4));
    return { entryCount: tail.readUInt16LE(i + 10), offset: tail.readUInt32LE(i + 16) };
  }
  throw new Error('End of central directory record signature not found. Either not a zip file, or file is truncated.');
}

function checkSingleDisk(diskNumber: number): void {
  if (diskNumber !== 0) throw new Error(`multi-disk zip files are not supported: found disk number: ${diskNumber}`);
}

/**
 * Reads the extra fields (4.5.1: id and size, 2 bytes each, then the data; trailing bytes too short for a header are
 * ignored): the first ZIP64 extended information field (4.5.3) gives the sizes and offset that are 0xFFFFFFFF, in
 * that order; the first Unicode Path field (4.6.9) of version 1 whose CRC-32 matches the stored name gives the name.
 */
function applyExtraFields(entry: CentralEntry, extra: Buffer): void {
  const mutable = entry as { -readonly [K in keyof CentralEntry]: CentralEntry[K] };
  let zip64Seen = false;
  for (let i = 0; i + 3 < extra.length; ) {
    const id = extra.readUInt16LE(i);
    const end = i + 4 + extra.readUInt16LE(i + 2);
    if (end > extra.length) throw new Error('extra field length exceeds extra field buffer size');
    const data = extra.subarray(i + 4, end);
    i = end;
    if (id === ZIP64_EXTRA_ID && !zip64Seen) {
      zip64Seen = true;
      let at = 0;
      const next = (what: string): number => {
        if (at + 8 > data.length) throw new Error(`zip64 extended information extra field does not include ${what}`);
        at += 8;
        return readUInt64(data, at - 8);
      };
      if (entry.uncompressedSize === ZIP64_MARKER) mutable.uncompressedSize = next('uncompressed size');
      if (entry.compressedSize === ZIP64_MARKER) mutable.compressedSize = next('compressed size');
      if (entry.relativeOffsetOfLocalHeader === ZIP64_MARKER) mutable.relativeOffsetOfLocalHeader = next('relative header offset');
    } else if (id === UNICODE_PATH_EXTRA_ID && entry.unicodePath === undefined && data.length >= 6 && data[0] === 1) {
      // Version 1, then the CRC-32 of the stored name: a field that no longer matches its name is ignored (4.6.9).
      if (crc32Of(entry.fileNameRaw as Buffer) === data.readUInt32LE(1)) entry.unicodePath = data.subarray(5);
    }
  }
}

/**
 * The entry's name as text: the Unicode Path when present, else the stored name in UTF-8 when bit 11 says so, in
 * IBM code page 437 otherwise (Appendix D).
 */
export function decodeFileName(entry: CentralEntry): string {
  if (entry.unicodePath !== undefined) return entry.unicodePath.toString('utf8');
  const raw = entry.fileNameRaw ?? Buffer.alloc(0);
  if (entry.generalPurposeBitFlag & FLAG_UTF8) return raw.toString('utf8');
  let name = '';
  for (const byte of raw) name += CP437[byte];
  return name;
}

/** Drops the raw name once decoded: a listing of many thousands of entries keeps only what extraction needs. */
export function releaseRawFields(entry: CentralEntry): void {
  entry.fileNameRaw = undefined;
  entry.unicodePath = undefined;
}

/**
 * IBM code page 437 (Appendix D), with the graphic symbols its control codes show on screen, as yauzl and Info-ZIP's
 * unzip map them (a name with such bytes reads the same as it did with yauzl).
 */
const CP437 =
  '\u0000☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼ !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂' +
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** An unsigned 64-bit little-endian field, as a Number (exact up to 2^53; larger values fail the bounds checks). */
function readUInt64(buffer: Buffer, offset: number): number {
  return buffer.readUInt32LE(offset + 4) * 0x100000000 + buffer.readUInt32LE(offset);
}

/** Passes `stream` on, failing when it yields other than `expected` bytes (an object that changed under a range read). */
function countedStream(stream: Readable, expected: number): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > expected) callback(new Error(`too many bytes in the stream. expected ${expected}. got at least ${seen}`));
      else callback(null, chunk);
    },
    flush(callback) {
      if (seen < expected) callback(new Error(`not enough bytes in the stream. expected ${expected}. got only ${seen}`));
      else callback();
    },
  });
  pipeline(stream, counter, () => undefined);
  return counter;
}
