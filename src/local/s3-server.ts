import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { PassThrough, Transform, type TransformCallback } from 'stream';
import { pipeline } from 'stream/promises';
import { AwsChunkedDecoder, AwsChunkedError } from './internal/aws-chunked';
import {
  CHECKSUM_ALGORITHMS,
  checksumAlgorithmOfHeader,
  checksumHeaderOf,
  createChecksum,
  type Checksum,
  type ChecksumAlgorithm,
} from './internal/checksums';
import { closeServer, header, listen, newRequestId, readSmallBody, type ListenOptions } from './internal/http';
import { verifySigV4, type LocalCredentials, type SigV4Refusal } from './internal/sigv4';
import { document, element, elements, escapeXml, text, unescapeXml } from './internal/xml';

export type { LocalCredentials } from './internal/sigv4';

/**
 * Why our own S3 subset and not s3rver: s3rver (unmaintained since 2021) silently stores the aws-chunked framing of
 * the streamed uploads the AWS SDK v3 sends by default, so a handler would need a client-side workaround
 * (`requestChecksumCalculation: 'WHEN_REQUIRED'`) that real Lambda code does not have; it also checks no signatures.
 * This server decodes aws-chunked bodies, verifies checksums and (optionally) SigV4, streams every body to disk,
 * and passes the same artifact test suite as moto's S3.
 */

export interface LocalS3ServerOptions extends ListenOptions {
  /**
   * Credentials whose SigV4 signatures the server verifies (403 InvalidAccessKeyId / SignatureDoesNotMatch otherwise,
   * as S3 answers). With a session token, requests must carry it (`x-amz-security-token`).
   *
   * @default - no verification: any request is accepted, as moto does
   */
  readonly credentials?: readonly LocalCredentials[];
  /**
   * Where object bodies are stored. The server removes the folder on close only when it created it.
   *
   * @default - a new folder under os.tmpdir()
   */
  readonly directory?: string;
  /** The region the server reports (HeadBucket, GetBucketLocation). @default 'us-east-1' */
  readonly region?: string;
}

/** What the server stores for an object; `file` holds its bytes. */
export interface StoredObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Quoted, as S3 returns it: `"<md5>"`, or `"<md5 of part md5s>-<parts>"` after a multipart upload. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly contentEncoding?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  /** `x-amz-meta-*` headers, names without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  /** `x-amz-server-side-encryption` as S3 reports it: `AES256` unless the writer asked for `aws:kms`. */
  readonly serverSideEncryption: string;
  readonly sseKmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
  /** The full-object checksum of a single-part upload, when the writer sent one. */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
  readonly partsCount?: number;
  readonly file: string;
}

