/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * The zip records the writer emits (local header, data descriptor, central directory, end records, ZIP64), as
 * APPNOTE.TXT 6.3.x describes them and Info-ZIP, yazl and Python's zipfile write them.
 */

/** What an entry records besides its bytes. */
export interface EntryMeta {
  /** Its path in the zip, `/`-separated. */
  readonly relative: string;
  /** UNIX mode, file type bits included. */
  readonly mode: number;
  readonly mtime: Date;
}

/** UNIX file type of a symbolic link (S_IFLNK), in the mode an entry records. */
export const SYMLINK = 0o120000;
export const STORED = 0;
export const DEFLATED = 8;
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
export function localFileHeader(name: Buffer, entry: EntryMeta, method: number, sizes: EntrySizes | undefined): Buffer {
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
export function dataDescriptor(sizes: EntrySizes): Buffer {
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
export function centralDirectoryRecord(
  name: Buffer,
  entry: EntryMeta,
  method: number,
  sizes: EntrySizes,
  headerOffset: number,
  streamed: boolean,
): Buffer {
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
export function endOfCentralDirectory(entries: number, centralSize: number, centralOffset: number): Buffer {
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
