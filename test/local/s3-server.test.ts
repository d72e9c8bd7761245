/** What only the embedded S3 server offers or must get exactly right (the shared suite is s3-artifacts.test.ts). */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { Readable } from 'stream';
import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { LocalS3Server } from '../../src/local/s3-server';
import { FAKE_CREDENTIALS, FAKE_SESSION_CREDENTIALS, REGION, s3Client, sdkErrorOf } from '../support/servers';

const BUCKET = 'artifacts';

/** Sends a raw request, so a test can craft bodies the SDK would never send. */
function rawRequest(
  endpoint: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint}${path}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the embedded S3 server', () => {
  let server: LocalS3Server;
  let s3: S3Client;
  beforeAll(async () => {
    server = await LocalS3Server.start();
    server.createBucket(BUCKET);
    s3 = s3Client(server.endpoint);
  });
  afterAll(async () => {
    s3.destroy();
    await server.close();
  });

  test('the SDK addresses it path-style at 127.0.0.1, so bucket and key come from the path', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/obj.zip', Body: 'x' }));
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.requests.at(-1)).toMatchObject({ operation: 'PutObject', bucket: BUCKET, key: 'dir/obj.zip', status: 200 });
  });

  test('a streamed upload is recorded as aws-chunked with its trailing checksum, and the stored file has the plain bytes', async () => {
    const data = Buffer.from('streamed artifact bytes');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked.zip', Body: Readable.from([data]), ContentLength: data.length }));
    const record = server.requests.at(-1)!;
    expect(record.headers).toMatchObject({ 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32' });
    const stored = server.object(BUCKET, 'chunked.zip')!;
    expect(fs.readFileSync(stored.file).equals(data)).toBe(true);
    expect(stored.checksum?.algorithm).toBe('CRC32');
  });

  test('an aws-chunked body whose trailing checksum does not match is refused with BadDigest and not stored', async () => {
    const body = '5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n';
    const res = await rawRequest(
      server.endpoint,
      'PUT',
      `/${BUCKET}/bad-trailer.zip`,
      {
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length': '5',
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
      body,
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/<Code>BadDigest<\/Code>/);
    expect(server.object(BUCKET, 'bad-trailer.zip')).toBeUndefined();
  });

  test('an aws-chunked body shorter than x-amz-decoded-content-length is refused with IncompleteBody', async () => {
    const res = await rawRequest(
      server.endpoint,
      'PUT',
      `/${BUCKET}/short.zip`,
      { 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-decoded-content-length': '9' },
      '5\r\nhello\r\n0\r\n\r\n',
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/<Code>IncompleteBody<\/Code>/);
  });

  test('broken aws-chunked framing is refused, not stored as data', async () => {
    const res = await rawRequest(
      server.endpoint,
      'PUT',
      `/${BUCKET}/framing.zip`,
      { 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' },
      'zz\r\nhello\r\n0\r\n\r\n',
    );
    expect(res.status).toBe(400);
    expect(server.object(BUCKET, 'framing.zip')).toBeUndefined();
  });

  test('a Content-MD5 that does not match the body is refused with BadDigest', async () => {
    const wrong = crypto.createHash('md5').update('other').digest('base64');
    const error = await sdkErrorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'md5.zip', Body: 'body', ContentMD5: wrong })));
    expect(error).toMatchObject({ name: 'BadDigest', status: 400 });
  });

  test('a signed payload hash that does not match the body is refused with XAmzContentSHA256Mismatch', async () => {
    const res = await rawRequest(server.endpoint, 'PUT', `/${BUCKET}/sha.zip`, { 'x-amz-content-sha256': '0'.repeat(64) }, 'body');
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/XAmzContentSHA256Mismatch/);
  });

  test('SSE-KMS headers are recorded on the request log and the stored object', async () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:alias/aws/s3';
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sse.zip', Body: 'x', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: key }));
    expect(server.requests.at(-1)!.headers).toMatchObject({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': key });
    expect(server.object(BUCKET, 'sse.zip')).toMatchObject({ serverSideEncryption: 'aws:kms', sseKmsKeyId: key });
  });

  test('a write without SSE headers is stored with AES256 encryption, as S3 does by default', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'default.zip', Body: 'x' }));
    expect(server.object(BUCKET, 'default.zip')).toMatchObject({ serverSideEncryption: 'AES256', sseKmsKeyId: undefined });
  });

  test('a KMS key id without aws:kms encryption is refused with InvalidArgument', async () => {
    const error = await sdkErrorOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kms-only.zip', Body: 'x', SSEKMSKeyId: 'key' })));
    expect(error).toMatchObject({ name: 'InvalidArgument', status: 400 });
  });

  test('completing an aborted multipart upload gets NoSuchUpload (404), as AWS answers', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.zip' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'aborted.zip', UploadId, PartNumber: 1, Body: 'x' }));
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.zip', UploadId }));
    const error = await sdkErrorOf(
      s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.zip', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })),
    );
    expect(error).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });

  test('a get with If-None-Match of the current ETag answers 304', async () => {
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'etag.zip', Body: 'x' }));
    const error = await sdkErrorOf(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'etag.zip', IfNoneMatch: ETag })));
    expect(error.status).toBe(304);
  });

  test('putFile stores a local file without HTTP, readable through the SDK', async () => {
    const file = `${server.directory}/../putfile-source.zip`;
    fs.writeFileSync(file, 'from disk');
    const info = await server.putFile(BUCKET, 'put-file.zip', file);
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'put-file.zip' }));
    expect(await out.Body!.transformToString()).toBe('from disk');
    expect(info.etag).toBe(`"${crypto.createHash('md5').update('from disk').digest('hex')}"`);
    fs.rmSync(file);
  });

  test('a bucket name S3 would refuse is refused', () => {
    expect(() => server.createBucket('Bad_Bucket')).toThrow(/bucket is not valid/);
  });

  test('an operation outside the subset answers 501 NotImplemented naming it', async () => {
    const res = await rawRequest(server.endpoint, 'GET', `/${BUCKET}/x?tagging`, {}, '');
    expect(res.status).toBe(501);
    expect(res.body).toMatch(/GET object \?tagging is not implemented/);
  });

  // Flexible checksums: against the CRC catalogue's check values (the CRC of the ASCII bytes "123456789", big-endian
  // as S3 headers carry them), which owe nothing to our code nor the SDK's, and as SDK v3 sends and verifies them.
  const CHECK_VALUES: ReadonlyArray<[string, string]> = [
    ['crc32', 'cbf43926'],
    ['crc32c', 'e3069283'],
    ['crc64nvme', 'ae8b14860a799888'],
  ];

  test.each(CHECK_VALUES)('a body with the catalogue check value of %s in its header is stored with it', async (name, hex) => {
    const value = Buffer.from(hex, 'hex').toString('base64');
    const res = await rawRequest(server.endpoint, 'PUT', `/${BUCKET}/check-${name}`, { [`x-amz-checksum-${name}`]: value }, '123456789');
    expect(res.status).toBe(200);
    expect(server.object(BUCKET, `check-${name}`)?.checksum).toEqual({ algorithm: name.toUpperCase(), value });
  });

  test.each(CHECK_VALUES)('a body whose %s header does not match is refused with BadDigest and not stored', async (name, hex) => {
    const wrong = Buffer.from(hex, 'hex').reverse().toString('base64');
    const res = await rawRequest(server.endpoint, 'PUT', `/${BUCKET}/wrong-${name}`, { [`x-amz-checksum-${name}`]: wrong }, '123456789');
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/<Code>BadDigest<\/Code>/);
    expect(server.object(BUCKET, `wrong-${name}`)).toBeUndefined();
  });

  test.each(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const)(
    'SDK v3 uploads (streamed, trailing checksum) with %s are accepted, and a checksum-mode read verifies in the SDK',
    async (algorithm) => {
      const data = Buffer.from(`artifact bytes checked with ${algorithm}`.repeat(1000));
      const key = `sdk-${algorithm}`;
      const body = Readable.from([data]);
      const checksumAlgorithm = ChecksumAlgorithm[algorithm];
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: data.length, ChecksumAlgorithm: checksumAlgorithm }));
      expect(server.requests.at(-1)?.headers['x-amz-trailer']).toBe(`x-amz-checksum-${algorithm.toLowerCase()}`);
      expect(server.object(BUCKET, key)?.checksum?.algorithm).toBe(algorithm);
      const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
      expect(Buffer.from(await out.Body!.transformToByteArray()).equals(data)).toBe(true);
      expect(out[`Checksum${algorithm}` as keyof typeof out]).toBe(server.object(BUCKET, key)?.checksum?.value);
    },
  );
});

