/**
 * The fault switches of the local servers, seen through the real AWS SDK v3 clients: the job-API emulator's
 * injected CodePipeline errors, and the S3 fault proxy in front of each S3 backend (embedded, moto).
 */
import { randomBytes, randomUUID } from 'crypto';
import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Tally } from './tally';
import { FaultProxy } from '../../src/local/fault-proxy';
import type { JobApiEmulator } from '../../src/local/job-api-emulator';
import { codePipelineClient, FAKE_CREDENTIALS, REGION, S3Backend, s3Backends, s3Client, startJobApi } from '../support/servers';

const tally = new Tally('fault-injection');
afterAll(() => tally.flush());

/** Counts a case whose fault the client saw as expected. */
async function observed<T>(faults: number, fn: () => Promise<T>): Promise<T> {
  tally.cases++;
  tally.faultsInjected += faults;
  return fn();
}

function retryingS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: REGION, credentials: FAKE_CREDENTIALS, maxAttempts: 3 });
}

describe('job-API emulator faults', () => {
  let jobApi: JobApiEmulator;
  beforeAll(async () => {
    jobApi = await startJobApi();
  });
  afterAll(async () => {
    await jobApi.close();
  });

  function newJob(): string {
    const id = randomUUID();
    jobApi.registerJob(id);
    return id;
  }

  test('a ThrottlingException reaches the SDK as a throttling error with status 400', async () => {
    const jobId = newJob();
    jobApi.injectFaults([{ target: 'PutJobSuccessResult', type: 'ThrottlingException' }]);
    const error = await observed(1, () => codePipelineClient(jobApi.endpoint).send(new PutJobSuccessResultCommand({ jobId })).catch((e) => e));
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(jobApi.job(jobId)!.status).toBe('InProgress');
  });

  test("the SDK's standard retries get through two throttling errors and a 500", async () => {
    const jobId = newJob();
    jobApi.injectFaults([
      { target: 'PutJobSuccessResult', type: 'ThrottlingException', times: 1, jobId },
      { target: 'PutJobSuccessResult', status: 500, jobId },
    ]);
    const client = new CodePipelineClient({ endpoint: jobApi.endpoint, region: REGION, credentials: FAKE_CREDENTIALS, maxAttempts: 3 });
    await observed(2, () => client.send(new PutJobSuccessResultCommand({ jobId })));
    expect(jobApi.job(jobId)!.status).toBe('Succeeded');
    expect(jobApi.requests.filter((r) => (r.body as { jobId?: string } | undefined)?.jobId === jobId).map((r) => r.status)).toEqual([400, 500, 200]);
  });

  test('a fault for another job or operation leaves this report alone', async () => {
    const jobId = newJob();
    jobApi.injectFaults([{ target: 'PutJobFailureResult' }, { jobId: 'someone-else' }]);
    tally.cases++;
    await codePipelineClient(jobApi.endpoint).send(new PutJobSuccessResultCommand({ jobId }));
    expect(jobApi.job(jobId)!.status).toBe('Succeeded');
    jobApi.clearFaults();
  });

  test('a reset reaches the SDK as a network error, and the job is unchanged', async () => {
    const jobId = newJob();
    jobApi.injectFaults([{ reset: true }]);
    const error = await observed(1, () => codePipelineClient(jobApi.endpoint).send(new PutJobSuccessResultCommand({ jobId })).catch((e) => e));
    expect(String(error.message)).toMatch(/ECONNRESET|socket hang up/i);
    expect(jobApi.job(jobId)!.status).toBe('InProgress');
  });

  test('a lost response (fault after the report) makes the retry meet InvalidJobStateException', async () => {
    const jobId = newJob();
    jobApi.injectFaults([{ status: 500, when: 'after' }]);
    const client = codePipelineClient(jobApi.endpoint);
    const first = await observed(1, () => client.send(new PutJobSuccessResultCommand({ jobId })).catch((e) => e));
    expect(first).toMatchObject({ $metadata: { httpStatusCode: 500 } });
    const second = await client.send(new PutJobSuccessResultCommand({ jobId })).catch((e) => e);
    expect(second.name).toBe('InvalidJobStateException');
    expect(jobApi.job(jobId)!.results).toHaveLength(1);
  });
});

