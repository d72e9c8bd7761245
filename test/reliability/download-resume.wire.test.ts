/**
 * Downloads whose body breaks off, through the S3 fault proxy in front of each S3 backend: the body is resumed with a
 * Range request from the byte where it stopped, If-Match the ETag of the first response; an object changed meanwhile,
 * or a body that keeps breaking, ends in a clear ArtifactTransferError naming the artifact, the bytes received and the
 * cause. Errors before the body starts stay the SDK's to retry (checked on GET, ranged GET and PUT).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BUCKET, transferHarness } from './download-harness';
import { Tally } from './tally';
import { ArtifactTransferError } from '../../src/runtime/errors';
import { JobFailedError } from '../../src/shared/errors';
import { FAKE_CREDENTIALS, REGION, s3Backends } from '../support/servers';
import { craftZip } from '../support/zip-forge';

const tally = new Tally('download-resume');
afterAll(() => tally.flush());

const data = randomBytes(400_000);
const appJson = '{"name":"demo","version":"1.2.3"}';
const sourceZip = craftZip([
  { name: 'app.json', data: Buffer.from(appJson) },
  { name: 'data.bin', data, store: true },
]);
const otherZip = craftZip([{ name: 'app.json', data: Buffer.from('{"name":"another"}') }]);

/**
 * Resuming relies on S3's semantics (Range, If-Match, ETags): checked against moto, the reference implementation, as
 * well. The SDK's retries are checked once.
 */
const backends = s3Backends.map(([name, start]) => [name, start, name === 'embedded'] as const);