describe('the embedded S3 server with credentials verifies SigV4', () => {
  let server: LocalS3Server;
  beforeAll(async () => {
    server = await LocalS3Server.start({ credentials: [FAKE_SESSION_CREDENTIALS] });
    server.createBucket(BUCKET);
  });
  afterAll(() => server.close());

  async function putWith(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, body: string | Readable = 'x') {
    const client = new S3Client({ endpoint: server.endpoint, region: REGION, credentials, maxAttempts: 1 });
    try {
      return await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'signed.zip', Body: body, ContentLength: typeof body === 'string' ? undefined : 4 }));
    } finally {
      client.destroy();
    }
  }

  test('the artifact credentials (with session token) are accepted, for plain and streamed bodies', async () => {
    await putWith(FAKE_SESSION_CREDENTIALS);
    await putWith(FAKE_SESSION_CREDENTIALS, Readable.from([Buffer.from('abcd')]));
    expect(server.requests.filter((r) => r.status === 200)).toHaveLength(2);
    expect(server.requests.at(-1)!.accessKeyId).toBe(FAKE_SESSION_CREDENTIALS.accessKeyId);
  });

  test('other credentials are refused with InvalidAccessKeyId', async () => {
    expect(await sdkErrorOf(putWith(FAKE_CREDENTIALS))).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
  });

  test('a wrong secret is refused with SignatureDoesNotMatch', async () => {
    expect(await sdkErrorOf(putWith({ ...FAKE_SESSION_CREDENTIALS, secretAccessKey: 'nope' }))).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
  });

  test('the right keys without the session token are refused with InvalidToken', async () => {
    const { sessionToken: _, ...keysOnly } = FAKE_SESSION_CREDENTIALS;
    expect(await sdkErrorOf(putWith(keysOnly))).toMatchObject({ name: 'InvalidToken', status: 400 });
  });

  test('an unsigned request is refused with AccessDenied', async () => {
    const res = await rawRequest(server.endpoint, 'GET', `/${BUCKET}?list-type=2`, {}, '');
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/AccessDenied/);
  });
});
