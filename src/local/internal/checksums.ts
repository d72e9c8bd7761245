/* eslint-disable no-bitwise -- a CRC32 value is written as unsigned */
import * as crypto from 'crypto';
import * as zlib from 'zlib';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';

/**
 * The flexible checksums S3 accepts (`x-amz-checksum-<algorithm>` headers or aws-chunked trailers). The AWS SDK v3
 * sends CRC32 by default since `requestChecksumCalculation: WHEN_SUPPORTED` became the default (early 2025).
 */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Checksum {
  update(data: Buffer): void;
  /** The base64 of the big-endian digest, as S3 headers carry it. */
  digest(): Promise<string>;
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

/**
 * CRC32C and CRC64NVME are the AWS SDK's own implementations (`@aws-sdk/checksums/crc`, what S3Client computes them
 * with), so the local S3 server verifies with the same code the client used; CRC32 is Node's native zlib.crc32, the
 * same polynomial the SDK's Crc32 computes; SHA-1/SHA-256 are Node's crypto.
 */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'CRC32': {
      let crc = 0;
      return {
        update: (data) => (crc = zlib.crc32(data, crc)),
        digest: async () => {
          const out = Buffer.alloc(4);
          out.writeUInt32BE(crc >>> 0);
          return out.toString('base64');
        },
      };
    }
    case 'CRC32C':
      return sdkChecksum(new Crc32c());
    case 'CRC64NVME':
      return sdkChecksum(new Crc64Nvme());
    case 'SHA1':
    case 'SHA256': {
      const hash = crypto.createHash(algorithm.toLowerCase());
      return { update: (data) => hash.update(data), digest: async () => hash.digest('base64') };
    }
  }
}

function sdkChecksum(checksum: { update(data: Uint8Array): void; digest(): Promise<Uint8Array> }): Checksum {
  return { update: (data) => checksum.update(data), digest: async () => Buffer.from(await checksum.digest()).toString('base64') };
}
