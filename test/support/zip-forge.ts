/**
 * Forges zip files byte by byte, including the malicious ones no zip library will write: entry names with `..`,
 * absolute paths, drive letters or backslashes; symlink entries; lying size headers; overlapping entries; a
 * 1 GiB-of-zeros bomb built in milliseconds from one repeated deflate block; ZIP64 archives with 65,536+ entries (in
 * a few megabytes); entries whose sizes live in a ZIP64 extra field; and broken archives (flipped bytes, wrong CRCs).
 * The runtime, local and reliability suites all take their zips from here.
 */
/* eslint-disable no-bitwise */ // zip headers are bit fields (versionMadeBy, external attributes, CRC as uint32)
import * as zlib from 'zlib';

/** What a local header and its central-directory header both say about one entry. */
interface HeaderFields {
  /** Version needed to extract: 20 (deflate) or 45 (ZIP64). */
  readonly version: number;
  readonly method: number;
  readonly crc: number;
  readonly compressed: number;
  readonly uncompressed: number;
  readonly name: Buffer;
  readonly extra?: Buffer;
}

/** Record signatures (PKWARE APPNOTE.TXT 4.3.7, 4.3.12, 4.3.14, 4.3.15, 4.3.16). */
const SIGNATURE = { local: 0x04034b50, central: 0x02014b50, end: 0x06054b50, end64: 0x06064b50, locator64: 0x07064b50 } as const;
/** Version made by: UNIX (3), so the high 16 bits of the external attributes are the mode; then the zip version. */
const MADE_BY = { zip: (3 << 8) | 20, zip64: (3 << 8) | 45 } as const;
/** General purpose bit 11: the name is UTF-8. */
const UTF8_NAMES = 0x0800;
/** The last-modified date of every entry: 1980-01-01, the first MS-DOS date. */
const DOS_DATE_1980_01_01 = 0x21;

function localHeader(f: HeaderFields): Buffer {
  const local = Buffer.alloc(30);
  local.writeUInt32LE(SIGNATURE.local, 0);
  local.writeUInt16LE(f.version, 4);
  local.writeUInt16LE(UTF8_NAMES, 6);
  local.writeUInt16LE(f.method, 8);
  local.writeUInt16LE(0, 10);
  local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
  local.writeUInt32LE(f.crc >>> 0, 14);
  local.writeUInt32LE(f.compressed, 18);
  local.writeUInt32LE(f.uncompressed, 22);
  local.writeUInt16LE(f.name.length, 26);
  local.writeUInt16LE(f.extra?.length ?? 0, 28);
  return local;
}

/**
 * The central-directory header: the local header's fields from "version needed" to "extra field length" stand in it
 * in the same order, two bytes further on (after "version made by"), followed by the attributes and the offset.
 */
function centralHeader(f: HeaderFields & { readonly madeBy: number; readonly mode: number; readonly offset: number }): Buffer {
  const central = Buffer.alloc(46);
  central.writeUInt32LE(SIGNATURE.central, 0);
  central.writeUInt16LE(f.madeBy, 4);
  localHeader(f).copy(central, 6, 4, 30);
  central.writeUInt32LE(((f.mode & 0xffff) << 16) >>> 0, 38);
  central.writeUInt32LE(f.offset, 42);
  return central;
}

/** The classic end-of-central-directory record; ZIP64 archives write the 0xFFFF/0xFFFFFFFF sentinels in it. */
function endRecord(entries: number, directoryLength: number, directoryOffset: number): Buffer {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIGNATURE.end, 0);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(directoryLength, 12);
  end.writeUInt32LE(directoryOffset, 16);
  return end;
}

export interface CraftedEntry {
  readonly name: string;
  /** The content; deflated unless `store` is set. */
  readonly data?: Buffer;
  /** Pre-made deflate data (raw), for the bomb. */
  readonly deflated?: { readonly raw: Buffer; readonly crc32: number; readonly size: number };
  readonly store?: boolean;
  /** UNIX mode including the file type bits, e.g. 0o100755 or 0o120777 (symlink). */
  readonly mode?: number;
  /** Overrides the uncompressed size written in the headers (to lie). */
  readonly declaredSize?: number;
  /** Points this central-directory entry at the local header of an earlier entry (overlapping entries). */
  readonly sameDataAs?: number;
}

export function craftZip(entries: readonly CraftedEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets: number[] = [];
  const sizes: Array<{ crc: number; compressed: number; uncompressed: number; method: number }> = [];
  let offset = 0;
  entries.forEach((entry, i) => {
    const name = Buffer.from(entry.name, 'utf8');
    let info;
    if (entry.sameDataAs !== undefined) {
      info = { ...sizes[entry.sameDataAs] };
      offsets.push(offsets[entry.sameDataAs]);
    } else {
      const data = entry.data ?? Buffer.alloc(0);
      const method = entry.deflated || !entry.store ? 8 : 0;
      const body = entry.deflated ? entry.deflated.raw : method === 8 ? zlib.deflateRawSync(data) : data;
      const crc = entry.deflated ? entry.deflated.crc32 : zlib.crc32(data);
      const uncompressed = entry.deflated ? entry.deflated.size : data.length;
      info = { crc, compressed: body.length, uncompressed, method };
      const local = localHeader({ version: 20, ...info, uncompressed: entry.declaredSize ?? uncompressed, name });
      offsets.push(offset);
      locals.push(local, name, body);
      offset += local.length + name.length + body.length;
    }
    sizes[i] = info;
    const central = centralHeader({
      version: 20,
      madeBy: MADE_BY.zip,
      ...info,
      uncompressed: entry.declaredSize ?? info.uncompressed,
      name,
      mode: entry.mode ?? 0o100644,
      offset: offsets[i],
    });
    centrals.push(central, name);
  });
  const centralDirectory = Buffer.concat(centrals);
  return Buffer.concat([...locals, centralDirectory, endRecord(entries.length, centralDirectory.length, offset)]);
}

