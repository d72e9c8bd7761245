/**
 * Crafts zip files byte by byte, including the malicious ones no zip library will write: entry names with `..`,
 * absolute paths, drive letters or backslashes; symlink entries; lying size headers; overlapping entries; and a
 * 1 GiB-of-zeros bomb built in milliseconds from one repeated deflate block.
 */
import * as zlib from 'zlib';

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

const MADE_BY_UNIX = (3 << 8) | 20;

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
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x0800, 6); // UTF-8 names
      local.writeUInt16LE(method, 8);
      local.writeUInt16LE(0, 10);
      local.writeUInt16LE(0x21, 12); // 1980-01-01
      local.writeUInt32LE(crc >>> 0, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(entry.declaredSize ?? uncompressed, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      offsets.push(offset);
      locals.push(local, name, body);
      offset += local.length + name.length + body.length;
    }
    sizes[i] = info;
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(info.method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(info.crc >>> 0, 16);
    central.writeUInt32LE(info.compressed, 20);
    central.writeUInt32LE(entry.declaredSize ?? info.uncompressed, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((((entry.mode ?? 0o100644) & 0xffff) << 16) >>> 0, 38);
    central.writeUInt32LE(offsets[i], 42);
    centrals.push(central, name);
  });
  const centralDirectory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDirectory, end]);
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
