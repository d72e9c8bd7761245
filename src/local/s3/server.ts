import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { drain, meter, receiveBody } from './body';
import { S3Error, SIGNATURE_ERRORS, entityTooLarge, errorXml, toS3Error } from './errors';
import { checkPreconditions, checksumHeaders, normalizeEtag, objectHeaders, parseRange, recordedHeaders, sseHeaders } from './headers';
import { listObjectsV1Xml, listObjectsV2Xml, sortKeys } from './listing';
import { parseCompleteMultipartUpload, parseDelete, readXmlBody } from './request-xml';
import { send, sendXml } from './responses';
import { checkBucketName, checkKey, encodeKeyPath, operationName, parseCopySource, parseTarget } from './routing';
import type { Bucket, LocalS3ServerOptions, Part, S3RequestRecord, Sse, StoredObjectInfo, Upload } from './types';
import { closeServer, header, listen, newRequestId } from '../internal/http';
import { verifySigV4, type LocalCredentials } from '../internal/sigv4';
import { document, element, escapeXml } from '../internal/xml';

export type { LocalCredentials } from '../internal/sigv4';
export type { LocalS3ServerOptions, StoredObjectInfo, S3RequestRecord } from './types';

/**
 * Why our own S3 subset and not s3rver: s3rver (unmaintained since 2021) silently stores the aws-chunked framing of
 * the streamed uploads the AWS SDK v3 sends by default, so a handler would need a client-side workaround
 * (`requestChecksumCalculation: 'WHEN_REQUIRED'`) that real Lambda code does not have; it also checks no signatures.
 * This server decodes aws-chunked bodies, verifies checksums and (optionally) SigV4, streams every body to disk,
 * and passes the same artifact test suite as moto's S3.
 */

/** S3's minimum part size, for every part but the last (EntityTooSmall otherwise). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;
/** S3's largest single PUT and largest part: 5 GiB (EntityTooLarge beyond). */
const MAX_OBJECT_BYTES = 5 * 1024 * 1024 * 1024;
const OWNER_ID = '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a';

/**
 * An embedded S3-compatible endpoint for artifacts, on 127.0.0.1: the subset a CodePipeline job needs.
 *
 * Buckets: CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation, ListObjects (v1), ListObjectsV2,
 * DeleteObjects. Objects: PutObject (plain, aws-chunked with trailing checksums, Content-MD5; size cap), CopyObject,
 * GetObject (Range, If-Match/If-None-Match, checksum mode), HeadObject, DeleteObject, multipart
 * Create/UploadPart/UploadPartCopy/Complete/Abort. Authentication: SigV4 headers or presigned URLs (query
 * authentication with expiry), requests more than 15 minutes off refused. Keys are kept verbatim (no `.`/`..`
 * resolution). SSE headers are recorded and echoed (no encryption happens). Bodies stream to files; nothing is held
 * in memory. The AWS SDK v3 reaches it path-style (`http://127.0.0.1:PORT/bucket/key`), which it does for IP
 * endpoints. Anything else (versioning, ACLs, tagging, lifecycle, ...) is 501 NotImplemented.
 */
export class LocalS3Server {
  /** Starts a server on 127.0.0.1 (a free port unless `port` is given). */
  static async start(options: LocalS3ServerOptions = {}): Promise<LocalS3Server> {
    const ownsDirectory = options.directory === undefined;
    const directory = options.directory ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cpi-s3-')));
    await fs.promises.mkdir(directory, { recursive: true });
    const server = new LocalS3Server(options, directory, ownsDirectory);
    server._endpoint = await listen(server.server, options);
    return server;
  }

  private readonly server: http.Server;
  private readonly buckets = new Map<string, Bucket>();
  private readonly credentials = new Map<string, LocalCredentials>();
  /** On once credentials were given (even if all were removed since): then unknown signatures are refused. */
  private verifySignatures: boolean;
  private readonly log: S3RequestRecord[] = [];
  private readonly region: string;
  private readonly maxObjectBytes: number;
  private _endpoint = '';

