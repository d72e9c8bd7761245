/** The job-API emulator against clients nobody here wrote: boto3 (see boto3_checks.py) and the aws CLI. */
import * as crypto from 'crypto';
import { awsCli, requireClients, runBoto3Checks, valueOf, type CheckResult, type Run } from './clients';
import { JobApiEmulator } from '../../src/local/job-api-emulator';
import { FAKE_CREDENTIALS } from '../support/servers';

const FAILURE_TYPES = ['JobFailed', 'ConfigurationError', 'PermissionError', 'RevisionOutOfSync', 'RevisionUnavailable', 'SystemUnavailable'];

let emulator: JobApiEmulator;
let results: Record<string, CheckResult>;
const jobs = {
  success: crypto.randomUUID(),
  continuation: crypto.randomUUID(),
  spare: crypto.randomUUID(),
  failures: Object.fromEntries(FAILURE_TYPES.map((t) => [t, crypto.randomUUID()])),
};

beforeAll(async () => {
  requireClients();
  emulator = await JobApiEmulator.start({ credentials: [FAKE_CREDENTIALS] });
  for (const id of [jobs.success, jobs.continuation, jobs.spare, ...Object.values(jobs.failures)]) emulator.registerJob(id);
  results = await runBoto3Checks('jobapi', {
    CHECK_ENDPOINT: emulator.endpoint,
    CHECK_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    CHECK_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    CHECK_JOBS: JSON.stringify(jobs),
  });
}, 120_000);
afterAll(() => emulator?.close());

describe('boto3', () => {
  test('put_job_success_result records the summary, percentComplete and output variables', () => {
    expect(valueOf(results, 'success')).toBe('ok');
    expect(emulator.job(jobs.success)).toMatchObject({
      status: 'Succeeded',
      results: [{ executionDetails: { summary: 'from boto3', percentComplete: 100 }, outputVariables: { version: '1.2.3' } }],
    });
  });

  test('put_job_failure_result is accepted with each failure type', () => {
    expect(valueOf(results, 'failure_types')).toBe('ok');
    for (const type of FAILURE_TYPES) {
      expect(emulator.job(jobs.failures[type])).toMatchObject({
        status: 'Failed',
        results: [{ failureDetails: { type, message: `failed: ${type}`, externalExecutionId: 'run-1' } }],
      });
    }
  });

  test('continuation tokens keep the job in progress until the final result', () => {
    expect(valueOf(results, 'continuation')).toBe('ok');
    const job = emulator.job(jobs.continuation)!;
    expect(job.status).toBe('Succeeded');
    expect(job.results.map((r) => r.continuationToken)).toEqual(['step-1', 'step-2', undefined]);
  });

  test('errors come back with the codes and statuses botocore knows', () => {
    expect(valueOf(results, 'errors')).toEqual({
      unknownJob: { code: 'JobNotFoundException', status: 400 },
      duplicate: { code: 'InvalidJobStateException', status: 400 },
      tooLongSummary: { code: 'ValidationException', status: 400 },
      variablesWithToken: { code: 'ValidationException', status: 400 },
      customAction: { code: 'ValidationException', status: 400 },
      wrongSecret: { code: 'InvalidSignatureException', status: 400 },
    });
    expect(emulator.job(jobs.spare)?.status).toBe('InProgress');
  });
});

describe('the aws CLI', () => {
  const aws = () => awsCli(emulator.endpoint, FAKE_CREDENTIALS);
  const fresh = () => {
    const id = crypto.randomUUID();
    emulator.registerJob(id);
    return id;
  };
  const expectOk = (result: Run) => {
    if (result.status !== 0) throw new Error(`aws exited ${result.status}: ${result.stderr}`);
  };

  test('put-job-success-result with output variables succeeds the job', async () => {
    const id = fresh();
    expectOk(await aws()(['codepipeline', 'put-job-success-result', '--job-id', id, '--output-variables', 'env=prod,build=42']));
    expect(emulator.job(id)).toMatchObject({ status: 'Succeeded', results: [{ outputVariables: { env: 'prod', build: '42' } }] });
  });

  test('put-job-failure-result fails the job with the given type', async () => {
    const id = fresh();
    expectOk(await aws()(['codepipeline', 'put-job-failure-result', '--job-id', id, '--failure-details', 'type=ConfigurationError,message=bad input']));
    expect(emulator.job(id)).toMatchObject({ status: 'Failed', results: [{ failureDetails: { type: 'ConfigurationError', message: 'bad input' } }] });
  });

  test('a continuation token, then the final result', async () => {
    const id = fresh();
    expectOk(await aws()(['codepipeline', 'put-job-success-result', '--job-id', id, '--continuation-token', 'half-way']));
    expect(emulator.job(id)).toMatchObject({ status: 'InProgress', continuationToken: 'half-way' });
    expectOk(await aws()(['codepipeline', 'put-job-success-result', '--job-id', id]));
    expect(emulator.job(id)?.status).toBe('Succeeded');
  });

  test('a second result for an ended job fails with InvalidJobStateException', async () => {
    const id = fresh();
    expectOk(await aws()(['codepipeline', 'put-job-success-result', '--job-id', id]));
    const again = await aws()(['codepipeline', 'put-job-success-result', '--job-id', id]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/InvalidJobStateException/);
  });

  test('an unknown job fails with JobNotFoundException', async () => {
    const result = await aws()(['codepipeline', 'put-job-success-result', '--job-id', crypto.randomUUID()]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/JobNotFoundException/);
  });
});