/** A request the server received, for assertions (credentials and signatures are left out). */
export interface S3RequestRecord {
  readonly method: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly operation: string;
  readonly status: number;
  readonly errorCode?: string;
  /** `x-amz-*` and content headers as received, minus `authorization` and `x-amz-security-token`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly accessKeyId?: string;
}

interface Sse {
  readonly serverSideEncryption: string;
  readonly sseKmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
}

interface ObjectHeaders extends Sse {
  readonly contentType: string;
  readonly contentEncoding?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly metadata: Record<string, string>;
}

interface Part {
  readonly file: string;
  readonly size: number;
  readonly etag: string;
  readonly md5: Buffer;
}

interface Upload {
  readonly id: string;
  readonly key: string;
  readonly initiated: Date;
  readonly headers: ObjectHeaders;
  readonly parts: Map<number, Part>;
}

interface Bucket {
  readonly name: string;
  readonly created: Date;
  readonly objects: Map<string, StoredObjectInfo>;
  readonly uploads: Map<string, Upload>;
}

/** An S3 error: `<Error><Code>..</Code><Message>..</Message>...</Error>` with its status. */
class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** S3's minimum part size, for every part but the last (EntityTooSmall otherwise). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;
const MAX_KEYS = 1000;
const MAX_XML_BODY_BYTES = 4 * 1024 * 1024;
const OWNER_ID = '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a';

const SIGNATURE_ERRORS: Record<SigV4Refusal, [number, string]> = {
  missing: [403, 'AccessDenied'],
  malformed: [400, 'AuthorizationHeaderMalformed'],
  unknownKey: [403, 'InvalidAccessKeyId'],
  badToken: [400, 'InvalidToken'],
  badSignature: [403, 'SignatureDoesNotMatch'],
};

/**
 * An embedded S3-compatible endpoint for artifacts, on 127.0.0.1: the subset a CodePipeline job needs.
 *
 * Buckets: CreateBucket, HeadBucket, DeleteBucket, ListBuckets, GetBucketLocation, ListObjectsV2, DeleteObjects.
 * Objects: PutObject (plain, aws-chunked with trailing checksums, Content-MD5), CopyObject, GetObject (Range,
 * If-Match/If-None-Match, checksum mode), HeadObject, DeleteObject, multipart Create/UploadPart/Complete/Abort.
 * SSE headers are recorded and echoed (no encryption happens). Bodies stream to files; nothing is held in memory.
 * The AWS SDK v3 reaches it path-style (`http://127.0.0.1:PORT/bucket/key`), which it does for IP endpoints.
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
  private _endpoint = '';

  private constructor(
    options: LocalS3ServerOptions,
    /** Where object bodies live (one file per object or part). */
    readonly directory: string,
    private readonly ownsDirectory: boolean,
  ) {
    this.region = options.region ?? 'us-east-1';
    this.verifySignatures = options.credentials !== undefined;
    for (const c of options.credentials ?? []) this.credentials.set(c.accessKeyId, c);
    this.server = http.createServer((req, res) => void this.handle(req, res));
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    let route: { bucket?: string; key?: string };
    try {
      route = this.route(req, url.pathname);
    } catch (err) {
      return this.sendError(req, res, toS3Error(err));
    }
    const { bucket, key } = route;
    const query = url.searchParams;
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
      const signature = verifySigV4(req, header(req, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD', this.verifySignatures ? (id) => this.credentials.get(id) : undefined);
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

  /** Path-style `/bucket/key`, or virtual-hosted `bucket.localhost` (which some clients use for `localhost`). */
  private route(req: http.IncomingMessage, pathname: string): { bucket?: string; key?: string } {
    const host = (header(req, 'host') ?? '').replace(/:\d+$/, '');
    const virtual = /^(.+)\.localhost$/.exec(host);
    const segments = pathname.slice(1);
    if (virtual) return { bucket: virtual[1], key: segments === '' ? undefined : decodePath(segments) };
    if (segments === '') return {};
    const slash = segments.indexOf('/');
    if (slash < 0) return { bucket: decodePath(segments) };
    const key = segments.slice(slash + 1);
    return { bucket: decodePath(segments.slice(0, slash)), key: key === '' ? undefined : decodePath(key) };
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
        return this.listObjectsV2(bucket!, query, res);
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

  private listObjectsV2(name: string, query: URLSearchParams, res: http.ServerResponse): void {
    const bucket = this.bucket(name);
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = Math.min(parseNonNegative(query.get('max-keys') ?? String(MAX_KEYS), 'max-keys'), MAX_KEYS);
    const token = query.get('continuation-token');
    const startAfter = query.get('start-after') ?? '';
    const urlEncode = query.get('encoding-type') === 'url';
    const resume = token === null ? { after: startAfter, skipPrefix: undefined } : decodeToken(token);

    const contents: StoredObjectInfo[] = [];
    const commonPrefixes: string[] = [];
    let truncated = false;
    let last: { after: string; skipPrefix?: string } | undefined;
    for (const key of sortKeys([...bucket.objects.keys()])) {
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
        contents.push(bucket.objects.get(key)!);
        last = { after: key };
      }
    }
    const enc = (value: string) => (urlEncode ? encodeURIComponent(value) : value);
    const body = [
      element('Name', name),
      element('Prefix', enc(prefix)),
      delimiter === '' ? '' : element('Delimiter', enc(delimiter)),
      element('MaxKeys', maxKeys),
      element('KeyCount', contents.length + commonPrefixes.length),
      element('IsTruncated', truncated),
      urlEncode ? element('EncodingType', 'url') : '',
      token === null ? '' : element('ContinuationToken', token),
      truncated && last ? element('NextContinuationToken', encodeToken(last)) : '',
      query.has('start-after') ? element('StartAfter', enc(startAfter)) : '',
      ...contents.map(
        (o) =>
          `<Contents>${element('Key', enc(o.key))}${element('LastModified', o.lastModified.toISOString())}${element('ETag', o.etag)}` +
          `${element('Size', o.size)}${element('StorageClass', 'STANDARD')}</Contents>`,
      ),
      ...commonPrefixes.map((p) => `<CommonPrefixes>${element('Prefix', enc(p))}</CommonPrefixes>`),
    ].join('');
    sendXml(res, 200, document('ListBucketResult', body));
  }

  private async deleteObjects(name: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.bucket(name);
    const xml = (await readSmallBody(req, MAX_XML_BODY_BYTES)).toString('utf8');
    const quiet = text(xml, 'Quiet') === 'true';
    const keys = elements(xml, 'Object').map((o) => text(o, 'Key'));
    if (keys.length === 0 || keys.some((k) => k === undefined)) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    for (const key of keys) this.deleteObject(name, key!);
    const deleted = quiet ? '' : keys.map((k) => `<Deleted>${element('Key', k)}</Deleted>`).join('');
    sendXml(res, 200, document('DeleteResult', deleted));
  }

  private async putObject(bucket: string, key: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const b = this.bucket(bucket);
    checkKey(key);
    const headers = objectHeaders(req);
    const body = await receiveBody(req, this.newFile());
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
    const partNumber = Number(query.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new S3Error(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
        ArgumentName: 'partNumber',
        ArgumentValue: String(query.get('partNumber')),
      });
    }
    const body = await receiveBody(req, this.newFile());
    const etag = `"${body.md5.toString('hex')}"`;
    const previous = upload.parts.get(partNumber);
    upload.parts.set(partNumber, { file: body.file, size: body.size, etag, md5: body.md5 });
    if (previous) void fs.promises.rm(previous.file, { force: true });
    send(res, 200, { etag, ...sseHeaders(upload.headers), ...checksumHeaders(body.checksum) });
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
    const xml = (await readSmallBody(req, MAX_XML_BODY_BYTES)).toString('utf8');
    const requested = elements(xml, 'Part').map((p) => ({ number: Number(text(p, 'PartNumber')), etag: normalizeEtag(text(p, 'ETag') ?? '') }));
    if (requested.length === 0) {
      throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    }
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
    const extra = Object.entries(error.extra)
      .map(([k, v]) => element(k, v))
      .join('');
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
      element('Code', error.code) +
      element('Message', error.message) +
      extra +
      element('Resource', resource) +
      element('RequestId', requestId) +
      '</Error>';
    sendXml(res, error.status, xml, headers);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies

interface ReceivedBody {
  readonly file: string;
  readonly size: number;
  readonly md5: Buffer;
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

/** A Transform that feeds every chunk to the given hashes and counts bytes, passing the data on unchanged. */
function meter(hashes: ReadonlyArray<{ update(data: Buffer): unknown }>): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      for (const h of hashes) h.update(chunk);
      t.bytes += chunk.length;
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
async function receiveBody(req: http.IncomingMessage, file: string): Promise<ReceivedBody> {
  const contentSha256 = header(req, 'x-amz-content-sha256');
  const contentEncoding = header(req, 'content-encoding') ?? '';
  const chunked = contentEncoding.split(',').some((e) => e.trim() === 'aws-chunked') || (contentSha256?.startsWith('STREAMING-') ?? false);
  const algorithm = declaredChecksumAlgorithm(req);
  const md5 = crypto.createHash('md5');
  const checksum: Checksum | undefined = algorithm && createChecksum(algorithm);
  const sha256 = contentSha256 && /^[0-9a-f]{64}$/.test(contentSha256) ? crypto.createHash('sha256') : undefined;
  const hashes = [md5, ...(checksum ? [checksum] : []), ...(sha256 ? [sha256] : [])];
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;
  const counter = meter(hashes);
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
      const actual = checksum.digest();
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
function declaredChecksumAlgorithm(req: http.IncomingMessage): ChecksumAlgorithm | undefined {
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

async function drain(req: http.IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Headers, names, ranges

function operationName(
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
      GET: query.get('list-type') === '2' ? 'ListObjectsV2' : query.has('location') ? 'GetBucketLocation' : query.size === 0 ? 'ListObjects' : undefined,
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

function recordedHeaders(req: http.IncomingMessage): Record<string, string> {
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
function objectHeaders(req: http.IncomingMessage): ObjectHeaders {
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

function sseHeaders(sse: Sse): Record<string, string> {
  return {
    'x-amz-server-side-encryption': sse.serverSideEncryption,
    ...(sse.sseKmsKeyId !== undefined ? { 'x-amz-server-side-encryption-aws-kms-key-id': sse.sseKmsKeyId } : {}),
    ...(sse.bucketKeyEnabled !== undefined ? { 'x-amz-server-side-encryption-bucket-key-enabled': String(sse.bucketKeyEnabled) } : {}),
  };
}

function checksumHeaders(checksum: ReceivedBody['checksum']): Record<string, string> {
  return checksum ? { [checksumHeaderOf(checksum.algorithm)]: checksum.value } : {};
}

/** `Range: bytes=a-b | a- | -n`; undefined means the whole object (also for syntax S3 ignores, like several ranges). */
function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
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

function invalidRange(size: number): S3Error {
  return new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { ActualObjectSize: String(size) }, { 'content-range': `bytes */${size}` });
}

function checkPreconditions(req: http.IncomingMessage, info: StoredObjectInfo): void {
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined && !ifMatch.split(',').some((e) => e.trim() === '*' || normalizeEtag(e) === normalizeEtag(info.etag))) {
    throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  }
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((e) => e.trim() === '*' || normalizeEtag(e) === normalizeEtag(info.etag))) {
    throw new S3Error(304, 'NotModified', 'Not Modified', {}, { etag: info.etag });
  }
}

function normalizeEtag(etag: string): string {
  return unescapeXml(etag).trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

function parseCopySource(value: string): { bucket: string; key: string } {
  const withoutVersion = value.split('?')[0];
  const decoded = decodePath(withoutVersion.replace(/^\//, ''));
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source' });
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** S3 bucket naming rules (general purpose buckets). */
function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new S3Error(400, 'InvalidBucketName', `The specified bucket is not valid: ${JSON.stringify(name)} (3-63 lowercase letters, digits, dots and hyphens).`, {
      BucketName: name,
    });
  }
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function parseNonNegative(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new S3Error(400, 'InvalidArgument', `Provided ${name} not an integer or within integer range`, { ArgumentName: name, ArgumentValue: value });
  return n;
}

/** S3 lists keys in UTF-8 binary order, which differs from JavaScript's UTF-16 order above U+FFFF. */
function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sortKeys(keys: string[]): string[] {
  return keys.sort(compareKeys);
}

function encodeToken(position: { after: string; skipPrefix?: string }): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64');
}

function decodeToken(token: string): { after: string; skipPrefix?: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { after?: unknown; skipPrefix?: unknown };
    if (typeof parsed.after === 'string') return { after: parsed.after, skipPrefix: typeof parsed.skipPrefix === 'string' ? parsed.skipPrefix : undefined };
  } catch {
    // fall through
  }
  throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
}

function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  return new S3Error(500, 'InternalError', `We encountered an internal error: ${err instanceof Error ? err.message : String(err)}`);
}

function send(res: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'x-amz-request-id': newRequestId(), ...headers, 'content-length': '0' });
  res.end();
}

function sendXml(res: http.ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(xml, 'utf8');
  res.writeHead(status, { 'x-amz-request-id': newRequestId(), ...headers, 'content-type': 'application/xml', 'content-length': String(body.length) });
  res.end(body);
}
