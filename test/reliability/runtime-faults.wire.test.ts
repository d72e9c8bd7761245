/**
 * Whole jobs through jobHandler while the S3 fault proxy and the job-API emulator inject faults. The SDK clients are
 * configured as on Lambda (AWS_MAX_ATTEMPTS unset: the standard retry mode, 3 attempts). Every job must end reported:
 * a success with a whole output artifact, or a clear failure; never a success with a partial output.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Tally } from './tally';
import { FaultProxy } from '../../src/local/fault-proxy';
import type { JobApiEmulator, JobRecord } from '../../src/local/job-api-emulator';
import { jobHandler, PipelineJob } from '../../src/runtime';
import { FAILURE_TYPES } from '../../src/shared/limits';
import { jobEvent } from '../support/job-event';
import { captureLogs } from '../support/wire-helpers';
import { useWireServers } from '../support/wire-servers';
import { craftZip } from '../support/zip-forge';

const BUCKET = 'artifacts';
const tally = new Tally('runtime-faults');

const servers = useWireServers({ bucket: BUCKET, sdkRetries: true });
afterAll(() => tally.flush());
afterEach(() => {
  servers.proxy.clearFaults();
  servers.jobApi.clearFaults();
});

let keys = 0;
async function putInput(zip: Buffer): Promise<string> {
  const key = `pipeline/Source/${++keys}`;
  await servers.direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: zip }));
  return key;
}

async function objectExists(key: string): Promise<boolean> {
  return servers.direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    () => false,
  );
}

const sourceZip = craftZip([
  { name: 'app.json', data: Buffer.from('{"name":"demo","version":"1.2.3"}') },
  { name: 'data.bin', data: Buffer.alloc(400_000, 7), store: true },
]);

/** Reads the input, writes an output of the same files: a whole job that touches S3 in both directions. */
const copyJob = jobHandler({}, async (job: PipelineJob) => {
  const dir = await job.inputArtifact('Source').extractTo();
  await job.outputArtifact('Out').uploadDirectory(dir);
  return { summary: 'copied' };
});

/** Runs one job with faults injected; checks it ended reported, and counts it. */
async function runJob(faults: { s3?: Parameters<FaultProxy['injectFaults']>[0]; jobApi?: Parameters<JobApiEmulator['injectFaults']>[0] }) {
  const inputKey = await putInput(sourceZip);
  const outputKey = `pipeline/Out/${++keys}`;
  const event = jobEvent({ bucket: BUCKET, inputs: { Source: inputKey }, outputs: { Out: outputKey } });
  const jobId: string = event['CodePipeline.job'].id;
  servers.jobApi.registerJob(jobId);
  const s3Before = servers.proxy.faultsInjected;
  const apiBefore = servers.jobApi.faultsInjected;
  servers.proxy.injectFaults(faults.s3 ?? []);
  servers.jobApi.injectFaults((faults.jobApi ?? []).map((f) => ({ jobId, ...f })));
  tally.cases++;
  let escaped: unknown;
  await captureLogs(() => copyJob(event, { awsRequestId: 'faults', getRemainingTimeInMillis: () => 60_000 }).catch((e: unknown) => (escaped = e)));
  tally.faultsInjected += servers.proxy.faultsInjected - s3Before + (servers.jobApi.faultsInjected - apiBefore);
  const job = servers.jobApi.job(jobId) as JobRecord;
  const result = job.results[0];
  if (escaped !== undefined || job.results.length !== 1) tally.crashes++;
  const failure = result?.failureDetails;
  if (failure !== undefined && FAILURE_TYPES.includes(failure.type as never) && failure.message.length > 0) tally.failuresReportedCorrectly++;
  if (result !== undefined && failure === undefined) tally.successes++;
  return { job, escaped, failure, outputKey };
}

async function expectWholeOutput(key: string): Promise<void> {
  const response = await servers.direct.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const bytes = Buffer.from(await response.Body!.transformToByteArray());
  expect(bytes.subarray(-22).readUInt32LE(0)).toBe(0x06054b50); // the zip ends with its end record: it is whole
}

describe('S3 faults the SDK retries', () => {
  test.each([
    ['a SlowDown and a 500 on the input download', [{ kind: 'error' as const, methods: ['GET'], status: 503, code: 'SlowDown' }, { kind: 'error' as const, methods: ['GET'], status: 500 }]],
    ['two 500s on the output upload', [{ kind: 'error' as const, methods: ['PUT'], status: 500, times: 2 }]],
    ['a connection reset in the middle of the upload body', [{ kind: 'reset-request' as const, methods: ['PUT'], afterBytes: 100_000 }]],
  ])('%s: the job succeeds with a whole output', async (_what, faults) => {
    const { job, escaped, outputKey } = await runJob({ s3: faults });
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Succeeded');
    await expectWholeOutput(outputKey);
  });
});

describe('S3 faults that outlast the retries', () => {
  test('a download failing every time fails the job with the S3 error, and no output is written', async () => {
    const { job, escaped, failure, outputKey } = await runJob({ s3: [{ kind: 'error', methods: ['GET'], status: 500, times: 10 }] });
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Failed');
    expect(failure!.message).toMatch(/InternalError|internal error/);
    expect(await objectExists(outputKey)).toBe(false);
  });

  test('an upload failing every time fails the job, and no partial output object is left', async () => {
    const { job, failure, outputKey } = await runJob({ s3: [{ kind: 'error', methods: ['PUT', 'POST'], status: 500, times: 20 }] });
    expect(job.status).toBe('Failed');
    expect(failure!.message).toMatch(/InternalError|internal error/);
    expect(await objectExists(outputKey)).toBe(false);
  });

  test('a shortened input object fails the job as an invalid zip', async () => {
    const { job, failure } = await runJob({ s3: [{ kind: 'truncate', methods: ['GET'], afterBytes: 1000, times: 10 }] });
    expect(job.status).toBe('Failed');
    expect(failure).toMatchObject({ type: 'JobFailed', message: expect.stringMatching(/Source is not a valid zip/) });
  });
});

describe('job-API faults', () => {
  test('two ThrottlingExceptions on PutJobSuccessResult are retried by the SDK, and the job succeeds', async () => {
    const { job, escaped } = await runJob({ jobApi: [{ target: 'PutJobSuccessResult', type: 'ThrottlingException', times: 2 }] });
    expect(escaped).toBeUndefined();
    expect(job.status).toBe('Succeeded');
  });

  test('a 500 then a lost response: the retry meets InvalidJobStateException, which is logged, and one result is recorded', async () => {
    const { job, escaped } = await runJob({ jobApi: [{ status: 500 }, { status: 500, when: 'after' }] });
    expect(escaped).toBeUndefined();
    expect(job.results).toHaveLength(1);
    expect(job.status).toBe('Succeeded');
  });
});
