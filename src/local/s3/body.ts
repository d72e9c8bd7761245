import * as crypto from 'crypto';
import * as fs from 'fs';
import type * as http from 'http';
import { PassThrough, Transform, type TransformCallback } from 'stream';
import { pipeline } from 'stream/promises';
import { S3Error, entityTooLarge } from './errors';
import { AwsChunkedDecoder, AwsChunkedError } from '../internal/aws-chunked';
import { CHECKSUM_ALGORITHMS, checksumAlgorithmOfHeader, checksumHeaderOf, createChecksum, type Checksum, type ChecksumAlgorithm } from '../internal/checksums';
import { header } from '../internal/http';

export interface ReceivedBody {
  readonly file: string;
  readonly size: number;
  readonly md5: Buffer;
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

/** A Transform that feeds every chunk to the given hashes and counts bytes, passing the data on unchanged. */
export function meter(hashes: ReadonlyArray<{ update(data: Buffer): unknown }>, maxBytes = Infinity): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      t.bytes += chunk.length;
      // Checked as the bytes arrive: an aws-chunked or chunked body announces no length to refuse up front.
      if (t.bytes > maxBytes) return callback(entityTooLarge(undefined, maxBytes));
      for (const h of hashes) h.update(chunk);
      callback(null, chunk);
    },
  }) as Transform & { bytes: number };
  t.bytes = 0;
  return t;
}

/**
 * Streams a PutObject/UploadPart body to `file`: decodes aws-chunked framing, and checks what the client declared —
 * the decoded length, a checksum (header or trailer), Content-MD5 and a signed SHA-256 payload hash — the way S3 does.
 */
export async function receiveBody(req: http.IncomingMessage, file: string, maxBytes = Infinity): Promise<ReceivedBody> {
  const declaredLength = Number(header(req, 'x-amz-decoded-content-length') ?? header(req, 'content-length'));
  if (declaredLength > maxBytes) throw entityTooLarge(declaredLength, maxBytes);
  const contentSha256 = header(req, 'x-amz-content-sha256');
  const contentEncoding = header(req, 'content-encoding') ?? '';
  const chunked = contentEncoding.split(',').some((e) => e.trim() === 'aws-chunked') || (contentSha256?.startsWith('STREAMING-') ?? false);
  const algorithm = declaredChecksumAlgorithm(req);
  const md5 = crypto.createHash('md5');
  const checksum: Checksum | undefined = algorithm && createChecksum(algorithm);
  const sha256 = contentSha256 && /^[0-9a-f]{64}$/.test(contentSha256) ? crypto.createHash('sha256') : undefined;
  const hashes = [md5, ...(checksum ? [checksum] : []), ...(sha256 ? [sha256] : [])];
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;
  const counter = meter(hashes, maxBytes);
  try {
    await pipeline(req, decoder ?? new PassThrough(), counter, fs.createWriteStream(file));
    const md5Digest = md5.digest();
    if (chunked) {
      const declared = header(req, 'x-amz-decoded-content-length');
      if (declared !== undefined && Number(declared) !== counter.bytes) {
        throw new S3Error(400, 'IncompleteBody', `You did not provide the number of bytes specified by the x-amz-decoded-content-length header (${declared}; received ${counter.bytes}).`);
      }
    }
    const contentMd5 = header(req, 'content-md5');
    if (contentMd5 !== undefined && contentMd5 !== md5Digest.toString('base64')) {
      throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    if (sha256 && sha256.digest('hex') !== contentSha256) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    let stored: ReceivedBody['checksum'];
    if (algorithm && checksum) {
      const name = checksumHeaderOf(algorithm);
      const expected = decoder?.trailers.get(name) ?? header(req, name);
      const actual = await checksum.digest();
      if (expected === undefined) {
        throw new S3Error(400, 'InvalidRequest', `The ${algorithm} checksum was announced but neither an ${name} header nor trailer was sent.`);
      }
      if (expected !== actual) {
        throw new S3Error(400, 'BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
      }
      stored = { algorithm, value: actual };
    }
    return { file, size: counter.bytes, md5: md5Digest, checksum: stored };
  } catch (err) {
    await fs.promises.rm(file, { force: true });
    if (err instanceof AwsChunkedError) throw new S3Error(400, 'IncompleteBody', err.message);
    throw err;
  }
}

/** The checksum a client announced: `x-amz-trailer`, `x-amz-sdk-checksum-algorithm`, or an `x-amz-checksum-*` header. */
export function declaredChecksumAlgorithm(req: http.IncomingMessage): ChecksumAlgorithm | undefined {
  const trailer = header(req, 'x-amz-trailer');
  const fromTrailer = trailer && checksumAlgorithmOfHeader(trailer.trim());
  if (fromTrailer) return fromTrailer;
  for (const name of Object.keys(req.headers)) {
    const algorithm = checksumAlgorithmOfHeader(name);
    if (algorithm) return algorithm;
  }
  const sdk = header(req, 'x-amz-sdk-checksum-algorithm')?.toUpperCase();
  // Announced without a value in a header: it must come as a trailer (checked after the body).
  return trailer ? CHECKSUM_ALGORITHMS.find((a) => a === sdk) : undefined;
}

export async function drain(req: http.IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}
