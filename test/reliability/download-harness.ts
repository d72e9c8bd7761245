/**
 * What the download-* suites share: an S3 backend behind the fault proxy, artifacts built on an ArtifactContext of the
 * test's choosing, the proxy's log per object, and the reliability tally. Call `transferHarness()` inside a describe:
 * it registers the hooks that start and stop the servers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Tally } from './tally';
import { FaultProxy, type ProxiedRequest, type S3Fault } from '../../src/local/fault-proxy';
import { ArtifactContext, InputArtifact, OutputArtifact } from '../../src/runtime/artifacts';
import { createJsonLogger } from '../../src/runtime/logger';
import { DEFAULT_EXTRACTION_LIMITS } from '../../src/runtime/zip/safety';
import { S3Backend, s3Client } from '../support/servers';

export const BUCKET = 'artifacts';

/** Resolves once `condition` holds (checked every few milliseconds). */
export async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

export interface TransferHarness {
  /** The backend itself, past the proxy. */
  readonly direct: S3Client;
  /** Through the proxy, without SDK retries: every attempt the proxy sees is the runtime's. */
  readonly once: S3Client;
  readonly proxy: FaultProxy;
  /** Stores `body` under a new key, returns the key. */
  put(body: Buffer, prefix?: string): Promise<string>;
  /** A new key for an output. */
  newKey(prefix?: string): string;
  input(key: string, context?: Partial<ArtifactContext>, client?: S3Client): InputArtifact;
  output(key: string, context?: Partial<ArtifactContext>, client?: S3Client): OutputArtifact;
  /** The requests the proxy saw for `key` with `method`. */
  requestsFor(key: string, method?: string): ProxiedRequest[];
  etagOf(key: string): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** Runs one case with `faults` injected, counting it in the tally. */
  withFaults<T>(faults: readonly S3Fault[], fn: () => Promise<T>): Promise<T>;
}

export function transferHarness(startS3: () => Promise<S3Backend>, tally: Tally): TransferHarness {
  let s3: S3Backend;
  let proxy: FaultProxy;
  let direct: S3Client;
  let once: S3Client;
  let work: string;
  let keys = 0;

  beforeAll(async () => {
    work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'download-'));
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    proxy = await FaultProxy.start({ target: s3.endpoint });
    direct = s3Client(s3.endpoint);
    once = s3Client(proxy.endpoint);
  });
  afterAll(async () => {
    direct.destroy();
    once.destroy();
    await proxy.close();
    await s3.close();
    await fs.promises.rm(work, { recursive: true, force: true });
  });
  afterEach(() => {
    const pending = proxy.pendingFaults;
    proxy.clearFaults(); // first: a failed test must not leave its faults to the next ones
    expect(pending).toBe(0);
  });

  const context = (extra: Partial<ArtifactContext> = {}, client: S3Client = once): ArtifactContext => ({
    s3: () => client,
    tempDir: (label) => fs.promises.mkdtemp(path.join(work, `${label}-`)),
    limits: DEFAULT_EXTRACTION_LIMITS,
    logger: createJsonLogger({ write: () => undefined }),
    ...extra,
  });
  const location = (key: string) => ({ type: 'S3' as const, s3Location: { bucketName: BUCKET, objectKey: key } });
  const newKey = (prefix = 'pipeline/Source') => `${prefix}/${++keys}`;

  return {
    get direct() {
      return direct;
    },
    get once() {
      return once;
    },
    get proxy() {
      return proxy;
    },
    newKey,
    put: async (body, prefix) => {
      const key = newKey(prefix);
      await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      return key;
    },
    input: (key, extra, client) => new InputArtifact({ name: 'Source', revision: null, location: location(key) }, context(extra, client)),
    output: (key, extra, client) => new OutputArtifact({ name: 'Out', revision: null, location: location(key) }, context(extra, client)),
    requestsFor: (key, method = 'GET') => proxy.requests.filter((r) => r.method === method && r.url.split('?')[0].endsWith(`/${key}`)),
    etagOf: async (key) => (await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!,
    exists: (key) =>
      direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
        () => true,
        () => false,
      ),
    withFaults: async (faults, fn) => {
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
    },
  };
}
