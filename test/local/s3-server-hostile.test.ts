/** The embedded S3 server against what real clients and hostile requests send: keys, request lines, clocks, sizes, XML. */
import * as http from 'http';
import * as net from 'net';
import { Readable } from 'stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { LocalS3Server } from '../../src/local/s3-server';
import { FAKE_CREDENTIALS, REGION, s3Client, sdkErrorCodeOf } from '../support/servers';

const BUCKET = 'artifacts';
const OTHER = 'other-bucket';

/** Writes raw bytes on a fresh connection and returns what came back (the status line first). */
function rawExchange(endpoint: string, request: string): Promise<string> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(request));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

/** A PUT with the path sent exactly as given (fetch would resolve dot segments before sending, node:http does not). */
function put(endpoint: string, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint}/`, { method: 'PUT', path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the embedded S3 server keeps keys verbatim', () => {
  let server: LocalS3Server;
  beforeAll(async () => {
    server = await LocalS3Server.start();
    server.createBucket(BUCKET);
    server.createBucket(OTHER);
  });
  afterAll(() => server.close());

  test('dot segments are part of the key, not resolved', async () => {
    expect((await put(server.endpoint, `/${BUCKET}/x/../y.txt`, 'a')).status).toBe(200);
    expect((await put(server.endpoint, `/${BUCKET}/./z.txt`, 'b')).status).toBe(200);
    expect(server.keys(BUCKET)).toEqual(expect.arrayContaining(['x/../y.txt', './z.txt']));
    expect(server.keys(BUCKET)).not.toContain('y.txt');
  });

  test('a key starting with ../other-bucket/ stays in its own bucket', async () => {
    expect((await put(server.endpoint, `/${BUCKET}/../${OTHER}/evil.txt`, 'evil')).status).toBe(200);
    expect(server.object(BUCKET, `../${OTHER}/evil.txt`)?.size).toBe(4);
    expect(server.keys(OTHER)).toEqual([]);
  });

  test('the SDK reads such a key back under the same name', async () => {
    const s3 = s3Client(server.endpoint);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/./b/../c.txt', Body: 'sdk' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/./b/../c.txt' }));
    expect(await got.Body!.transformToString()).toBe('sdk');
    s3.destroy();
  });
});

describe('the embedded S3 server answers bad requests with 400 and keeps running', () => {
  let server: LocalS3Server;
  beforeAll(async () => {
    server = await LocalS3Server.start();
    server.createBucket(BUCKET);
  });
  afterAll(() => server.close());

  test('a request target like //a:b gets a 400 and the next request is served', async () => {
    const answer = await rawExchange(server.endpoint, 'GET //a:b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/InvalidURI/);
    expect((await fetch(`${server.endpoint}/${BUCKET}?list-type=2`)).status).toBe(200);
  });

  test('a request target that is not a path gets a 400', async () => {
    const answer = await rawExchange(server.endpoint, 'GET a:b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });

  test('a DeleteObjects body over the XML size cap gets 400 MaxMessageLengthExceeded', async () => {
    const body = `<Delete>${'<Object><Key>k</Key></Object>'.repeat(200_000)}</Delete>`;
    expect(body.length).toBeGreaterThan(5 * 1024 * 1024);
    const res = await fetch(`${server.endpoint}/${BUCKET}?delete`, { method: 'POST', body });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/MaxMessageLengthExceeded/);
  });

  test('a character reference beyond U+10FFFF gets 400 MalformedXML', async () => {
    const res = await fetch(`${server.endpoint}/${BUCKET}?delete`, { method: 'POST', body: '<Delete><Object><Key>&#x110000;</Key></Object></Delete>' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/MalformedXML/);
  });

  test('thousands of unclosed elements get 400 MalformedXML', async () => {
    const res = await fetch(`${server.endpoint}/${BUCKET}?delete`, { method: 'POST', body: `<Delete>${'<Object><Key>'.repeat(50_000)}` });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/MalformedXML/);
  });

  test('a well-formed DeleteObjects with escaped keys deletes exactly those keys', async () => {
    await put(server.endpoint, `/${BUCKET}/${encodeURIComponent('a&b')}`, '1');
    await put(server.endpoint, `/${BUCKET}/keep`, '2');
    const res = await fetch(`${server.endpoint}/${BUCKET}?delete`, { method: 'POST', body: '<Delete><Object><Key>a&amp;b</Key></Object></Delete>' });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<Deleted><Key>a&amp;b<\/Key><\/Deleted>/);
    expect(server.keys(BUCKET)).toContain('keep');
    expect(server.keys(BUCKET)).not.toContain('a&b');
  });
});

describe('the embedded S3 server refuses requests signed far from its clock', () => {
  let server: LocalS3Server;
  beforeAll(async () => {
    server = await LocalS3Server.start({ credentials: [FAKE_CREDENTIALS] });
    server.createBucket(BUCKET);
  });
  afterAll(() => server.close());

  const clientAt = (offsetMs: number) =>
    new S3Client({
      endpoint: server.endpoint,
      region: REGION,
      credentials: FAKE_CREDENTIALS,
      forcePathStyle: true,
      maxAttempts: 1,
      systemClockOffset: offsetMs,
    });

  test('a request signed 20 minutes in the past is refused with RequestTimeTooSkewed', async () => {
    expect(await sdkErrorCodeOf(clientAt(-20 * 60_000).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' })))).toEqual({ name: 'RequestTimeTooSkewed', status: 403 });
  });

  test('a request signed 20 minutes in the future is refused too', async () => {
    expect(await sdkErrorCodeOf(clientAt(20 * 60_000).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' })))).toEqual({ name: 'RequestTimeTooSkewed', status: 403 });
  });

  test('a request 10 minutes off is within S3\'s 15 minutes and accepted', async () => {
    await clientAt(-10 * 60_000).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' }));
    expect(server.object(BUCKET, 'k')?.size).toBe(1);
  });
});

describe('the embedded S3 server caps object sizes', () => {
  let server: LocalS3Server;
  let s3: S3Client;
  beforeAll(async () => {
    server = await LocalS3Server.start({ maxObjectBytes: 1024 });
    server.createBucket(BUCKET);
    s3 = s3Client(server.endpoint);
  });
  afterAll(async () => {
    s3.destroy();
    await server.close();
  });

  test('a PUT declaring more than the cap is refused with EntityTooLarge and not stored', async () => {
    expect(await sdkErrorCodeOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: Buffer.alloc(2048) })))).toEqual({ name: 'EntityTooLarge', status: 400 });
    expect(server.object(BUCKET, 'big')).toBeUndefined();
  });

  test('a streamed (aws-chunked) body that grows past the cap is refused too', async () => {
    const body = Readable.from([Buffer.alloc(800), Buffer.alloc(800)]);
    const error = await sdkErrorCodeOf(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'streamed', Body: body, ContentLength: 1600 })));
    expect(error.name).toBe('EntityTooLarge');
    expect(server.object(BUCKET, 'streamed')).toBeUndefined();
  });

  test('a body at the cap is stored', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'fits', Body: Buffer.alloc(1024) }));
    expect(server.object(BUCKET, 'fits')?.size).toBe(1024);
  });
});

describe('the embedded S3 server serves ListObjects (v1) and UploadPartCopy', () => {
  let server: LocalS3Server;
  let s3: S3Client;
  beforeAll(async () => {
    server = await LocalS3Server.start();
    server.createBucket(BUCKET);
    s3 = s3Client(server.endpoint);
    for (const key of ['a/1', 'a/2', 'b/1', 'c', 'd']) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
  });
  afterAll(async () => {
    s3.destroy();
    await server.close();
  });

  test('ListObjects pages with Marker and gives NextMarker when a delimiter groups keys', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', MaxKeys: 2 }));
    expect(first.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    expect(first).toMatchObject({ IsTruncated: true, NextMarker: 'b/' });
    const second = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', Marker: first.NextMarker }));
    expect(second.Contents?.map((c) => c.Key)).toEqual(['c', 'd']);
    expect(second.IsTruncated).toBe(false);
  });

  test('ListObjects without a delimiter resumes after the last key listed', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, MaxKeys: 3 }));
    expect(first.Contents?.map((c) => c.Key)).toEqual(['a/1', 'a/2', 'b/1']);
    expect(first.NextMarker).toBeUndefined();
    const second = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Marker: 'b/1' }));
    expect(second.Contents?.map((c) => c.Key)).toEqual(['c', 'd']);
  });

  test('UploadPartCopy copies byte ranges of an object into a multipart upload', async () => {
    const source = Buffer.alloc(6 * 1024 * 1024, 7);
    source.write('HEAD', 0);
    source.write('TAIL', source.length - 4);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'source', Body: source }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'copy' }));
    const half = 5 * 1024 * 1024;
    const p1 = await s3.send(
      new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'copy', UploadId, PartNumber: 1, CopySource: `${BUCKET}/source`, CopySourceRange: `bytes=0-${half - 1}` }),
    );
    const p2 = await s3.send(
      new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'copy', UploadId, PartNumber: 2, CopySource: `${BUCKET}/source`, CopySourceRange: `bytes=${half}-${source.length - 1}` }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'copy',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult!.ETag }] },
      }),
    );
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copy' }))).Body!.transformToByteArray());
    expect(got.equals(source)).toBe(true);
    expect(server.object(BUCKET, 'copy')?.etag).toMatch(/-2"$/);
  });

  test('a copy range past the end of the source is refused with InvalidArgument', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'bad' }));
    expect(
      await sdkErrorCodeOf(s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'bad', UploadId, PartNumber: 1, CopySource: `${BUCKET}/c`, CopySourceRange: 'bytes=0-99' }))),
    ).toEqual({ name: 'InvalidArgument', status: 400 });
  });
});
