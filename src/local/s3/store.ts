/**
 * What the embedded S3 server holds: buckets, their objects and unfinished multipart uploads, each body in a file of
 * its own under `directory`. The errors of a missing bucket, key or upload are S3's.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { meter } from './body';
import { S3Error } from './errors';
import { sortKeys } from './listing';
import { checkBucketName, parseCopySource } from './routing';
import type { Bucket, Part, Sse, StoredObjectInfo, Upload } from './types';

export class ObjectStore {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    /** Where object bodies live (one file per object or part). */
    readonly directory: string,
    /** The largest body one PutObject or part may have (EntityTooLarge beyond). */
    readonly maxObjectBytes: number,
  ) {}

  /** Every bucket, in creation order. */
  allBuckets(): Bucket[] {
    return [...this.buckets.values()];
  }

  /** Creates a bucket (no-op when it exists). */
  createBucket(name: string): void {
    checkBucketName(name);
    if (!this.buckets.has(name)) this.buckets.set(name, { name, created: new Date(), objects: new Map(), uploads: new Map() });
  }

  /** The bucket, or S3's NoSuchBucket. */
  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  /** DeleteBucket: only an empty bucket (no objects, no unfinished uploads), as S3. */
  deleteBucket(name: string): void {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0 || bucket.uploads.size > 0) {
      throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
    }
    this.buckets.delete(name);
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

  /** The object, or S3's NoSuchKey. */
  existingObject(bucket: string, key: string): StoredObjectInfo {
    const info = this.bucket(bucket).objects.get(key);
    if (!info) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    return info;
  }

  /** The object an `x-amz-copy-source` header names (CopyObject, UploadPartCopy). */
  copySource(header: string): StoredObjectInfo {
    const source = parseCopySource(header);
    return this.existingObject(source.bucket, source.key);
  }

  /** The keys of a bucket, in S3's (UTF-8 binary) order. */
  keys(bucket: string): string[] {
    return sortKeys([...(this.buckets.get(bucket)?.objects.keys() ?? [])]);
  }

  /** A new file name for a body. */
  newFile(): string {
    return path.join(this.directory, crypto.randomUUID());
  }

  /** Stores an object (replacing the one under its key). */
  store(info: StoredObjectInfo): void {
    const bucket = this.bucket(info.bucket);
    const previous = bucket.objects.get(info.key);
    bucket.objects.set(info.key, info);
    // A reader that already opened the old file keeps reading it (POSIX unlink semantics).
    if (previous) void fs.promises.rm(previous.file, { force: true });
  }

  deleteObject(bucket: string, key: string): void {
    const b = this.bucket(bucket);
    const previous = b.objects.get(key);
    if (previous) {
      b.objects.delete(key);
      void fs.promises.rm(previous.file, { force: true });
    }
  }

  /** Stores a local file as an object without going over HTTP (the file is copied). */
  async putFile(bucket: string, key: string, source: string, options: { contentType?: string; sse?: Sse } = {}): Promise<StoredObjectInfo> {
    this.bucket(bucket);
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
    this.store(info);
    return info;
  }

  /** The multipart upload with this id for this key, or S3's NoSuchUpload. */
  upload(bucket: string, key: string, uploadId: string): Upload {
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

  /** Sets a part of an upload (an upload of the same number again replaces it, as S3 does). */
  setPart(upload: Upload, partNumber: number, part: Part): void {
    const previous = upload.parts.get(partNumber);
    upload.parts.set(partNumber, part);
    if (previous) void fs.promises.rm(previous.file, { force: true });
  }

  /** Ends an upload (completed or aborted): its part files go. */
  endUpload(bucket: string, upload: Upload): void {
    this.bucket(bucket).uploads.delete(upload.id);
    for (const part of upload.parts.values()) void fs.promises.rm(part.file, { force: true });
  }
}
