/**
 * The runtime and the crash reporter of a function in another account than its pipeline: they assume the job-result
 * role named in their environment through STS (the local one, reached through AWS_ENDPOINT_URL_STS as the SDK
 * honours it) and report with its credentials; the job-API emulator accepts nothing else for the pipeline's jobs.
 */
import { randomUUID } from 'crypto';
import { JobApiEmulator } from '../../src/local/job-api-emulator';
import { LocalStsServer } from '../../src/local/sts-server';
import { jobHandler } from '../../src/runtime';
import { handler as crashReporter } from '../../src/runtime/crash-reporter';
import { defaultCodePipelineClient, putJobSuccess } from '../../src/runtime/report';
import { CRASH_REPORTER_TARGETS_ENV, JOB_REGION_ENV, JOB_RESULT_ROLE_ARN_ENV } from '../../src/shared/job-result-target';
import { jobEvent } from '../support/job-event';
import { FAKE_CREDENTIALS } from '../support/servers';
import { captureLogs, lambdaEnvironment } from '../support/wire-helpers';

const PIPELINE_ACCOUNT = '111111111111';
const FUNCTION_ACCOUNT = '222222222222';
const FUNCTION_ROLE = `arn:aws:iam::${FUNCTION_ACCOUNT}:role/fn-role`;
const REPORTER_ROLE = `arn:aws:iam::${FUNCTION_ACCOUNT}:role/crash-reporter-role`;
const RESULT_ROLE = `arn:aws:iam::${PIPELINE_ACCOUNT}:role/job-result`;
const UNTRUSTED_RESULT_ROLE = `arn:aws:iam::${PIPELINE_ACCOUNT}:role/not-for-you`;
const CACHED_RESULT_ROLE = `arn:aws:iam::${PIPELINE_ACCOUNT}:role/job-result-cached`;

let emulator: JobApiEmulator;
let sts: LocalStsServer;
let restore: () => void;
const saved: Record<string, string | undefined> = {};
const MANAGED = ['AWS_ENDPOINT_URL_STS', JOB_RESULT_ROLE_ARN_ENV, JOB_REGION_ENV, CRASH_REPORTER_TARGETS_ENV, 'AWS_LAMBDA_FUNCTION_NAME'];

beforeAll(async () => {
  emulator = await JobApiEmulator.start({ credentials: [] });
  sts = await LocalStsServer.start({
    // One set of credentials plays the function's role: the reporter's trust is checked in the crash-reporter test.
    callers: [{ credentials: FAKE_CREDENTIALS, principalArn: FUNCTION_ROLE }],
    roles: [
      { roleArn: RESULT_ROLE, trustedPrincipalArns: [FUNCTION_ROLE, REPORTER_ROLE] },
      { roleArn: UNTRUSTED_RESULT_ROLE, trustedPrincipalArns: [REPORTER_ROLE] },
      { roleArn: CACHED_RESULT_ROLE, trustedPrincipalArns: [FUNCTION_ROLE] },
    ],
    onIssue: (issued) => emulator.addCredentials(issued.credentials, { accountId: PIPELINE_ACCOUNT, arn: issued.assumedRoleArn }),
  });
  emulator.addCredentials(FAKE_CREDENTIALS, { accountId: FUNCTION_ACCOUNT, arn: FUNCTION_ROLE });
  restore = lambdaEnvironment({ codePipeline: emulator.endpoint });
  for (const key of MANAGED) saved[key] = process.env[key];
  process.env.AWS_ENDPOINT_URL_STS = sts.endpoint;
  process.env.AWS_LAMBDA_FUNCTION_NAME = 'fn';
});

afterEach(() => {
  delete process.env[JOB_RESULT_ROLE_ARN_ENV];
  delete process.env[JOB_REGION_ENV];
  delete process.env[CRASH_REPORTER_TARGETS_ENV];
  jest.useRealTimers();
});

afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  restore();
  await sts.close();
  await emulator.close();
});

/** A job of the pipeline's account, in the emulator's region. */
function pipelineJob(): any {
  const event = jobEvent();
  event['CodePipeline.job'].accountId = PIPELINE_ACCOUNT;
  emulator.registerJob(event['CodePipeline.job'].id, { accountId: PIPELINE_ACCOUNT, region: 'us-east-1' });
  return event;
}

const succeeding = jobHandler({}, async () => ({ summary: 'ok' }));

test('jobHandler assumes the role its environment names and the job succeeds', async () => {
  process.env[JOB_RESULT_ROLE_ARN_ENV] = RESULT_ROLE;
  const event = pipelineJob();
  await captureLogs(() => succeeding(event));
  expect(emulator.job(event['CodePipeline.job'].id)?.status).toBe('Succeeded');
  expect(sts.issued.at(-1)).toMatchObject({ roleArn: RESULT_ROLE, callerPrincipalArn: FUNCTION_ROLE, assumedRoleArn: `arn:aws:sts::${PIPELINE_ACCOUNT}:assumed-role/job-result/fn` });
});

