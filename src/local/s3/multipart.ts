/**
 * Multipart uploads in the embedded S3 server: Create, UploadPart, UploadPartCopy (a byte range of an object, as
 * `aws s3 cp` copies large objects), Complete (parts in order, each but the last at least 5 MiB) and Abort.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import { pipeline } from 'stream/promises';
import { drain, meter, receiveBody } from './body';
import { S3Error, entityTooLarge } from './errors';
import { checkPreconditions, checksumHeaders, normalizeEtag, objectHeaders, sseHeaders } from './headers';
import { parseCompleteMultipartUpload, readXmlBody } from './request-xml';
import { send, sendXml } from './responses';
import { checkKey, encodeKeyPath } from './routing';
import type { ObjectStore } from './store';
import type { Part, S3Call, StoredObjectInfo, Upload } from './types';
import { header } from '../internal/http';
import { document, element } from '../internal/xml';

/** S3's minimum part size, for every part but the last (EntityTooSmall otherwise). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;

export async function createMultipartUpload(store: ObjectStore, { req, res, bucket, key }: S3Call): Promise<void> {
  const b = store.bucket(bucket);
  checkKey(key);
  await drain(req);
  const upload: Upload = { id: crypto.randomBytes(24).toString('base64url'), key, initiated: new Date(), headers: objectHeaders(req), parts: new Map() };
  b.uploads.set(upload.id, upload);
  const algorithm = header(req, 'x-amz-checksum-algorithm');
  sendXml(
    res,
    200,
    document('InitiateMultipartUploadResult', element('Bucket', bucket) + element('Key', key) + element('UploadId', upload.id)),
    { ...sseHeaders(upload.headers), ...(algorithm ? { 'x-amz-checksum-algorithm': algorithm } : {}) },
  );
}

export async function uploadPart(store: ObjectStore, call: S3Call): Promise<void> {
  const { upload, partNumber } = partOf(store, call);
  const body = await receiveBody(call.req, store.newFile(), store.maxObjectBytes);
  const etag = `"${body.md5.toString('hex')}"`;
  store.setPart(upload, partNumber, { file: body.file, size: body.size, etag, md5: body.md5 });
  send(call.res, 200, { etag, ...sseHeaders(upload.headers), ...checksumHeaders(body.checksum) });
}

/** UploadPartCopy: a part copied from (a byte range of) an existing object, as `aws s3 cp` does for large copies. */
export async function uploadPartCopy(store: ObjectStore, call: S3Call): Promise<void> {
  const { req, res } = call;
  const { upload, partNumber } = partOf(store, call);
  await drain(req);
  const from = store.copySource(header(req, 'x-amz-copy-source')!);
  checkPreconditions(req, from, 'x-amz-copy-source-');
  const { start, end } = copySourceRange(header(req, 'x-amz-copy-source-range'), from.size);
  if (end - start + 1 > store.maxObjectBytes) throw entityTooLarge(end - start + 1, store.maxObjectBytes);
  const file = store.newFile();
  const md5 = crypto.createHash('md5');
  const counter = meter([md5]);
  // An empty source has no byte range to read (createReadStream's end is inclusive).
  if (from.size === 0) await fs.promises.writeFile(file, '');
  else await pipeline(fs.createReadStream(from.file, { start, end }), counter, fs.createWriteStream(file));
  const digest = md5.digest();
  const etag = `"${digest.toString('hex')}"`;
  store.setPart(upload, partNumber, { file, size: from.size === 0 ? 0 : counter.bytes, etag, md5: digest });
  const lastModified = new Date();
  sendXml(res, 200, document('CopyPartResult', element('ETag', etag) + element('LastModified', lastModified.toISOString())), sseHeaders(upload.headers));
}

export async function completeMultipartUpload(store: ObjectStore, call: S3Call, endpoint: string): Promise<void> {
  const { req, res, bucket, key } = call;
  const upload = store.upload(bucket, key, call.query.get('uploadId') ?? '');
  const requested = parseCompleteMultipartUpload(await readXmlBody(req)).map((p) => ({ number: p.number, etag: normalizeEtag(p.etag) }));
  const parts: Part[] = [];
  requested.forEach((r, i) => {
    if (i > 0 && r.number <= requested[i - 1].number) {
      throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
    }
    const part = upload.parts.get(r.number);
    if (!part || normalizeEtag(part.etag) !== r.etag) {
      throw new S3Error(
        400,
        'InvalidPart',
        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { PartNumber: String(r.number), ETag: r.etag },
      );
    }
    if (i < requested.length - 1 && part.size < MIN_PART_SIZE) {
      throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
        ProposedSize: String(part.size),
        MinSizeAllowed: String(MIN_PART_SIZE),
        PartNumber: String(r.number),
      });
    }
    parts.push(part);
  });
  const file = store.newFile();
  const out = fs.createWriteStream(file);
  for (const part of parts) await pipeline(fs.createReadStream(part.file), out, { end: false });
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const etag = `"${crypto.createHash('md5').update(Buffer.concat(parts.map((p) => p.md5))).digest('hex')}-${parts.length}"`;
  const info: StoredObjectInfo = {
    bucket,
    key,
    size: parts.reduce((sum, p) => sum + p.size, 0),
    etag,
    lastModified: new Date(),
    ...upload.headers,
    partsCount: parts.length,
    file,
  };
  store.endUpload(bucket, upload);
  store.store(info);
  const location = `${endpoint}/${encodeKeyPath(bucket)}/${encodeKeyPath(key)}`;
  sendXml(
    res,
    200,
    document('CompleteMultipartUploadResult', element('Location', location) + element('Bucket', bucket) + element('Key', key) + element('ETag', etag)),
    sseHeaders(info),
  );
}

export function abortMultipartUpload(store: ObjectStore, { res, bucket, key, query }: S3Call): void {
  store.endUpload(bucket, store.upload(bucket, key, query.get('uploadId') ?? ''));
  send(res, 204);
}

/** The upload and part number an UploadPart / UploadPartCopy names. */
function partOf(store: ObjectStore, { bucket, key, query }: S3Call): { upload: Upload; partNumber: number } {
  const upload = store.upload(bucket, key, query.get('uploadId') ?? '');
  const partNumber = Number(query.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new S3Error(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      ArgumentName: 'partNumber',
      ArgumentValue: String(query.get('partNumber')),
    });
  }
  return { upload, partNumber };
}

/** `x-amz-copy-source-range`: only `bytes=first-last` with both ends inside the object, as the API reference requires. */
function copySourceRange(value: string | undefined, size: number): { start: number; end: number } {
  if (value === undefined) return { start: 0, end: size - 1 };
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) >= size) {
    const message =
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy';
    throw new S3Error(400, 'InvalidArgument', message, { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: value });
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}
