/** The object operations of the embedded S3 server: PutObject, CopyObject, GetObject / HeadObject, DeleteObjects. */
import * as fs from 'fs';
import { pipeline } from 'stream/promises';
import { drain, receiveBody } from './body';
import { checkPreconditions, checksumHeaders, objectHeaders, parseRange, sseHeaders } from './headers';
import { parseDelete, readXmlBody } from './request-xml';
import { send, sendXml } from './responses';
import { checkKey } from './routing';
import type { ObjectStore } from './store';
import type { S3Call, StoredObjectInfo } from './types';
import { header, newRequestId } from '../internal/http';
import { document, element } from '../internal/xml';

export async function putObject(store: ObjectStore, { req, res, bucket, key }: S3Call): Promise<void> {
  store.bucket(bucket);
  checkKey(key);
  const headers = objectHeaders(req);
  const body = await receiveBody(req, store.newFile(), store.maxObjectBytes);
  const info: StoredObjectInfo = {
    bucket,
    key,
    size: body.size,
    etag: `"${body.md5.toString('hex')}"`,
    lastModified: new Date(),
    ...headers,
    checksum: body.checksum,
    file: body.file,
  };
  store.store(info);
  send(res, 200, { etag: info.etag, ...sseHeaders(info), ...checksumHeaders(body.checksum) });
}

export async function copyObject(store: ObjectStore, { req, res, bucket, key }: S3Call): Promise<void> {
  store.bucket(bucket);
  checkKey(key);
  await drain(req);
  const from = store.copySource(header(req, 'x-amz-copy-source')!);
  const replace = header(req, 'x-amz-metadata-directive') === 'REPLACE';
  const requested = objectHeaders(req);
  const file = store.newFile();
  await fs.promises.copyFile(from.file, file);
  const info: StoredObjectInfo = {
    ...from,
    ...(replace ? requested : {}),
    // Encryption follows the copy request (or the bucket default), never the source object.
    serverSideEncryption: requested.serverSideEncryption,
    sseKmsKeyId: requested.sseKmsKeyId,
    bucketKeyEnabled: requested.bucketKeyEnabled,
    bucket,
    key,
    lastModified: new Date(),
    file,
  };
  store.store(info);
  sendXml(
    res,
    200,
    document('CopyObjectResult', element('ETag', info.etag) + element('LastModified', info.lastModified.toISOString())),
    sseHeaders(info),
  );
}

/** GetObject, or HeadObject with `headOnly`: whole or one Range, after If-Match / If-None-Match. */
export async function getObject(store: ObjectStore, { req, res, bucket, key }: S3Call, headOnly: boolean): Promise<void> {
  const info = store.existingObject(bucket, key);
  checkPreconditions(req, info);
  const range = parseRange(header(req, 'range'), info.size);
  const common: Record<string, string> = {
    'accept-ranges': 'bytes',
    'last-modified': info.lastModified.toUTCString(),
    'etag': info.etag,
    'content-type': info.contentType,
    ...(info.contentEncoding ? { 'content-encoding': info.contentEncoding } : {}),
    ...(info.cacheControl ? { 'cache-control': info.cacheControl } : {}),
    ...(info.contentDisposition ? { 'content-disposition': info.contentDisposition } : {}),
    ...Object.fromEntries(Object.entries(info.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
    ...sseHeaders(info),
  };
  // Full-object checksums only for a whole-object read in checksum mode, as S3 does; the SDK then verifies them.
  if (header(req, 'x-amz-checksum-mode') === 'ENABLED' && range === undefined && info.checksum) {
    Object.assign(common, checksumHeaders(info.checksum), { 'x-amz-checksum-type': 'FULL_OBJECT' });
  }
  if (range === undefined) {
    res.writeHead(200, { ...common, 'content-length': String(info.size), 'x-amz-request-id': newRequestId() });
    if (headOnly || info.size === 0) return void res.end();
    await pipeline(fs.createReadStream(info.file), res);
    return;
  }
  res.writeHead(206, {
    ...common,
    'content-length': String(range.end - range.start + 1),
    'content-range': `bytes ${range.start}-${range.end}/${info.size}`,
    'x-amz-request-id': newRequestId(),
  });
  if (headOnly) return void res.end();
  await pipeline(fs.createReadStream(info.file, { start: range.start, end: range.end }), res);
}

export async function deleteObjects(store: ObjectStore, { req, res, bucket }: S3Call): Promise<void> {
  store.bucket(bucket);
  const { quiet, keys } = parseDelete(await readXmlBody(req));
  for (const key of keys) store.deleteObject(bucket, key);
  const deleted = quiet ? '' : keys.map((k) => `<Deleted>${element('Key', k)}</Deleted>`).join('');
  sendXml(res, 200, document('DeleteResult', deleted));
}
