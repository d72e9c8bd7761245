/**
 * Zips no well-behaved library writes, made cheaply byte by byte for the hostile-zip suite: ZIP64 archives with
 * 65,536+ entries (in a few megabytes), entries whose sizes live in a ZIP64 extra field, and broken archives
 * (random bytes, cut central directories, flipped bytes). Simple entries come from ../runtime/zip-craft.ts.
 */
/* eslint-disable no-bitwise */ // zip headers are bit fields (versionMadeBy, external attributes, CRC as uint32)
import * as zlib from 'zlib';
import type { CraftedEntry } from '../runtime/zip-craft';

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
const MADE_BY_UNIX_ZIP64 = (3 << 8) | 45;

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
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(size32, 18);
    local.writeUInt32LE(size32, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(CENTRAL, 0);
    central.writeUInt16LE(MADE_BY_UNIX_ZIP64, 4);
    central.writeUInt16LE(45, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(size32, 20);
    central.writeUInt32LE(size32, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, extra, data);
    centrals.push(central, name, extra);
    offset += local.length + name.length + extra.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(END64, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeUInt16LE(MADE_BY_UNIX_ZIP64, 12);
  end64.writeUInt16LE(45, 14);
  end64.writeBigUInt64LE(BigInt(entries.length), 24);
  end64.writeBigUInt64LE(BigInt(entries.length), 32);
  end64.writeBigUInt64LE(BigInt(directory.length), 40);
  end64.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(LOCATOR64, 0);
  locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...locals, directory, end64, locator, end]);
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

/** `count` empty files named f0000000, f0000001, ... */
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