describe.each(backends)('downloads through the fault proxy in front of %s S3', (_name, startS3, everything) => {
  const h = transferHarness(startS3, tally);

  describe('a download body that breaks off', () => {
    test('is resumed from the byte where it stopped, If-Match the first ETag, and the files are whole', async () => {
      const key = await h.put(sourceZip);
      const dir = await h.withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 100_000 }], () => h.input(key).extractTo());
      expect((await fs.promises.readFile(path.join(dir, 'data.bin'))).equals(data)).toBe(true);
      expect(await fs.promises.readFile(path.join(dir, 'app.json'), 'utf8')).toBe(appJson);
      const [first, resume, ...more] = h.requestsFor(key);
      expect(first).toMatchObject({ fault: 'reset' });
      expect(first.range).toBeUndefined();
      const from = Number(/^bytes=(\d+)-$/.exec(resume.range ?? '')?.[1]);
      expect(from).toBeGreaterThan(0);
      expect(from).toBeLessThanOrEqual(100_000);
      expect(resume.ifMatch).toBe(await h.etagOf(key));
      expect(more).toEqual([]);
    });

    test('three breaks in a row are resumed too', async () => {
      const key = await h.put(sourceZip);
      const file = await h.withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 50_000, times: 3 }], () => h.input(key).downloadZip());
      expect((await fs.promises.readFile(file)).equals(sourceZip)).toBe(true);
      expect(h.requestsFor(key)).toHaveLength(4);
    });

    test('a body breaking on every attempt fails after 5 attempts, naming the artifact, the bytes received and the cause', async () => {
      const key = await h.put(sourceZip);
      const error = await h.withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 20_000, times: 5 }], () => h.input(key).extractTo()).catch((e) => e);
      expect(error).toBeInstanceOf(ArtifactTransferError);
      expect(error).toBeInstanceOf(JobFailedError);
      expect(error.failureType).toBe('JobFailed');
      expect(error.message).toMatch(
        new RegExp(
          `^Could not download input artifact 'Source' \\(s3://${BUCKET}/${key}\\): gave up after 5 attempts; ` +
            `\\d+ of ${sourceZip.length} bytes received; last error: .*(aborted|ECONNRESET|closed)`,
        ),
      );
      expect(error).toMatchObject({ attempts: 5, bytesExpected: sourceZip.length });
      expect(error.bytesReceived).toBeGreaterThan(0);
      expect(error.bytesReceived).toBeLessThanOrEqual(5 * 20_000);
      expect(h.requestsFor(key)).toHaveLength(5);
    });

    test('is not resumed when less time is left than a resume needs, and the failure says so', async () => {
      const key = await h.put(sourceZip);
      const error = await h.withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 20_000 }], () =>
        h.input(key, { remainingTimeMs: () => 2_000 }).extractTo(),
      ).catch((e) => e);
      expect(error).toBeInstanceOf(ArtifactTransferError);
      expect(error.message).toMatch(/stopped after 1 attempt with 2000 ms left to the invocation; \d+ of \d+ bytes received/);
      expect(h.requestsFor(key)).toHaveLength(1);
    });

    test('meeting an object replaced since the first response fails as changed, never stitching the two', async () => {
      const key = await h.put(sourceZip);
      const replace = () => h.direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: otherZip }));
      const error = await h.withFaults(
        [
          { kind: 'reset', methods: ['GET'], afterBytes: 100_000 },
          { kind: 'delay', methods: ['GET'], ranged: true, until: replace },
        ],
        () => h.input(key).extractTo(),
      ).catch((e) => e);
      expect(error).toBeInstanceOf(ArtifactTransferError);
      expect(error.message).toMatch(
        new RegExp(`^Could not download input artifact 'Source' \\(s3://${BUCKET}/${key}\\): the artifact changed while it was being downloaded`),
      );
    });
  });

  describe('reading one file (Range reads)', () => {
    test('a ranged read that breaks off is resumed, and the file is whole', async () => {
      const key = await h.put(sourceZip);
      const content = await h.withFaults([{ kind: 'reset', methods: ['GET'], ranged: true, afterBytes: 1_000 }], () => h.input(key).readFile('data.bin'));
      expect(content.equals(data)).toBe(true);
      const etag = await h.etagOf(key);
      expect(h.requestsFor(key).every((r) => r.ifMatch === etag)).toBe(true);
    });

    test('a zip replaced after its size was read fails as changed, not as a corrupt zip', async () => {
      const key = await h.put(sourceZip);
      const replace = () => h.direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: otherZip }));
      const error = await h.withFaults([{ kind: 'delay', methods: ['GET'], ranged: true, until: replace }], () => h.input(key).readFile('app.json', 'utf8')).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(ArtifactTransferError);
      expect(error.message).toMatch(/input artifact 'Source' \(bytes \d+-\d+ of s3:\/\/.*\): the artifact changed while it was being downloaded/);
    });
  });

  if (!everything) return;

  describe('errors before the body: retried by the SDK', () => {
    let retrying: S3Client;
    beforeAll(() => {
      retrying = new S3Client({ endpoint: h.proxy.endpoint, region: REGION, credentials: FAKE_CREDENTIALS, maxAttempts: 3 });
    });
    afterAll(() => retrying.destroy());

    // SlowDown on GET and PUT, through whole jobs: runtime-faults.wire.test.ts (the SDK waits longer after throttling).
    test('a 500 on the download and a 503 on a ranged read are retried, and the artifact is read', async () => {
      const key = await h.put(sourceZip);
      const dir = await h.withFaults([{ kind: 'error', methods: ['GET'], ranged: false, status: 500 }], () => h.input(key, {}, retrying).extractTo());
      expect(await fs.promises.readFile(path.join(dir, 'app.json'), 'utf8')).toBe(appJson);
      const content = await h.withFaults([{ kind: 'error', methods: ['GET'], ranged: true, status: 503, code: 'ServiceUnavailable' }], () =>
        h.input(key, {}, retrying).readFile('app.json', 'utf8'),
      );
      expect(content).toBe(appJson);
    });

    test('two 500s on the upload are retried, and the output is whole', async () => {
      const key = h.newKey('pipeline/Out');
      await h.withFaults([{ kind: 'error', methods: ['PUT'], status: 500, times: 2 }], () => h.output(key, {}, retrying).uploadFiles({ 'a.txt': 'hello' }));
      const content = await h.input(key, {}, h.direct).readFile('a.txt', 'utf8');
      expect(content).toBe('hello');
    });
  });
});
