import type * as http from 'http';
import { S3Error } from './errors';

/** The query parameters of ListObjects (v1); any other names a bucket subresource (versioning, acl, ...). */
const LIST_OBJECTS_V1_PARAMETERS = new Set(['prefix', 'delimiter', 'marker', 'max-keys', 'encoding-type', 'x-id']);

export function operationName(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: URLSearchParams,
  headers: http.IncomingHttpHeaders,
): string {
  if (bucket === undefined) return method === 'GET' ? 'ListBuckets' : `${method} /`;
  if (key === undefined) {
    const table: Record<string, string | undefined> = {
      PUT: query.size === 0 ? 'CreateBucket' : undefined,
      HEAD: 'HeadBucket',
      DELETE: query.size === 0 ? 'DeleteBucket' : undefined,
      GET:
        query.get('list-type') === '2'
          ? 'ListObjectsV2'
          : query.has('location')
            ? 'GetBucketLocation'
            : [...query.keys()].every((k) => LIST_OBJECTS_V1_PARAMETERS.has(k))
              ? 'ListObjects'
              : undefined,
      POST: query.has('delete') ? 'DeleteObjects' : undefined,
    };
    return table[method] ?? `${method} bucket ?${[...query.keys()].join('&')}`;
  }
  const subresource = [...query.keys()].find((k) => !['x-id', 'partNumber', 'uploadId', 'uploads', 'versionId'].includes(k));
  if (subresource !== undefined) return `${method} object ?${subresource}`;
  switch (method) {
    case 'PUT':
      if (query.has('uploadId')) return headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart';
      return headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'GET':
      return query.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      return query.has('uploads') ? 'CreateMultipartUpload' : query.has('uploadId') ? 'CompleteMultipartUpload' : 'PostObject';
    default:
      return `${method} object`;
  }
}

export function parseCopySource(value: string): { bucket: string; key: string } {
  const withoutVersion = value.split('?')[0];
  const decoded = decodePath(withoutVersion.replace(/^\//, ''));
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source' });
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** S3 bucket naming rules (general purpose buckets). */
export function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new S3Error(400, 'InvalidBucketName', `The specified bucket is not valid: ${JSON.stringify(name)} (3-63 lowercase letters, digits, dots and hyphens).`, {
      BucketName: name,
    });
  }
}

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
}

export function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export function parseNonNegative(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new S3Error(400, 'InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: value });
  return n;
}

/** Where a request goes: the bucket and the key exactly as sent (percent-decoded, never normalized). */
export interface S3Target {
  readonly bucket?: string;
  readonly key?: string;
  /** The query minus the presigned-URL parameters (X-Amz-*), which name no operation. */
  readonly query: URLSearchParams;
}

/**
 * Splits the request target into bucket, key and query by hand: WHATWG URL parsing would resolve `.` and `..`
 * segments (so `a/../b` became `b`, and `../other-bucket/x` reached another bucket) and throws on targets like
 * `//a:b`. S3 keeps keys verbatim; anything that is not an origin-form (or absolute-form) target is a 400.
 */
export function parseTarget(rawUrl: string | undefined, hostHeader: string | undefined): S3Target {
  let target = rawUrl ?? '/';
  const absolute = /^https?:\/\/[^/?#]*/i.exec(target);
  if (absolute) target = target.slice(absolute[0].length) || '/';
  if (!target.startsWith('/')) throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  const q = target.indexOf('?');
  const pathname = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  for (const name of [...query.keys()]) if (/^X-Amz-/i.test(name)) query.delete(name);
  const host = (hostHeader ?? '').replace(/:\d+$/, '');
  const virtual = /^(.+)\.localhost$/.exec(host);
  const segments = pathname.slice(1);
  if (virtual) return { bucket: virtual[1], key: segments === '' ? undefined : decodePath(segments), query };
  if (segments === '') return { query };
  const slash = segments.indexOf('/');
  const bucket = decodePath(slash < 0 ? segments : segments.slice(0, slash));
  if (bucket === '') throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI: the bucket name is empty.");
  if (slash < 0) return { bucket, query };
  const key = segments.slice(slash + 1);
  return { bucket, key: key === '' ? undefined : decodePath(key), query };
}
