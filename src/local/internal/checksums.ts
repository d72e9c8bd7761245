/* eslint-disable no-bitwise -- CRC arithmetic */
import * as crypto from 'crypto';
import * as zlib from 'zlib';

/**
 * The flexible checksums S3 accepts (`x-amz-checksum-<algorithm>` headers or aws-chunked trailers). The AWS SDK v3
 * sends CRC32 by default since `requestChecksumCalculation: WHEN_SUPPORTED` became the default (early 2025).
 */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Checksum {
  update(data: Buffer): void;
  /** The base64 of the big-endian digest, as S3 headers carry it. */
  digest(): string;
}

/** `x-amz-checksum-crc32` -> 'CRC32'; undefined for any other header. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(name.toLowerCase());
  const algorithm = m?.[1].toUpperCase();
  return CHECKSUM_ALGORITHMS.find((a) => a === algorithm);
}

export function checksumHeaderOf(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'CRC32':
      return crc32Checksum();
    case 'CRC32C':
      return crc32cChecksum();
    case 'CRC64NVME':
      return crc64NvmeChecksum();
    case 'SHA1':
    case 'SHA256': {
      const hash = crypto.createHash(algorithm.toLowerCase());
      return { update: (data) => hash.update(data), digest: () => hash.digest('base64') };
    }
  }
}

function uint32Base64(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString('base64');
}

function crc32Checksum(): Checksum {
  // zlib.crc32 is native (Node >= 20.15 / 22.2).
  let crc = 0;
  return { update: (data) => (crc = zlib.crc32(data, crc)), digest: () => uint32Base64(crc) };
}

/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, byte-wise table. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32cChecksum(): Checksum {
  let crc = 0xffffffff;
  return {
    update: (data) => {
      for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
    },
    digest: () => uint32Base64(~crc),
  };
}

/**
 * CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones), computed on two 32-bit halves
 * because BigInt per byte is far too slow for 200 MB artifacts.
 */
const CRC64_TABLE = (() => {
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  const polyLo = 0xac4bc9b5;
  const polyHi = 0x9a6c9329;
  for (let n = 0; n < 256; n++) {
    let l = n;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const bit = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (bit) {
        l = (l ^ polyLo) >>> 0;
        h = (h ^ polyHi) >>> 0;
      }
    }
    lo[n] = l;
    hi[n] = h;
  }
  return { lo, hi };
})();

function crc64NvmeChecksum(): Checksum {
  let lo = 0xffffffff;
  let hi = 0xffffffff;
  return {
    update: (data) => {
      const { lo: tLo, hi: tHi } = CRC64_TABLE;
      for (let i = 0; i < data.length; i++) {
        const idx = (lo ^ data[i]) & 0xff;
        lo = (((lo >>> 8) | (hi << 24)) ^ tLo[idx]) >>> 0;
        hi = ((hi >>> 8) ^ tHi[idx]) >>> 0;
      }
    },
    digest: () => {
      const out = Buffer.alloc(8);
      out.writeUInt32BE(~hi >>> 0, 0);
      out.writeUInt32BE(~lo >>> 0, 4);
      return out.toString('base64');
    },
  };
}
