/**
 * CRC-32 as zip computes it, for the reader's checks and the folder writer. One function, so that both sides agree.
 */
import * as zlib from 'zlib';

let crc32Function: ((data: Uint8Array, previous?: number) => number) | undefined;

/**
 * CRC-32 as zip computes it (unsigned): zlib.crc32 (native, Node >= 20.15 and 22.2, so every Lambda Node.js runtime),
 * else buffer-crc32 (yazl's dependency, bundled with the runtime).
 */
export function crc32(data: Uint8Array, previous = 0): number {
  if (crc32Function === undefined) {
    const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    if (typeof native === 'function') {
      crc32Function = native;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
      const bufferCrc32 = require('buffer-crc32') as { unsigned: (buf: Buffer, previous?: number) => number };
      crc32Function = (buf, prev) => bufferCrc32.unsigned(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), prev);
    }
  }
  // eslint-disable-next-line no-bitwise -- an unsigned 32-bit value, as zip headers store it
  return crc32Function(data, previous) >>> 0;
}
