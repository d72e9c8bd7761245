/* eslint-disable no-bitwise -- CRC-32 is bit arithmetic */
/**
 * CRC-32 as zip computes it, for the reader's checks and the writer. One function, so that both sides agree.
 */
import * as zlib from 'zlib';

type Crc32 = (data: Uint8Array, previous?: number) => number;

/** zlib.crc32: native, in Node.js >= 20.15 and 22.2, so in every Lambda Node.js runtime. */
const native = (zlib as { crc32?: Crc32 }).crc32;

/**
 * CRC-32 as zip computes it (APPNOTE.TXT 4.4.7), unsigned, continuing from
 * `previous` (the CRC-32 of the bytes before `data`).
 */
export function crc32(data: Uint8Array, previous = 0): number {
  return (typeof native === 'function' ? native(data, previous) : crc32Table(data, previous)) >>> 0;
}

/** Zip's CRC-32 polynomial, reflected (APPNOTE.TXT 4.4.7). */
const POLYNOMIAL = 0xedb88320;
let table: Uint32Array | undefined;

/**
 * The table-driven CRC-32, for a Node.js without zlib.crc32 (before 20.15 / 22.2): the same values as zlib's, one byte
 * per step. Exported so that a test holds it against zlib.crc32.
 */
export function crc32Table(data: Uint8Array, previous = 0): number {
  table ??= Uint32Array.from({ length: 256 }, (_, byte) => {
    let c = byte;
    for (let bit = 0; bit < 8; bit++) c = (c >>> 1) ^ (c & 1 ? POLYNOMIAL : 0);
    return c >>> 0;
  });
  let crc = ~previous;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