describe.each(s3Backends)('S3 fault proxy in front of %s', (_name, startS3) => {
  const BUCKET = 'fault-bucket';
  let s3: S3Backend;
  let proxy: FaultProxy;
  let direct: S3Client;
  let once: S3Client;
  let retrying: S3Client;
  const object = randomBytes(300_000);

  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    proxy = await FaultProxy.start({ target: s3.endpoint });
    direct = s3Client(s3.endpoint);
    once = s3Client(proxy.endpoint);
    retrying = retryingS3Client(proxy.endpoint);
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'object', Body: object }));
  });
  afterAll(async () => {
    for (const c of [direct, once, retrying]) c.destroy();
    await proxy.close();
    await s3.close();
  });
  afterEach(() => {
    expect(proxy.pendingFaults).toBe(0);
    proxy.clearFaults();
  });

  const get = (client: S3Client, range?: string) => client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'object', Range: range }));
  const bytesOf = async (client: S3Client, range?: string) => Buffer.from(await (await get(client, range)).Body!.transformToByteArray());

  test('without faults, objects pass through unchanged (signatures included)', async () => {
    tally.cases++;
    expect((await bytesOf(once)).equals(object)).toBe(true);
    expect((await bytesOf(once, 'bytes=10-19')).equals(object.subarray(10, 20))).toBe(true);
  });

  test.each([
    [503, 'SlowDown'],
    [503, 'ServiceUnavailable'],
    [500, 'InternalError'],
  ])('a %i %s on GET reaches the SDK as that error', async (status, code) => {
    proxy.injectFaults([{ kind: 'error', methods: ['GET'], status, code }]);
    const error = await observed(1, () => get(once).catch((e) => e));
    expect(error).toMatchObject({ name: code, $metadata: { httpStatusCode: status } });
  });

  test('the SDK retries a SlowDown and a 500 on GET, then gets the object', async () => {
    proxy.injectFaults([
      { kind: 'error', methods: ['GET'], status: 503, code: 'SlowDown' },
      { kind: 'error', methods: ['GET'], status: 500 },
    ]);
    expect((await observed(2, () => bytesOf(retrying))).equals(object)).toBe(true);
  });

  test('a 503 on PUT reaches the SDK; with retries the object is stored whole', async () => {
    proxy.injectFaults([{ kind: 'error', methods: ['PUT'], status: 503, code: 'SlowDown' }]);
    const error = await observed(1, () => once.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put-1', Body: object })).catch((e) => e));
    expect(error).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    proxy.injectFaults([{ kind: 'error', methods: ['PUT'], status: 500, times: 2 }]);
    await observed(2, () => retrying.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put-2', Body: object })));
    const head = await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'put-2' }));
    expect(head.ContentLength).toBe(object.length);
  });

  test('a connection reset in the middle of a GET body fails the body stream, not the call', async () => {
    proxy.injectFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 100_000 }]);
    const response = await observed(1, () => get(once));
    expect(response.ContentLength).toBe(object.length);
    await expect(response.Body!.transformToByteArray()).rejects.toThrow(/aborted|ECONNRESET|premature|socket/i);
  });

  test('a connection reset in the middle of a PUT body is retried by the SDK (a Buffer body can be sent again)', async () => {
    proxy.injectFaults([{ kind: 'reset-request', methods: ['PUT'], afterBytes: 50_000 }]);
    await observed(1, () => retrying.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put-reset', Body: object })));
    expect((await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'put-reset' }))).ContentLength).toBe(object.length);
  });

  test('a shortened object arrives shorter, with a Content-Length that agrees (only the content can tell)', async () => {
    proxy.injectFaults([{ kind: 'truncate', methods: ['GET'], afterBytes: 1234 }]);
    const body = await observed(1, () => bytesOf(once));
    expect(body.length).toBe(1234);
    expect(body.equals(object.subarray(0, 1234))).toBe(true);
  });

  test('faults can be limited to ranged reads', async () => {
    proxy.injectFaults([{ kind: 'error', ranged: true, status: 500 }]);
    tally.cases++;
    expect((await bytesOf(once)).length).toBe(object.length);
    const error = await observed(1, () => get(once, 'bytes=0-9').catch((e) => e));
    expect(error.$metadata.httpStatusCode).toBe(500);
  });
});
