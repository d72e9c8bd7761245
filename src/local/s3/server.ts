import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { drain } from './body';
import { S3Error, SIGNATURE_ERRORS, errorXml, toS3Error } from './errors';
import { recordedHeaders } from './headers';
import { listObjectsV1Xml, listObjectsV2Xml } from './listing';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, uploadPart, uploadPartCopy } from './multipart';
import { copyObject, deleteObjects, getObject, putObject } from './objects';
import { send, sendXml } from './responses';
import { operationName, parseTarget } from './routing';
import { ObjectStore } from './store';
import type { LocalS3ServerOptions, S3Call, S3RequestRecord, Sse, StoredObjectInfo } from './types';
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
  private readonly store: ObjectStore;
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
    this.store = new ObjectStore(directory, options.maxObjectBytes ?? MAX_OBJECT_BYTES);
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
    this.store.createBucket(name);
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
    await this.store.removeBucket(name);
  }

  /** What is stored under `bucket`/`key`. */
  object(bucket: string, key: string): StoredObjectInfo | undefined {
    return this.store.object(bucket, key);
  }

  /** The keys of a bucket, in S3's (UTF-8 binary) order. */
  keys(bucket: string): string[] {
    return this.store.keys(bucket);
  }

  /** Stores a local file as an object without going over HTTP (the file is copied). */
  async putFile(bucket: string, key: string, source: string, options: { contentType?: string; sse?: Sse } = {}): Promise<StoredObjectInfo> {
    return this.store.putFile(bucket, key, source, options);
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
    const store = this.store;
    // Routing gave a bucket to every operation but ListBuckets, and a key to every object operation.
    const call: S3Call = { req, res, bucket: bucket!, key: key!, query };
    switch (operation) {
      case 'ListBuckets':
        return this.listBuckets(res);
      case 'CreateBucket':
        await drain(req);
        store.createBucket(call.bucket);
        return send(res, 200, { location: `/${call.bucket}` });
      case 'HeadBucket':
        store.bucket(call.bucket);
        return send(res, 200, { 'x-amz-bucket-region': this.region });
      case 'DeleteBucket':
        store.deleteBucket(call.bucket);
        return send(res, 204);
      case 'GetBucketLocation':
        store.bucket(call.bucket);
        return sendXml(res, 200, document('LocationConstraint', this.region === 'us-east-1' ? '' : escapeXml(this.region)));
      case 'ListObjectsV2':
        return sendXml(res, 200, listObjectsV2Xml(call.bucket, store.bucket(call.bucket).objects, query));
      case 'ListObjects':
        return sendXml(res, 200, listObjectsV1Xml(call.bucket, store.bucket(call.bucket).objects, query));
      case 'DeleteObjects':
        return deleteObjects(store, call);
      case 'PutObject':
        return putObject(store, call);
      case 'CopyObject':
        return copyObject(store, call);
      case 'GetObject':
      case 'HeadObject':
        return getObject(store, call, operation === 'HeadObject');
      case 'DeleteObject':
        store.deleteObject(call.bucket, call.key);
        return send(res, 204);
      case 'CreateMultipartUpload':
        return createMultipartUpload(store, call);
      case 'UploadPart':
        return uploadPart(store, call);
      case 'UploadPartCopy':
        return uploadPartCopy(store, call);
      case 'CompleteMultipartUpload':
        return completeMultipartUpload(store, call, this.endpoint);
      case 'AbortMultipartUpload':
        return abortMultipartUpload(store, call);
      default:
        throw new S3Error(501, 'NotImplemented', `${operation} is not implemented by the embedded S3 server (cdk-codepipeline-invoke); use moto for it.`);
    }
  }

  private listBuckets(res: http.ServerResponse): void {
    const buckets = this.store
      .allBuckets()
      .map((b) => `<Bucket>${element('Name', b.name)}${element('CreationDate', b.created.toISOString())}</Bucket>`)
      .join('');
    sendXml(res, 200, document('ListAllMyBucketsResult', `<Owner>${element('ID', OWNER_ID)}</Owner><Buckets>${buckets}</Buckets>`));
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
