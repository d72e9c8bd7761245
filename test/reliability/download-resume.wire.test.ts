/**
 * Artifact transfers that break off, stall or meet a changed object, through the S3 fault proxy in front of each S3
 * backend: a download body cut midway is resumed with a Range request If-Match the first ETag; a changed object, or a
 * body that keeps breaking, ends in a clear ArtifactTransferError; the ArtifactContext's signal stops a stalled
 * transfer with its reason; its activity hook sees every operation start and end.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Tally } from './tally';
import { FaultProxy, type S3Fault } from '../../src/local/fault-proxy';
import { ArtifactContext, InputArtifact, OutputArtifact } from '../../src/runtime/artifacts';
import { createJsonLogger } from '../../src/runtime/logger';
import { ArtifactTransferError } from '../../src/runtime/s3';
import { DEFAULT_EXTRACTION_LIMITS } from '../../src/runtime/zip-safety';
import { JobFailedError } from '../../src/shared/errors';
import { craftZip } from '../runtime/zip-craft';
import { FAKE_CREDENTIALS, REGION, S3Backend, s3Backends, s3Client } from '../support/servers';

const BUCKET = 'artifacts';
const tally = new Tally('download-resume');
afterAll(() => tally.flush());

const data = randomBytes(400_000);
const appJson = '{"name":"demo","version":"1.2.3"}';
const sourceZip = craftZip([
  { name: 'app.json', data: Buffer.from(appJson) },
  { name: 'data.bin', data, store: true },
]);
const otherZip = craftZip([{ name: 'app.json', data: Buffer.from('{"name":"another"}') }]);

let work: string;
beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'download-resume-'));
});
afterAll(async () => {
  await fs.promises.rm(work, { recursive: true, force: true });
});

/** Resolves once `condition` holds (checked every few milliseconds). */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Resuming relies on S3's semantics (Range, If-Match, ETags): checked against moto, the reference implementation, as
 * well. The signal, the activity hook and the SDK's retries are the runtime's own behaviour: checked once.
 */
const backends = s3Backends.map(([name, start]) => [name, start, name === 'embedded'] as const);

