import type * as http from 'http';
import type { ReceivedBody } from './body';
import { S3Error } from './errors';
import type { ObjectHeaders, Sse, StoredObjectInfo } from './types';
import { checksumHeaderOf } from '../internal/checksums';
import { header } from '../internal/http';
import { unescapeXml } from '../internal/xml';

export function recordedHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'authorization' || name === 'x-amz-security-token' || value === undefined) continue;
    if (name.startsWith('x-amz-') || name.startsWith('content-') || name === 'range' || name === 'transfer-encoding') {
      out[name] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return out;
}

/** Content and SSE headers of a write, stored with the object. S3 encrypts with SSE-S3 (AES256) by default. */
export function objectHeaders(req: http.IncomingMessage): ObjectHeaders {
  const sse = header(req, 'x-amz-server-side-encryption');
  if (sse !== undefined && sse !== 'AES256' && sse !== 'aws:kms' && sse !== 'aws:kms:dsse') {
    throw new S3Error(400, 'InvalidArgument', `Server Side Encryption with ${sse} is not supported.`, {
      ArgumentName: 'x-amz-server-side-encryption',
      ArgumentValue: sse,
    });
  }
  const kmsKeyId = header(req, 'x-amz-server-side-encryption-aws-kms-key-id');
  if (kmsKeyId !== undefined && !sse?.startsWith('aws:kms')) {
    throw new S3Error(400, 'InvalidArgument', 'Specifying a KMS key id requires x-amz-server-side-encryption: aws:kms.', {
      ArgumentName: 'x-amz-server-side-encryption-aws-kms-key-id',
    });
  }
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  const encodings = (header(req, 'content-encoding') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e !== 'aws-chunked');
  const bucketKey = header(req, 'x-amz-server-side-encryption-bucket-key-enabled');
  return {
    contentType: header(req, 'content-type') ?? 'binary/octet-stream',
    contentEncoding: encodings.length > 0 ? encodings.join(',') : undefined,
    cacheControl: header(req, 'cache-control'),
    contentDisposition: header(req, 'content-disposition'),
    metadata,
    serverSideEncryption: sse ?? 'AES256',
    sseKmsKeyId: kmsKeyId,
    bucketKeyEnabled: bucketKey === undefined ? undefined : bucketKey === 'true',
  };
}

export function sseHeaders(sse: Sse): Record<string, string> {
  return {
    'x-amz-server-side-encryption': sse.serverSideEncryption,
    ...(sse.sseKmsKeyId !== undefined ? { 'x-amz-server-side-encryption-aws-kms-key-id': sse.sseKmsKeyId } : {}),
    ...(sse.bucketKeyEnabled !== undefined ? { 'x-amz-server-side-encryption-bucket-key-enabled': String(sse.bucketKeyEnabled) } : {}),
  };
}

export function checksumHeaders(checksum: ReceivedBody['checksum']): Record<string, string> {
  return checksum ? { [checksumHeaderOf(checksum.algorithm)]: checksum.value } : {};
}

/** `Range: bytes=a-b | a- | -n`; undefined means the whole object (also for syntax S3 ignores, like several ranges). */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw invalidRange(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

export function invalidRange(size: number): S3Error {
  return new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { ActualObjectSize: String(size) }, { 'content-range': `bytes */${size}` });
}

/** If-Match / If-None-Match (or, for copies, `x-amz-copy-source-if-match` / `-if-none-match`). */
export function checkPreconditions(req: http.IncomingMessage, info: StoredObjectInfo, prefix = ''): void {
  const ifMatch = header(req, `${prefix}if-match`);
  if (ifMatch !== undefined && !ifMatch.split(',').some((e) => e.trim() === '*' || normalizeEtag(e) === normalizeEtag(info.etag))) {
    throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  }
  const ifNoneMatch = header(req, `${prefix}if-none-match`);
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((e) => e.trim() === '*' || normalizeEtag(e) === normalizeEtag(info.etag))) {
    // A copy's source precondition fails with 412; a read's If-None-Match is 304 Not Modified.
    if (prefix !== '') throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: `${prefix}If-None-Match` });
    throw new S3Error(304, 'NotModified', 'Not Modified', {}, { etag: info.etag });
  }
}

export function normalizeEtag(etag: string): string {
  return unescapeXml(etag).trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}
