/**
 * The embedded S3 server against clients nobody here wrote: boto3 (its public API, see boto3_checks.py) and the aws
 * CLI. Verification is on (the artifact credentials with a session token), as runJob runs it.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { awsCli, requireClients, runBoto3Checks, valueOf, type CheckResult, type Run } from './clients';
import { LocalS3Server } from '../../src/local/s3-server';
import { FAKE_SESSION_CREDENTIALS } from '../support/servers';

const BUCKET = 'compat-boto3';
const CLI_BUCKET = 'compat-cli';

let server: LocalS3Server;
let results: Record<string, CheckResult>;
let aws: ReturnType<typeof awsCli>;

beforeAll(async () => {
  requireClients();
  server = await LocalS3Server.start({ credentials: [FAKE_SESSION_CREDENTIALS] });
  server.createBucket(BUCKET);
  server.createBucket(CLI_BUCKET);
  results = await runBoto3Checks('s3', {
    CHECK_ENDPOINT: server.endpoint,
    CHECK_BUCKET: BUCKET,
    CHECK_ACCESS_KEY_ID: FAKE_SESSION_CREDENTIALS.accessKeyId,
    CHECK_SECRET_ACCESS_KEY: FAKE_SESSION_CREDENTIALS.secretAccessKey,
    CHECK_SESSION_TOKEN: FAKE_SESSION_CREDENTIALS.sessionToken,
  });
  aws = awsCli(server.endpoint, FAKE_SESSION_CREDENTIALS);
}, 240_000);
afterAll(() => server?.close());

function folder(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compat-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

async function ok(pending: Promise<Run>): Promise<string> {
  const result = await pending;
  if (result.status !== 0) throw new Error(`aws exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

describe('boto3', () => {
  test('put, get, head and a Range get return the bytes, length, metadata and MD5 ETag', () => {
    expect(valueOf(results, 'put_get_head_range')).toEqual({
      same: true,
      length: 10240,
      metadata: { who: 'boto3' },
      etag: expect.any(String),
      md5: expect.any(String),
      range: [2, 3, 4, 5],
      contentRange: 'bytes 2-5/10240',
    });
    const value = valueOf(results, 'put_get_head_range') as { etag: string; md5: string };
    expect(value.etag).toBe(value.md5);
  });

  test('a managed multipart upload and download round-trip 11 MB in 3 parts', () => {
    expect(valueOf(results, 'multipart_upload_download')).toEqual({ same: true, etag: expect.stringMatching(/^"[0-9a-f]{32}-3"$/) });
  });

  test('copy_object copies an object', () => {
    expect(valueOf(results, 'copy_object')).toEqual({ same: true });
  });

  test('a managed copy of a large object goes through UploadPartCopy', () => {
    expect(valueOf(results, 'multipart_copy')).toEqual({ same: true, etag: expect.stringMatching(/-3"$/) });
    expect(server.requests.filter((r) => r.operation === 'UploadPartCopy' && r.status === 200).length).toBeGreaterThanOrEqual(3);
  });

  test('ListObjectsV2 pages with a delimiter', () => {
    expect(valueOf(results, 'list_objects_v2')).toEqual({ keys: ['list/k0', 'list/k1', 'list/k2', 'list/k3', 'list/k4'], prefixes: ['list/sub/'], pages: 3 });
  });

  test('ListObjects (v1) pages with markers', () => {
    expect(valueOf(results, 'list_objects_v1')).toEqual({ keys: ['list/k0', 'list/k1', 'list/k2', 'list/k3', 'list/k4', 'list/sub/deep'], pages: 3 });
  });

  test('DeleteObject and DeleteObjects remove exactly the keys named', () => {
    expect(valueOf(results, 'delete_object_and_objects')).toEqual({
      deleted: ['list/k1', 'list/k2'],
      left: ['list/k3', 'list/k4', 'list/sub/deep'],
      missing: { code: '404', status: 404 },
    });
  });

  test('a presigned GET works, and a tampered or expired one is refused with 403', () => {
    expect(valueOf(results, 'presigned_get')).toMatchObject({ status: 200, same: true, tampered: 403, expired: 403, expiredBody: expect.stringMatching(/Request has expired/) });
  });

  test('SSE-KMS headers are echoed on put and head', () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(valueOf(results, 'sse_kms_echo')).toEqual({ put: ['aws:kms', key], head: ['aws:kms', key] });
  });

  test('SHA256, CRC32 and SHA1 checksums are verified on upload and returned in checksum mode', () => {
    const value = valueOf(results, 'checksums') as Record<string, { head?: string; get?: string; same: boolean } | string>;
    for (const algorithm of ['SHA256', 'CRC32', 'SHA1']) {
      const r = value[algorithm] as { head?: string; get?: string; same: boolean };
      expect(r.same).toBe(true);
      expect(r.head).toEqual(expect.any(String));
      expect(r.get).toBe(r.head);
    }
    expect((value.SHA256 as { head: string }).head).toBe(value.expectedSHA256);
  });

  test('an unknown access key and a wrong secret are refused as S3 refuses them', () => {
    expect(valueOf(results, 'wrong_credentials')).toEqual({
      unknownKey: { code: 'InvalidAccessKeyId', status: 403 },
      wrongSecret: { code: 'SignatureDoesNotMatch', status: 403 },
    });
  });
});

describe('the aws CLI', () => {
  const files = { 'a.txt': 'alpha', 'dir/b.txt': 'beta', 'dir/deeper/c.bin': crypto.randomBytes(7 * 1024 * 1024), 'x/../odd.txt': 'odd' };

  test('aws s3 sync uploads a folder (7 MB file in parts), then downloads it back identically', async () => {
    const source = folder(files);
    await ok(aws(['s3', 'sync', source, `s3://${CLI_BUCKET}/tree`]));
    expect(server.keys(CLI_BUCKET).filter((k) => k.startsWith('tree/')).sort()).toEqual(['tree/a.txt', 'tree/dir/b.txt', 'tree/dir/deeper/c.bin', 'tree/odd.txt']);
    expect(server.object(CLI_BUCKET, 'tree/dir/deeper/c.bin')?.etag).toMatch(/-2"$/);
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'compat-back-'));
    await ok(aws(['s3', 'sync', `s3://${CLI_BUCKET}/tree`, target]));
    for (const name of ['a.txt', 'dir/b.txt', 'dir/deeper/c.bin']) {
      expect(fs.readFileSync(path.join(target, name)).equals(fs.readFileSync(path.join(source, name)))).toBe(true);
    }
  });

  test('a second sync of an unchanged folder uploads nothing', async () => {
    const source = folder({ 'same.txt': 'same' });
    await ok(aws(['s3', 'sync', source, `s3://${CLI_BUCKET}/again`]));
    const puts = () => server.requests.filter((r) => r.operation === 'PutObject' && r.key?.startsWith('again/')).length;
    const before = puts();
    expect(await ok(aws(['s3', 'sync', source, `s3://${CLI_BUCKET}/again`]))).toBe('');
    expect(puts()).toBe(before);
  });

  test('aws s3 cp copies a large object bucket to bucket with UploadPartCopy', async () => {
    await ok(aws(['s3', 'cp', `s3://${CLI_BUCKET}/tree/dir/deeper/c.bin`, `s3://${CLI_BUCKET}/copied/c.bin`]));
    const original = fs.readFileSync(server.object(CLI_BUCKET, 'tree/dir/deeper/c.bin')!.file);
    expect(fs.readFileSync(server.object(CLI_BUCKET, 'copied/c.bin')!.file).equals(original)).toBe(true);
    expect(server.requests.some((r) => r.operation === 'UploadPartCopy' && r.key === 'copied/c.bin')).toBe(true);
  });

  test('aws s3api list-objects (v1) and list-objects-v2 list the same keys', async () => {
    const v1 = JSON.parse(await ok(aws(['s3api', 'list-objects', '--bucket', CLI_BUCKET, '--prefix', 'tree/', '--page-size', '2']))) as { Contents: Array<{ Key: string }> };
    const v2 = JSON.parse(await ok(aws(['s3api', 'list-objects-v2', '--bucket', CLI_BUCKET, '--prefix', 'tree/', '--page-size', '2']))) as { Contents: Array<{ Key: string }> };
    expect(v1.Contents.map((c) => c.Key)).toEqual(['tree/a.txt', 'tree/dir/b.txt', 'tree/dir/deeper/c.bin', 'tree/odd.txt']);
    expect(v2.Contents.map((c) => c.Key)).toEqual(v1.Contents.map((c) => c.Key));
  });

  test('aws s3 presign makes a URL that a plain HTTP GET can use', async () => {
    const url = (await ok(aws(['s3', 'presign', `s3://${CLI_BUCKET}/tree/a.txt`, '--expires-in', '60']))).trim();
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('alpha');
  });

  test('aws s3 rm --recursive deletes a prefix', async () => {
    await ok(aws(['s3', 'rm', '--recursive', `s3://${CLI_BUCKET}/again`]));
    expect(server.keys(CLI_BUCKET).filter((k) => k.startsWith('again/'))).toEqual([]);
  });

  test('a SigV2 presigned URL (the CLI v1 default) is refused saying to sign with SigV4', async () => {
    const res = await fetch(`${server.endpoint}/${CLI_BUCKET}/tree/a.txt?AWSAccessKeyId=${FAKE_SESSION_CREDENTIALS.accessKeyId}&Signature=abc&Expires=9999999999`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Signature Version 2 presigned URL; only SigV4 is served/);
  });

  test('a wrong secret makes the CLI fail with SignatureDoesNotMatch', async () => {
    const wrong = await awsCli(server.endpoint, { ...FAKE_SESSION_CREDENTIALS, secretAccessKey: 'wrong' })(['s3', 'ls', `s3://${CLI_BUCKET}`]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/SignatureDoesNotMatch/);
  });
});
