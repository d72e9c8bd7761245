/**
 * The flexible checksums of the embedded S3 server: every algorithm S3 accepts, as SDK v3 sends and verifies them, and
 * against the published check values of each CRC ("123456789"), which owe nothing to our code nor the SDK's.
 */
import * as http from 'http';
import { Readable } from 'stream';
import { ChecksumAlgorithm, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LocalS3Server } from '../../src/local/s3-server';
import { s3Client } from '../support/servers';

const BUCKET = 'checksums';

/** The CRC catalogue's check values (CRC of the ASCII bytes "123456789"), big-endian as S3 headers carry them. */
const CHECK_VALUES: ReadonlyArray<[string, string]> = [
  ['crc32', 'cbf43926'],
  ['crc32c', 'e3069283'],
  ['crc64nvme', 'ae8b14860a799888'],
];

function put(endpoint: string, key: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${endpoint}/${BUCKET}/${key}`, { method: 'PUT', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the embedded S3 server checks flexible checksums', () => {
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

  test.each(CHECK_VALUES)('a body with the catalogue check value of %s in its header is stored with it', async (name, hex) => {
    const value = Buffer.from(hex, 'hex').toString('base64');
    const res = await put(server.endpoint, `check-${name}`, { [`x-amz-checksum-${name}`]: value }, '123456789');
    expect(res.status).toBe(200);
    expect(server.object(BUCKET, `check-${name}`)?.checksum).toEqual({ algorithm: name.toUpperCase(), value });
  });

  test.each(CHECK_VALUES)('a body whose %s header does not match is refused with BadDigest and not stored', async (name, hex) => {
    const wrong = Buffer.from(hex, 'hex').reverse().toString('base64');
    const res = await put(server.endpoint, `wrong-${name}`, { [`x-amz-checksum-${name}`]: wrong }, '123456789');
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
      const read = Buffer.from(await out.Body!.transformToByteArray());
      expect(read.equals(data)).toBe(true);
      expect(out[`Checksum${algorithm}` as keyof typeof out]).toBe(server.object(BUCKET, key)?.checksum?.value);
    },
  );
});