describe.each(backends)('artifact transfers through the fault proxy in front of %s S3', (_name, startS3, everything) => {
  let s3: S3Backend;
  let proxy: FaultProxy;
  let direct: S3Client;
  let once: S3Client;
  let keys = 0;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    proxy = await FaultProxy.start({ target: s3.endpoint });
    direct = s3Client(s3.endpoint);
    once = s3Client(proxy.endpoint); // no SDK retries: every attempt seen here is the runtime's
  });
  afterAll(async () => {
    direct.destroy();
    once.destroy();
    await proxy.close();
    await s3.close();
  });
  afterEach(() => {
    const pending = proxy.pendingFaults;
    proxy.clearFaults(); // first: a failed test must not leave its faults to the next ones
    expect(pending).toBe(0);
  });

  async function putZip(zip: Buffer = sourceZip): Promise<string> {
    const key = `pipeline/Source/${++keys}`;
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: zip }));
    return key;
  }

  function context(extra: Partial<ArtifactContext> = {}, client: S3Client = once): ArtifactContext {
    return {
      s3: () => client,
      tempDir: (label) => fs.promises.mkdtemp(path.join(work, `${label}-`)),
      limits: DEFAULT_EXTRACTION_LIMITS,
      logger: createJsonLogger({ write: () => undefined }),
      ...extra,
    };
  }

  function input(key: string, extra?: Partial<ArtifactContext>, client?: S3Client): InputArtifact {
    const location = { type: 'S3' as const, s3Location: { bucketName: BUCKET, objectKey: key } };
    return new InputArtifact({ name: 'Source', revision: null, location }, context(extra, client));
  }

  function output(key: string, extra?: Partial<ArtifactContext>, client?: S3Client): OutputArtifact {
    const location = { type: 'S3' as const, s3Location: { bucketName: BUCKET, objectKey: key } };
    return new OutputArtifact({ name: 'Out', revision: null, location }, context(extra, client));
  }

  /** The requests the proxy saw for `key`, from index `from` of its log. */
  const requestsFor = (key: string, method = 'GET') => proxy.requests.filter((r) => r.method === method && r.url.split('?')[0].endsWith(`/${key}`));

  async function etagOf(key: string): Promise<string> {
    return (await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!;
  }

  async function exists(key: string): Promise<boolean> {
    return direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
      () => true,
      () => false,
    );
  }

  /** Runs a case with faults, counting it. */
  async function withFaults<T>(faults: readonly S3Fault[], fn: () => Promise<T>): Promise<T> {
    tally.cases++;
    const before = proxy.faultsInjected;
    proxy.injectFaults(faults);
    try {
      const result = await fn();
      tally.successes++;
      return result;
    } catch (error) {
      if (error instanceof Error && error.message.length > 0) tally.failuresReportedCorrectly++;
      else tally.crashes++;
      throw error;
    } finally {
      tally.faultsInjected += proxy.faultsInjected - before;
    }
  }

  describe('a download body that breaks off', () => {
    test('is resumed from the byte where it stopped, If-Match the first ETag, and the files are whole', async () => {
      const key = await putZip();
      const dir = await withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 100_000 }], () => input(key).extractTo());
      expect((await fs.promises.readFile(path.join(dir, 'data.bin'))).equals(data)).toBe(true);
      expect(await fs.promises.readFile(path.join(dir, 'app.json'), 'utf8')).toBe(appJson);
      const [first, resume, ...more] = requestsFor(key);
      expect(first).toMatchObject({ fault: 'reset' });
      expect(first.range).toBeUndefined();
      const from = Number(/^bytes=(\d+)-$/.exec(resume.range ?? '')?.[1]);
      expect(from).toBeGreaterThan(0);
      expect(from).toBeLessThanOrEqual(100_000);
      expect(resume.ifMatch).toBe(await etagOf(key));
      expect(more).toEqual([]);
    });

    test('three breaks in a row are resumed too', async () => {
      const key = await putZip();
      const file = await withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 50_000, times: 3 }], () => input(key).downloadZip());
      expect((await fs.promises.readFile(file)).equals(sourceZip)).toBe(true);
      expect(requestsFor(key)).toHaveLength(4);
    });

    test('a body breaking on every attempt fails after 5 attempts, naming the artifact, the bytes received and the cause', async () => {
      const key = await putZip();
      const error = await withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 20_000, times: 5 }], () => input(key).extractTo()).catch((e) => e);
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
      expect(requestsFor(key)).toHaveLength(5);
    });

    test('is not resumed when less time is left than a resume needs, and the failure says so', async () => {
      const key = await putZip();
      const error = await withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 20_000 }], () =>
        input(key, { remainingTimeMs: () => 2_000 }).extractTo(),
      ).catch((e) => e);
      expect(error).toBeInstanceOf(ArtifactTransferError);
      expect(error.message).toMatch(/stopped after 1 attempt with 2000 ms left to the invocation; \d+ of \d+ bytes received/);
      expect(requestsFor(key)).toHaveLength(1);
    });

    test('meeting an object replaced since the first response fails as changed, never stitching the two', async () => {
      const key = await putZip();
      const replace = () => direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: otherZip }));
      const error = await withFaults(
        [
          { kind: 'reset', methods: ['GET'], afterBytes: 100_000 },
          { kind: 'delay', methods: ['GET'], ranged: true, until: replace },
        ],
        () => input(key).extractTo(),
      ).catch((e) => e);
      expect(error).toBeInstanceOf(ArtifactTransferError);
      expect(error.message).toMatch(
        new RegExp(`^Could not download input artifact 'Source' \\(s3://${BUCKET}/${key}\\): the artifact changed while it was being downloaded`),
      );
    });
  });

  describe('reading one file (Range reads)', () => {
    test('a ranged read that breaks off is resumed, and the file is whole', async () => {
      const key = await putZip();
      const content = await withFaults([{ kind: 'reset', methods: ['GET'], ranged: true, afterBytes: 1_000 }], () => input(key).readFile('data.bin'));
      expect(content.equals(data)).toBe(true);
      const etag = await etagOf(key);
      expect(requestsFor(key).every((r) => r.ifMatch === etag)).toBe(true);
    });

    test('a zip replaced after its size was read fails as changed, not as a corrupt zip', async () => {
      const key = await putZip();
      const replace = () => direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: otherZip }));
      const error = await withFaults([{ kind: 'delay', methods: ['GET'], ranged: true, until: replace }], () => input(key).readFile('app.json', 'utf8')).catch(
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
      retrying = new S3Client({ endpoint: proxy.endpoint, region: REGION, credentials: FAKE_CREDENTIALS, maxAttempts: 3 });
    });
    afterAll(() => retrying.destroy());

    // SlowDown on GET and PUT, through whole jobs: runtime-faults.wire.test.ts (the SDK waits longer after throttling).
    test('a 500 on the download and a 503 on a ranged read are retried, and the artifact is read', async () => {
      const key = await putZip();
      const dir = await withFaults([{ kind: 'error', methods: ['GET'], ranged: false, status: 500 }], () => input(key, {}, retrying).extractTo());
      expect(await fs.promises.readFile(path.join(dir, 'app.json'), 'utf8')).toBe(appJson);
      const content = await withFaults([{ kind: 'error', methods: ['GET'], ranged: true, status: 503, code: 'ServiceUnavailable' }], () =>
        input(key, {}, retrying).readFile('app.json', 'utf8'),
      );
      expect(content).toBe(appJson);
    });

    test('two 500s on the upload are retried, and the output is whole', async () => {
      const key = `pipeline/Out/${++keys}`;
      await withFaults([{ kind: 'error', methods: ['PUT'], status: 500, times: 2 }], () => output(key, {}, retrying).uploadFiles({ 'a.txt': 'hello' }));
      const content = await input(key, {}, direct).readFile('a.txt', 'utf8');
      expect(content).toBe('hello');
    });
  });

  describe('the signal', () => {
    test('stops a stalled download with its reason', async () => {
      const key = await putZip();
      const controller = new AbortController();
      const reason = new Error('the function is about to time out');
      const pending = withFaults([{ kind: 'stall', methods: ['GET'], afterBytes: 50_000 }], () => input(key, { signal: controller.signal }).extractTo()).catch(
        (e) => e,
      );
      await waitFor(() => requestsFor(key).length > 0);
      controller.abort(reason);
      expect(await pending).toBe(reason);
      expect(requestsFor(key)).toHaveLength(1); // no retry after the abort
    });

    test('a reason that is not an Error becomes "aborted: <reason>"', async () => {
      const key = await putZip();
      const controller = new AbortController();
      const pending = withFaults([{ kind: 'stall', methods: ['GET'] }], () => input(key, { signal: controller.signal }).downloadZip()).catch((e) => e);
      await waitFor(() => requestsFor(key).length > 0);
      controller.abort('deadline');
      const error = await pending;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe('aborted: deadline');
    });

    test('stops a stalled ranged read of readFile with its reason, not calling the zip corrupt', async () => {
      const key = await putZip();
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = withFaults([{ kind: 'stall', methods: ['GET'], ranged: true }], () => input(key, { signal: controller.signal }).readFile('app.json')).catch(
        (e) => e,
      );
      await waitFor(() => requestsFor(key).length > 0);
      controller.abort(reason);
      expect(await pending).toBe(reason);
    });

    test('already fired: nothing is requested', async () => {
      const key = await putZip();
      const reason = new Error('too late');
      tally.cases++;
      await expect(input(key, { signal: AbortSignal.abort(reason) }).extractTo()).rejects.toBe(reason);
      await expect(input(key, { signal: AbortSignal.abort(reason) }).readFile('app.json')).rejects.toBe(reason);
      tally.failuresReportedCorrectly++;
      expect(requestsFor(key, 'GET')).toHaveLength(0);
      expect(requestsFor(key, 'HEAD')).toHaveLength(0);
    });

    test('stops an upload whose request stalls, and no output object appears', async () => {
      const key = `pipeline/Out/${++keys}`;
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = withFaults([{ kind: 'stall', methods: ['PUT'] }], () =>
        output(key, { signal: controller.signal }).uploadFiles({ 'a.txt': 'hello' }),
      ).catch((e) => e);
      await waitFor(() => requestsFor(key, 'PUT').length > 0);
      controller.abort(reason);
      expect(await pending).toBe(reason);
      expect(await exists(key)).toBe(false);
    });

    test('stops a multipart upload whose part stalls; the multipart upload is aborted and no output object appears', async () => {
      const key = `pipeline/Out/${++keys}`;
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = withFaults([{ kind: 'stall', methods: ['PUT'], path: /partNumber=2/ }], () =>
        output(key, { signal: controller.signal }).uploadFiles({ 'big.bin': randomBytes(12 * 1024 * 1024) }),
      ).catch((e) => e);
      await waitFor(() => requestsFor(key, 'PUT').some((r) => r.fault === 'stall'));
      controller.abort(reason);
      expect(await pending).toBe(reason);
      // lib-storage cleans up after an abort: AbortMultipartUpload is the one request sent without the signal.
      await waitFor(() => requestsFor(key, 'DELETE').length > 0);
      expect(await exists(key)).toBe(false);
    });
  });

  describe('the activity hook', () => {
    function recorder() {
      const log: string[] = [];
      const activity = (description: string) => {
        log.push(`start ${description}`);
        return () => void log.push(`end ${description}`);
      };
      return { log, activity };
    }

    test('sees each operation start and end, described with the artifact', async () => {
      const key = await putZip();
      const outKey = `pipeline/Out/${++keys}`;
      const { log, activity } = recorder();
      tally.cases++;
      const dir = await input(key, { activity }).extractTo();
      await input(key, { activity }).readFile('app.json');
      await output(outKey, { activity }).uploadFiles({ 'a.txt': 'hello' });
      tally.successes++;
      const download = `downloading input artifact 'Source' (s3://${BUCKET}/${key})`;
      const extract = `extracting input artifact 'Source' into ${dir}`;
      const read = "reading 'app.json' from input artifact 'Source'";
      const upload = `uploading output artifact 'Out' (s3://${BUCKET}/${outKey})`;
      expect(log).toEqual([
        `start ${download}`,
        `end ${download}`,
        `start ${extract}`,
        `end ${extract}`,
        `start ${read}`,
        `end ${read}`,
        `start ${upload}`,
        `end ${upload}`,
      ]);
    });

    test('sees a failing operation end too', async () => {
      const key = await putZip();
      const { log, activity } = recorder();
      await withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 0 }], () =>
        input(key, { activity, remainingTimeMs: () => 0 }).downloadZip(),
      ).catch(() => undefined);
      const download = `downloading input artifact 'Source' (s3://${BUCKET}/${key})`;
      expect(log).toEqual([`start ${download}`, `end ${download}`]);
    });
  });
});