  private constructor(
    options: LocalS3ServerOptions,
    /** Where object bodies live (one file per object or part). */
    readonly directory: string,
    private readonly ownsDirectory: boolean,
  ) {
    this.region = options.region ?? 'us-east-1';
    this.maxObjectBytes = options.maxObjectBytes ?? MAX_OBJECT_BYTES;
    this.verifySignatures = options.credentials !== undefined;
    for (const c of options.credentials ?? []) this.credentials.set(c.accessKeyId, c);
    this.server = http.createServer((req, res) => {
      // Nothing a request does may end the process that runs the server: a last resort answer, else a reset.
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendError(req, res, toS3Error(err));
        else res.destroy();
      });
    });
  }

  /** `http://127.0.0.1:PORT`: the SDK's `endpoint` or `AWS_ENDPOINT_URL_S3`. */
  get endpoint(): string {
    return this._endpoint;
  }

  /** Every request so far, oldest first. */
  get requests(): readonly S3RequestRecord[] {
    return this.log;
  }

  /** Creates a bucket (no-op when it exists). */
  createBucket(name: string): void {
    checkBucketName(name);
    if (!this.buckets.has(name)) this.buckets.set(name, { name, created: new Date(), objects: new Map(), uploads: new Map() });
  }

  /** Accepts SigV4 signatures made with these credentials (and turns verification on). */
  addCredentials(credentials: LocalCredentials): void {
    this.credentials.set(credentials.accessKeyId, credentials);
    this.verifySignatures = true;
  }

  /** Refuses signatures made with these credentials from now on. */
  removeCredentials(accessKeyId: string): void {
    this.credentials.delete(accessKeyId);
  }

  /** Removes a bucket with everything in it (objects, unfinished uploads and their files). */
  async removeBucket(name: string): Promise<void> {
    const bucket = this.buckets.get(name);
    if (!bucket) return;
    this.buckets.delete(name);
    const files = [...bucket.objects.values()].map((o) => o.file);
    for (const upload of bucket.uploads.values()) for (const part of upload.parts.values()) files.push(part.file);
    await Promise.all(files.map((f) => fs.promises.rm(f, { force: true })));
  }

  /** What is stored under `bucket`/`key`. */
  object(bucket: string, key: string): StoredObjectInfo | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }

  /** The keys of a bucket, in S3's (UTF-8 binary) order. */
  keys(bucket: string): string[] {
    return sortKeys([...(this.buckets.get(bucket)?.objects.keys() ?? [])]);
  }

  /** Stores a local file as an object without going over HTTP (the file is copied). */
  async putFile(bucket: string, key: string, source: string, options: { contentType?: string; sse?: Sse } = {}): Promise<StoredObjectInfo> {
    const b = this.bucket(bucket);
    const file = this.newFile();
    const md5 = crypto.createHash('md5');
    await pipeline(fs.createReadStream(source), meter([md5]), fs.createWriteStream(file));
    const { size } = await fs.promises.stat(file);
    const info: StoredObjectInfo = {
      bucket,
      key,
      size,
      etag: `"${md5.digest('hex')}"`,
      lastModified: new Date(),
      contentType: options.contentType ?? 'application/zip',
      metadata: {},
      serverSideEncryption: options.sse?.serverSideEncryption ?? 'AES256',
      sseKmsKeyId: options.sse?.sseKmsKeyId,
      file,
    };
    this.store(b, info);
    return info;
  }

  /** Stops the server and removes stored bodies (unless `directory` was given). */
  async close(): Promise<void> {
    await closeServer(this.server);
    if (this.ownsDirectory) await fs.promises.rm(this.directory, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let target: ReturnType<typeof parseTarget>;
    try {
      target = parseTarget(req.url, header(req, 'host'));
    } catch (err) {
      return this.sendError(req, res, toS3Error(err));
    }
    const { bucket, key, query } = target;
    const record: { -readonly [K in keyof S3RequestRecord]: S3RequestRecord[K] } = {
      method: req.method ?? 'GET',
      bucket,
      key,
      operation: operationName(req.method ?? 'GET', bucket, key, query, req.headers),
      status: 200,
      headers: recordedHeaders(req),
    };
    this.log.push(record);
    try {
      const signature = verifySigV4(
        req,
        header(req, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD',
        this.verifySignatures ? (id) => this.credentials.get(id) : undefined,
        { presignedUrls: true },
      );
      if (!signature.ok) {
        const [status, code] = SIGNATURE_ERRORS[signature.reason];
        throw new S3Error(status, code, signature.message);
      }
      record.accessKeyId = signature.accessKeyId;
      await this.dispatch(record.operation, req, res, bucket, key, query);
    } catch (err) {
      const error = toS3Error(err);
      record.status = error.status;
      record.errorCode = error.code;
      this.sendError(req, res, error, bucket, key);
    }
  }

  private async dispatch(
    operation: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    bucket: string | undefined,
    key: string | undefined,
    query: URLSearchParams,
  ): Promise<void> {
    switch (operation) {
      case 'ListBuckets':
        return this.listBuckets(res);
      case 'CreateBucket':
        await drain(req);
        this.createBucket(bucket!);
        return send(res, 200, { location: `/${bucket}` });
      case 'HeadBucket':
        this.bucket(bucket!);
        return send(res, 200, { 'x-amz-bucket-region': this.region });
      case 'DeleteBucket':
        return this.deleteBucket(bucket!, res);
      case 'GetBucketLocation':
        this.bucket(bucket!);
        return sendXml(res, 200, document('LocationConstraint', this.region === 'us-east-1' ? '' : escapeXml(this.region)));
      case 'ListObjectsV2':
        return sendXml(res, 200, listObjectsV2Xml(bucket!, this.bucket(bucket!).objects, query));
      case 'ListObjects':
        return sendXml(res, 200, listObjectsV1Xml(bucket!, this.bucket(bucket!).objects, query));
      case 'DeleteObjects':
        return this.deleteObjects(bucket!, req, res);
      case 'PutObject':
        return this.putObject(bucket!, key!, req, res);
      case 'CopyObject':
        return this.copyObject(bucket!, key!, req, res);
      case 'GetObject':
      case 'HeadObject':
        return this.getObject(bucket!, key!, req, res, operation === 'HeadObject');
      case 'DeleteObject':
        this.bucket(bucket!);
        this.deleteObject(bucket!, key!);
        return send(res, 204);
      case 'CreateMultipartUpload':
        return this.createMultipartUpload(bucket!, key!, req, res);
      case 'UploadPart':
        return this.uploadPart(bucket!, key!, query, req, res);
      case 'UploadPartCopy':
        return this.uploadPartCopy(bucket!, key!, query, req, res);
      case 'CompleteMultipartUpload':
        return this.completeMultipartUpload(bucket!, key!, query, req, res);
      case 'AbortMultipartUpload':
        return this.abortMultipartUpload(bucket!, key!, query, res);
      default:
        throw new S3Error(501, 'NotImplemented', `${operation} is not implemented by the embedded S3 server (cdk-codepipeline-invoke); use moto for it.`);
    }
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  private newFile(): string {
    return path.join(this.directory, crypto.randomUUID());
  }

  private store(bucket: Bucket, info: StoredObjectInfo): void {
    const previous = bucket.objects.get(info.key);
    bucket.objects.set(info.key, info);
    // A reader that already opened the old file keeps reading it (POSIX unlink semantics).
    if (previous) void fs.promises.rm(previous.file, { force: true });
  }

  private deleteObject(bucket: string, key: string): void {
    const b = this.bucket(bucket);
    const previous = b.objects.get(key);
    if (previous) {
      b.objects.delete(key);
      void fs.promises.rm(previous.file, { force: true });
    }
  }

  private listBuckets(res: http.ServerResponse): void {
    const buckets = [...this.buckets.values()]
      .map((b) => `<Bucket>${element('Name', b.name)}${element('CreationDate', b.created.toISOString())}</Bucket>`)
      .join('');
    sendXml(res, 200, document('ListAllMyBucketsResult', `<Owner>${element('ID', OWNER_ID)}</Owner><Buckets>${buckets}</Buckets>`));
  }

  private deleteBucket(name: string, res: http.ServerResponse): void {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0 || bucket.uploads.size > 0) {
      throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
    }
    this.buckets.delete(name);
    send(res, 204);
  }

  private async deleteObjects(name: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.bucket(name);
    const { quiet, keys } = parseDelete(await readXmlBody(req));
    for (const key of keys) this.deleteObject(name, key);
    const deleted = quiet ? '' : keys.map((k) => `<Deleted>${element('Key', k)}</Deleted>`).join('');
    sendXml(res, 200, document('DeleteResult', deleted));
  }

  private async putObject(bucket: string, key: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const b = this.bucket(bucket);
    checkKey(key);
    const headers = objectHeaders(req);
    const body = await receiveBody(req, this.newFile(), this.maxObjectBytes);
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
    this.store(b, info);
    send(res, 200, { etag: info.etag, ...sseHeaders(info), ...checksumHeaders(body.checksum) });
  }

  private async copyObject(bucket: string, key: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const b = this.bucket(bucket);
    checkKey(key);
    await drain(req);
    const source = parseCopySource(header(req, 'x-amz-copy-source')!);
    const from = this.bucket(source.bucket).objects.get(source.key);
    if (!from) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: source.key });
    const replace = header(req, 'x-amz-metadata-directive') === 'REPLACE';
    const requested = objectHeaders(req);
    const file = this.newFile();
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
    this.store(b, info);
    sendXml(
      res,
      200,
      document('CopyObjectResult', element('ETag', info.etag) + element('LastModified', info.lastModified.toISOString())),
      sseHeaders(info),
    );
  }

  private async getObject(bucket: string, key: string, req: http.IncomingMessage, res: http.ServerResponse, headOnly: boolean): Promise<void> {
    const info = this.bucket(bucket).objects.get(key);
    if (!info) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
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

  private async createMultipartUpload(bucket: string, key: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const b = this.bucket(bucket);
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

  private upload(bucket: string, key: string, query: URLSearchParams): Upload {
    const uploadId = query.get('uploadId') ?? '';
    const upload = this.bucket(bucket).uploads.get(uploadId);
    if (!upload || upload.key !== key) {
      throw new S3Error(
        404,
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        { UploadId: uploadId },
      );
    }
    return upload;
  }

  private async uploadPart(bucket: string, key: string, query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const upload = this.upload(bucket, key, query);
    const partNumber = checkPartNumber(query);
    const body = await receiveBody(req, this.newFile(), this.maxObjectBytes);
    const etag = `"${body.md5.toString('hex')}"`;
    const previous = upload.parts.get(partNumber);
    upload.parts.set(partNumber, { file: body.file, size: body.size, etag, md5: body.md5 });
    if (previous) void fs.promises.rm(previous.file, { force: true });
    send(res, 200, { etag, ...sseHeaders(upload.headers), ...checksumHeaders(body.checksum) });
  }

  /** UploadPartCopy: a part copied from (a byte range of) an existing object, as `aws s3 cp` does for large copies. */
  private async uploadPartCopy(
    bucket: string,
    key: string,
    query: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const upload = this.upload(bucket, key, query);
    const partNumber = checkPartNumber(query);
    await drain(req);
    const source = parseCopySource(header(req, 'x-amz-copy-source')!);
    const from = this.bucket(source.bucket).objects.get(source.key);
    if (!from) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: source.key });
    checkPreconditions(req, from, 'x-amz-copy-source-');
    const rangeHeader = header(req, 'x-amz-copy-source-range');
    let start = 0;
    let end = from.size - 1;
    if (rangeHeader !== undefined) {
      // Only `bytes=first-last` with both ends inside the object, as the API reference requires.
      const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
      if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) >= from.size) {
        const message =
          'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy';
        throw new S3Error(400, 'InvalidArgument', message, {
          ArgumentName: 'x-amz-copy-source-range',
          ArgumentValue: rangeHeader,
        });
      }
      start = Number(m[1]);
      end = Number(m[2]);
    }
    if (end - start + 1 > this.maxObjectBytes) throw entityTooLarge(end - start + 1, this.maxObjectBytes);
    const file = this.newFile();
    const md5 = crypto.createHash('md5');
    const counter = meter([md5]);
    // An empty source has no byte range to read (createReadStream's end is inclusive).
    if (from.size === 0) await fs.promises.writeFile(file, '');
    else await pipeline(fs.createReadStream(from.file, { start, end }), counter, fs.createWriteStream(file));
    const digest = md5.digest();
    const etag = `"${digest.toString('hex')}"`;
    const previous = upload.parts.get(partNumber);
    upload.parts.set(partNumber, { file, size: from.size === 0 ? 0 : counter.bytes, etag, md5: digest });
    if (previous) void fs.promises.rm(previous.file, { force: true });
    const lastModified = new Date();
    sendXml(res, 200, document('CopyPartResult', element('ETag', etag) + element('LastModified', lastModified.toISOString())), sseHeaders(upload.headers));
  }

  private async completeMultipartUpload(
    bucket: string,
    key: string,
    query: URLSearchParams,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const b = this.bucket(bucket);
    const upload = this.upload(bucket, key, query);
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
    const file = this.newFile();
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
    b.uploads.delete(upload.id);
    for (const part of upload.parts.values()) void fs.promises.rm(part.file, { force: true });
    this.store(b, info);
    const location = `${this.endpoint}/${encodeKeyPath(bucket)}/${encodeKeyPath(key)}`;
    sendXml(
      res,
      200,
      document('CompleteMultipartUploadResult', element('Location', location) + element('Bucket', bucket) + element('Key', key) + element('ETag', etag)),
      sseHeaders(info),
    );
  }

  private abortMultipartUpload(bucket: string, key: string, query: URLSearchParams, res: http.ServerResponse): void {
    const upload = this.upload(bucket, key, query);
    this.bucket(bucket).uploads.delete(upload.id);
    for (const part of upload.parts.values()) void fs.promises.rm(part.file, { force: true });
    send(res, 204);
  }

  private sendError(req: http.IncomingMessage, res: http.ServerResponse, error: S3Error, bucket?: string, key?: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // The client may still be sending a body we refused; close the connection rather than read it all.
    if (!req.complete) res.setHeader('connection', 'close');
    const requestId = newRequestId();
    const headers = { ...error.headers, 'x-amz-request-id': requestId };
    if (req.method === 'HEAD' || error.status === 304) return send(res, error.status, headers);
    const resource = bucket === undefined ? '/' : key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
    const xml = errorXml(error, resource, requestId);
    sendXml(res, error.status, xml, headers);
  }
}

function checkPartNumber(query: URLSearchParams): number {
  const partNumber = Number(query.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new S3Error(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
      ArgumentName: 'partNumber',
      ArgumentValue: String(query.get('partNumber')),
    });
  }
  return partNumber;
}