/** crc32 of 2^30 zero bytes (computed once with zlib.crc32 over 1024 x 1 MiB of zeros; it takes seconds). */
const CRC32_OF_ONE_GIB_OF_ZEROS = 1533330096;

/**
 * Deflate data for 1 GiB of zeros (about 1 MB: ~1000:1), made by repeating one sync-flushed deflate block of 1 MiB
 * of zeros 1024 times and closing the stream with an empty final block. Nothing of 1 GiB is ever held or computed.
 */
export function oneGibOfZerosDeflated(): { raw: Buffer; crc32: number; size: number } {
  const block = zlib.deflateRawSync(Buffer.alloc(1024 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const finalEmptyBlock = Buffer.from([0x03, 0x00]);
  return { raw: Buffer.concat([...Array<Buffer>(1024).fill(block), finalEmptyBlock]), crc32: CRC32_OF_ONE_GIB_OF_ZEROS, size: 1024 ** 3 };
}

export interface ForgedEntry {
  readonly name: string;
  readonly data?: Buffer;
  /** Write the sizes as 0xFFFFFFFF with the real ones in a ZIP64 extended-information extra field. */
  readonly zip64Sizes?: boolean;
}

/**
 * A stored (uncompressed) zip with ZIP64 end records, whatever the entry count: the classic end record says 0xFFFF
 * entries and points to the ZIP64 one, as zip tools do past 65,535 entries.
 */
export function forgeZip64(entries: readonly ForgedEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = entry.data ?? Buffer.alloc(0);
    const crc = data.length === 0 ? 0 : zlib.crc32(data);
    const extra = entry.zip64Sizes ? zip64Extra(data.length) : Buffer.alloc(0);
    const size32 = entry.zip64Sizes ? 0xffffffff : data.length;
    const fields = { version: 45, method: 0, crc, compressed: size32, uncompressed: size32, name, extra };
    const local = localHeader(fields);
    const central = centralHeader({ ...fields, madeBy: MADE_BY.zip64, mode: 0o100644, offset });
    locals.push(local, name, extra, data);
    centrals.push(central, name, extra);
    offset += local.length + name.length + extra.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(SIGNATURE.end64, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeUInt16LE(MADE_BY.zip64, 12);
  end64.writeUInt16LE(45, 14);
  end64.writeBigUInt64LE(BigInt(entries.length), 24);
  end64.writeBigUInt64LE(BigInt(entries.length), 32);
  end64.writeBigUInt64LE(BigInt(directory.length), 40);
  end64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(SIGNATURE.locator64, 0);
  locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...locals, directory, end64, locator, endRecord(0xffff, 0xffffffff, 0xffffffff)]);
}

/** ZIP64 extended information: uncompressed then compressed size, 8 bytes each. */
function zip64Extra(size: number): Buffer {
  const extra = Buffer.alloc(20);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(16, 2);
  extra.writeBigUInt64LE(BigInt(size), 4);
  extra.writeBigUInt64LE(BigInt(size), 12);
  return extra;
}

/** `count` empty files named d0/f0000000, d0/f0000001, ... (4,096 a folder). */
export function manyEntries(count: number): ForgedEntry[] {
  return Array.from({ length: count }, (_, i) => ({ name: `d${Math.floor(i / 4096)}/f${i.toString().padStart(7, '0')}` }));
}

/** The offset of the central directory's first header (the start of the zip's table of contents). */
export function centralDirectoryOffset(zip: Buffer): number {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  return end < 0 ? -1 : zip.readUInt32LE(end + 16);
}

/**
 * The audit's escaping link (issue #12): `sub/`, `sub/l2 -> .`, and `l1 -> (sub/l2/../)×repeats (../)×ups rest`.
 * Lexically each `sub/l2/..` is `sub`, so the target looks `repeats - ups` folders deep inside; the kernel resolves
 * `sub/l2` to `sub` first, so each `sub/l2/..` is the folder itself and the target is `ups` folders above it.
 */
export function linkThroughLinkEntries(ups: number, rest: string, repeats = 12): CraftedEntry[] {
  return [
    { name: 'sub/', mode: 0o040755 },
    { name: 'sub/l2', data: Buffer.from('.'), mode: 0o120777 },
    { name: 'l1', data: Buffer.from(`${'sub/l2/../'.repeat(repeats)}${'../'.repeat(ups)}${rest}`), mode: 0o120777 },
  ];
}

/** Sets the CRC-32 of the first entry (its local header at offset 0 and its central-directory header) to `crc`. */
export function withFirstCrc(zip: Buffer, crc: number): Buffer {
  const copy = Buffer.from(zip);
  copy.writeUInt32LE(crc >>> 0, 14);
  copy.writeUInt32LE(crc >>> 0, centralDirectoryOffset(copy) + 16);
  return copy;
}

/** Flips one bit of the first occurrence of `data` in the zip (the stored bytes of an entry), CRC unchanged. */
export function withFlippedBit(zip: Buffer, data: Buffer, bit = 0): Buffer {
  const copy = Buffer.from(zip);
  const at = copy.indexOf(data);
  if (at < 0) throw new Error('data not found in the zip');
  copy[at + (bit >> 3)] ^= 1 << (bit & 7);
  return copy;
}
