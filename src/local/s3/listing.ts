import { S3Error } from './errors';
import { parseNonNegative } from './routing';
import { document, element } from '../internal/xml';

/** S3 lists keys in UTF-8 binary order, which differs from JavaScript's UTF-16 order above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function sortKeys(keys: string[]): string[] {
  return keys.sort(compareKeys);
}

export function encodeToken(position: { after: string; skipPrefix?: string }): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64');
}

export function decodeToken(token: string): { after: string; skipPrefix?: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after?: unknown; skipPrefix?: unknown };
    if (typeof parsed.after === 'string') return { after: parsed.after, skipPrefix: typeof parsed.skipPrefix === 'string' ? parsed.skipPrefix : undefined };
  } catch {
    // fall through
  }
  throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
}

const MAX_KEYS = 1000;

/** What both list operations need of a bucket. */
export interface ListedObject {
  readonly key: string;
  readonly lastModified: Date;
  readonly etag: string;
  readonly size: number;
}

interface Page {
  readonly contents: ListedObject[];
  readonly commonPrefixes: string[];
  readonly truncated: boolean;
  /** Where the next page starts (after this key or common prefix). */
  readonly last?: { after: string; skipPrefix?: string };
}

/** One page of keys after `resume`, grouped by `delimiter` under `prefix`, in S3's order. */
function page(
  objects: ReadonlyMap<string, ListedObject>,
  prefix: string,
  delimiter: string,
  maxKeys: number,
  resume: { after: string; skipPrefix?: string },
): Page {
  const contents: ListedObject[] = [];
  const commonPrefixes: string[] = [];
  let truncated = false;
  let last: Page['last'];
  for (const key of sortKeys([...objects.keys()])) {
    if (!key.startsWith(prefix) || compareKeys(key, resume.after) <= 0) continue;
    if (resume.skipPrefix !== undefined && key.startsWith(resume.skipPrefix)) continue;
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const commonPrefix = cut < 0 ? undefined : key.slice(0, cut + delimiter.length);
    if (commonPrefix !== undefined && commonPrefixes[commonPrefixes.length - 1] === commonPrefix) continue;
    if (contents.length + commonPrefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (commonPrefix !== undefined) {
      commonPrefixes.push(commonPrefix);
      last = { after: commonPrefix, skipPrefix: commonPrefix };
    } else {
      contents.push(objects.get(key)!);
      last = { after: key };
    }
  }
  return { contents, commonPrefixes, truncated, last };
}

function entries(result: Page, enc: (value: string) => string): string[] {
  return [
    ...result.contents.map(
      (o) =>
        `<Contents>${element('Key', enc(o.key))}${element('LastModified', o.lastModified.toISOString())}${element('ETag', o.etag)}` +
        `${element('Size', o.size)}${element('StorageClass', 'STANDARD')}</Contents>`,
    ),
    ...result.commonPrefixes.map((p) => `<CommonPrefixes>${element('Prefix', enc(p))}</CommonPrefixes>`),
  ];
}

function maxKeysOf(query: URLSearchParams): number {
  return Math.min(parseNonNegative(query.get('max-keys') ?? String(MAX_KEYS), 'max-keys'), MAX_KEYS);
}

/** ListObjectsV2 (`?list-type=2`): continuation tokens, start-after, KeyCount. */
export function listObjectsV2Xml(name: string, objects: ReadonlyMap<string, ListedObject>, query: URLSearchParams): string {
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const maxKeys = maxKeysOf(query);
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? '';
  const urlEncode = query.get('encoding-type') === 'url';
  const resume = token === null ? { after: startAfter, skipPrefix: undefined } : decodeToken(token);
  const result = page(objects, prefix, delimiter, maxKeys, resume);
  const enc = (value: string) => (urlEncode ? encodeURIComponent(value) : value);
  const body = [
    element('Name', name),
    element('Prefix', enc(prefix)),
    delimiter === '' ? '' : element('Delimiter', enc(delimiter)),
    element('MaxKeys', maxKeys),
    element('KeyCount', result.contents.length + result.commonPrefixes.length),
    element('IsTruncated', result.truncated),
    urlEncode ? element('EncodingType', 'url') : '',
    token === null ? '' : element('ContinuationToken', token),
    result.truncated && result.last ? element('NextContinuationToken', encodeToken(result.last)) : '',
    query.has('start-after') ? element('StartAfter', enc(startAfter)) : '',
    ...entries(result, enc),
  ].join('');
  return document('ListBucketResult', body);
}

/**
 * ListObjects (v1, a GET on the bucket without `list-type`), which `aws s3api list-objects` and older tools use:
 * `marker` to resume, and `NextMarker` only when a delimiter is given (without one, clients resume after the last
 * key listed), as the S3 API reference describes.
 */
export function listObjectsV1Xml(name: string, objects: ReadonlyMap<string, ListedObject>, query: URLSearchParams): string {
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const maxKeys = maxKeysOf(query);
  const marker = query.get('marker') ?? '';
  const urlEncode = query.get('encoding-type') === 'url';
  // A marker that is a common prefix resumes after everything under it, as S3 does.
  const resume = delimiter !== '' && marker.endsWith(delimiter) ? { after: marker, skipPrefix: marker } : { after: marker };
  const result = page(objects, prefix, delimiter, maxKeys, resume);
  const enc = (value: string) => (urlEncode ? encodeURIComponent(value) : value);
  const body = [
    element('Name', name),
    element('Prefix', enc(prefix)),
    element('Marker', enc(marker)),
    delimiter === '' ? '' : element('Delimiter', enc(delimiter)),
    element('MaxKeys', maxKeys),
    element('IsTruncated', result.truncated),
    urlEncode ? element('EncodingType', 'url') : '',
    result.truncated && delimiter !== '' && result.last ? element('NextMarker', enc(result.last.after)) : '',
    ...entries(result, enc),
  ].join('');
  return document('ListBucketResult', body);
}
