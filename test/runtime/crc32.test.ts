/**
 * The CRC-32 the zip reader and writer share: zlib.crc32 where Node.js has it, else a table-driven fallback. The
 * fallback is held against zlib.crc32 (native zlib, an outside implementation) on random inputs.
 */
import * as zlib from 'zlib';
import * as fc from 'fast-check';
import { crc32, crc32Table } from '../../src/runtime/zip/crc32';

const bytes = fc.uint8Array({ maxLength: 4096 });
const crcValue = fc.integer({ min: 0, max: 0xffffffff });

test('the table fallback gives zlib.crc32 values on random bytes', () => {
  fc.assert(fc.property(bytes, (data) => crc32Table(data) === zlib.crc32(data)), { numRuns: 500 });
});

test('the table fallback continues from a previous CRC-32 as zlib.crc32 does', () => {
  fc.assert(fc.property(bytes, crcValue, (data, previous) => crc32Table(data, previous) === zlib.crc32(data, previous)), { numRuns: 500 });
});

test('the CRC-32 of two pieces chained is the CRC-32 of the whole, with and without zlib', () => {
  fc.assert(
    fc.property(bytes, bytes, (a, b) => {
      const whole = zlib.crc32(Buffer.concat([a, b]));
      return crc32Table(b, crc32Table(a)) === whole && crc32(b, crc32(a)) === whole;
    }),
    { numRuns: 300 },
  );
});

test('the CRC-32 of no bytes is 0 and the check value of "123456789" is 0xCBF43926', () => {
  // 0xCBF43926: the standard check value of CRC-32/ISO-HDLC, the CRC zip uses.
  const check = Buffer.from('123456789', 'latin1');
  expect([crc32Table(new Uint8Array(0)), crc32Table(check), crc32(check)]).toEqual([0, 0xcbf43926, 0xcbf43926]);
});
