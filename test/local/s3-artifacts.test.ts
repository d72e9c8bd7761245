/**
 * The artifact S3 suite: what CodePipeline artifacts need from S3, run against the embedded server and against moto
 * (the reference). Both must pass the same tests.
 */
import * as crypto from 'crypto';
import { Readable } from 'stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3Backends, s3Client, sdkErrorCodeOf, type S3Backend } from '../support/servers';

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const MiB = 1024 * 1024;

/** A stream of `size` pseudo-random bytes in chunks of `chunk`, with no known length. */
function randomStream(data: Buffer, chunk = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return void this.push(null);
      this.push(data.subarray(offset, offset + chunk));
      offset += chunk;
    },
  });
}

describe.each(s3Backends)('artifact S3 operations on %s', (_name, start) => {
  let backend: S3Backend;
  let s3: S3Client;
  const bucket = 'codepipeline-artifacts-test';

  beforeAll(async () => {
    backend = await start();
    await backend.createBucket(bucket);
    s3 = s3Client(backend.endpoint);
  });
  afterAll(async () => {
    s3?.destroy();
    await backend?.close();
  });

  async function read(key: string, range?: string): Promise<Buffer> {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  test('a buffer put is read back byte for byte, with the checksum the SDK verifies', async () => {
    const data = crypto.randomBytes(1000);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain.zip', Body: data }));
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'plain.zip', ChecksumMode: 'ENABLED' }));
    expect(Buffer.from(await out.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(out.ETag).toBe(`"${crypto.createHash('md5').update(data).digest('hex')}"`);
  });

  test('a streamed put (aws-chunked with a trailing CRC32) stores the bytes, not the chunk framing', async () => {
    const data = crypto.randomBytes(300 * 1024 + 7);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed.zip', Body: randomStream(data), ContentLength: data.length }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'streamed.zip' }));
    expect(head.ContentLength).toBe(data.length);
    expect((await read('streamed.zip')).equals(data)).toBe(true);
  });

  test('lib-storage streams an object of unknown length as a multipart upload that reads back whole', async () => {
    const data = crypto.randomBytes(11 * MiB + 123);
    const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: 'multipart.zip', Body: randomStream(data) }, partSize: 5 * MiB });
    await upload.done();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'multipart.zip' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    expect((await read('multipart.zip')).equals(data)).toBe(true);
  });

  test('SSE-KMS headers of a put are stored and reported back on head and get', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kms.zip', Body: 'zip', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kms.zip' }));
    expect(head).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY });
    const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'kms.zip' }));
    await get.Body!.transformToByteArray();
    expect(get.ServerSideEncryption).toBe('aws:kms');
  });

  test('SSE-KMS given to a multipart upload applies to the completed object', async () => {
    const data = crypto.randomBytes(6 * MiB);
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'kms-multipart.zip', Body: randomStream(data), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY },
      partSize: 5 * MiB,
    });
    await upload.done();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kms-multipart.zip' }));
    expect(head).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY, ContentLength: data.length });
  });

  test('a range get returns just those bytes with a 206 Content-Range', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'range.zip', Body: data }));
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range.zip', Range: 'bytes=10-14' }));
    expect(Buffer.from(await out.Body!.transformToByteArray()).toString()).toBe('abcde');
    expect(out.ContentRange).toBe('bytes 10-14/20');
    expect(out.$metadata.httpStatusCode).toBe(206);
    expect((await read('range.zip', 'bytes=-4')).toString()).toBe('ghij');
    expect((await read('range.zip', 'bytes=18-')).toString()).toBe('ij');
  });

  test('a range that starts past the end is refused with 416', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'short.zip', Body: 'abc' }));
    expect(await sdkErrorCodeOf(read('short.zip', 'bytes=10-20'))).toMatchObject({ status: 416 });
  });

  test('user metadata and content type round-trip', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'meta.zip', Body: 'x', ContentType: 'application/zip', Metadata: { 'codepipeline-job': 'abc' } }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta.zip' }));
    expect(head).toMatchObject({ ContentType: 'application/zip', Metadata: { 'codepipeline-job': 'abc' } });
  });

  test('keys with spaces, plus signs, unicode and slashes round-trip exactly', async () => {
    const key = 'Pipeline/Source Art+ifact/ü 名前/obj~(1).zip';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'weird' }));
    expect((await read(key)).toString()).toBe('weird');
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'Pipeline/' }));
    expect(list.Contents?.map((c) => c.Key)).toEqual([key]);
  });

  test('listing honours prefix, delimiter and pagination', async () => {
    for (const key of ['list/a/1', 'list/a/2', 'list/b', 'list/c', 'list/d/1']) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    }
    const grouped = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/' }));
    expect(grouped.Contents?.map((c) => c.Key)).toEqual(['list/b', 'list/c']);
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['list/a/', 'list/d/']);

    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', MaxKeys: 2, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys).toEqual(['list/a/1', 'list/a/2', 'list/b', 'list/c', 'list/d/1']);
  });

  test('a missing key is NoSuchKey and a missing bucket is NoSuchBucket', async () => {
    expect(await sdkErrorCodeOf(read('does-not-exist.zip'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await sdkErrorCodeOf(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k' })))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });

  test('a deleted object is gone', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'delete-me.zip', Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'delete-me.zip' }));
    expect(await sdkErrorCodeOf(read('delete-me.zip'))).toMatchObject({ name: 'NoSuchKey' });
  });

  test('an aborted multipart upload cannot be completed and leaves no object', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'aborted.zip' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'aborted.zip', UploadId, PartNumber: 1, Body: 'x' }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'aborted.zip', UploadId }));
    const error = await sdkErrorCodeOf(
      s3.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'aborted.zip', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
      ),
    );
    // AWS answers 404 NoSuchUpload (asserted in s3-server.test.ts); moto 5.2 answers 500 here.
    expect(error.status).toBeGreaterThanOrEqual(400);
    expect(await sdkErrorCodeOf(read('aborted.zip'))).toMatchObject({ name: 'NoSuchKey' });
  });

  test('completing with a part under 5 MiB that is not the last is refused with EntityTooSmall', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'small-parts.zip' }));
    const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'small-parts.zip', UploadId, PartNumber: 1, Body: 'tiny' }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'small-parts.zip', UploadId, PartNumber: 2, Body: 'tiny' }));
    const error = await sdkErrorCodeOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'small-parts.zip',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] },
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'EntityTooSmall', status: 400 });
  });

  test('completing with a wrong part ETag is refused with InvalidPart', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'bad-part.zip' }));
    await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'bad-part.zip', UploadId, PartNumber: 1, Body: 'x' }));
    const error = await sdkErrorCodeOf(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: 'bad-part.zip',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }] },
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'InvalidPart', status: 400 });
  });
});