test('without the role in its environment, jobHandler reports with its own credentials and is refused', async () => {
  const event = pipelineJob();
  await expect(captureLogs(() => succeeding(event))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  expect(emulator.job(event['CodePipeline.job'].id)?.status).toBe('InProgress');
});

test('a role it may not assume fails the invocation saying what was tried, for which job, and why', async () => {
  process.env[JOB_RESULT_ROLE_ARN_ENV] = UNTRUSTED_RESULT_ROLE;
  const event = pipelineJob();
  const jobId = event['CodePipeline.job'].id;
  await expect(captureLogs(() => succeeding(event))).rejects.toThrow(
    `PutJobSuccessResult: could not assume ${UNTRUSTED_RESULT_ROLE} to report job ${jobId}: AccessDenied: User: ${FUNCTION_ROLE} is not authorized to perform: sts:AssumeRole on resource: ${UNTRUSTED_RESULT_ROLE}`,
  );
  // Nothing reached CodePipeline: a failure report would have been refused the same way.
  expect(emulator.requests.filter((r) => (r.body as { jobId?: string } | undefined)?.jobId === jobId)).toHaveLength(0);
});

test('the credentials are cached: three reports, one AssumeRole', async () => {
  const target = { roleArn: CACHED_RESULT_ROLE, region: 'us-east-1' };
  const { logs } = await captureLogs(async () => {
    for (let i = 0; i < 3; i++) {
      const event = pipelineJob();
      await putJobSuccess(defaultCodePipelineClient(target), { jobId: event['CodePipeline.job'].id }, console as never);
    }
    return undefined;
  });
  expect(logs).toEqual([]);
  expect(sts.issued.filter((i) => i.roleArn === CACHED_RESULT_ROLE)).toHaveLength(1);
});

test('credentials are renewed shortly before they expire', async () => {
  const target = { roleArn: RESULT_ROLE, region: 'us-east-1' };
  await putJobSuccess(defaultCodePipelineClient(target), { jobId: pipelineJob()['CodePipeline.job'].id }, console as never);
  const before = sts.issued.length;
  // 56 minutes later: the hour-long credentials have less than the 5-minute refresh window left.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
  jest.setSystemTime(Date.now() + 56 * 60 * 1000);
  emulator.registerJob(randomUUID());
  const event = pipelineJob();
  await putJobSuccess(defaultCodePipelineClient(target), { jobId: event['CodePipeline.job'].id }, console as never);
  expect(sts.issued.length - before).toBe(1);
  expect(emulator.job(event['CodePipeline.job'].id)?.status).toBe('Succeeded');
});

describe('the crash reporter', () => {
  function failureRecord(event: unknown, functionName: string): unknown {
    return {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId: 'req-1', functionArn: `arn:aws:lambda:us-east-1:${FUNCTION_ACCOUNT}:function:${functionName}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 1 },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'boom' },
    };
  }

  test('assumes the failed function’s job-result role from its map and reports the failure', async () => {
    process.env[CRASH_REPORTER_TARGETS_ENV] = JSON.stringify({ 'smoke-test': { roleArn: RESULT_ROLE }, 'other': { region: 'eu-west-1' } });
    const event = pipelineJob();
    await captureLogs(() => crashReporter(failureRecord(event, 'smoke-test')));
    const job = emulator.job(event['CodePipeline.job'].id)!;
    expect(job.status).toBe('Failed');
    expect(job.results[0].failureDetails?.message).toMatch(/^Lambda function crashed: boom/);
  });

  test('a function its map does not name is reported with its own credentials (refused for another account’s job)', async () => {
    process.env[CRASH_REPORTER_TARGETS_ENV] = JSON.stringify({ 'smoke-test': { roleArn: RESULT_ROLE } });
    const event = pipelineJob();
    await expect(captureLogs(() => crashReporter(failureRecord(event, 'unknown-fn')))).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  test('reports in the pipeline region its map names (another region does not find the job)', async () => {
    const event = pipelineJob();
    process.env.AWS_REGION = 'eu-central-1';
    try {
      process.env[CRASH_REPORTER_TARGETS_ENV] = JSON.stringify({ 'smoke-test': { roleArn: RESULT_ROLE, region: 'us-east-1' } });
      await captureLogs(() => crashReporter(failureRecord(event, 'smoke-test')));
    } finally {
      process.env.AWS_REGION = 'us-east-1';
    }
    expect(emulator.job(event['CodePipeline.job'].id)?.status).toBe('Failed');
  });

  test('an unreadable map is logged and the report is tried in its own account', async () => {
    process.env[CRASH_REPORTER_TARGETS_ENV] = '{not json';
    const event = pipelineJob();
    const attempt = captureLogs(() => crashReporter(failureRecord(event, 'smoke-test')));
    await expect(attempt).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
