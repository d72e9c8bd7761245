/**
 * A function in another account or region than its pipeline, run locally: the job-API emulator accepts results only
 * with credentials of the job-result role (issued by the local STS), as CodePipeline only takes reports from its own
 * account. jobHandler and the crash reporter assume the role; a handler reporting with its own credentials is refused.
 */
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { succeed, type PlainEvent } from './fixtures/plain-handler';
import { main } from '../../src/local/cli';
import { localRoleArns } from '../../src/local/cross-environment';
import { JobApiEmulator } from '../../src/local/job-api-emulator';
import { runJob } from '../../src/local/run-job';
import { LocalStsServer } from '../../src/local/sts-server';
import { jobHandler } from '../../src/runtime';

const PIPELINE_ACCOUNT = '111111111111';
const FUNCTION_ACCOUNT = '222222222222';
const execFileAsync = promisify(execFile);
const JOB_SDK = '0b7d1c2e-1111-4a5b-8c9d-000000000001';
const JOB_BOTO3 = '0b7d1c2e-1111-4a5b-8c9d-000000000002';

const reportingHandler = jobHandler({}, async () => ({ outputVariables: { reportedFrom: process.env.AWS_REGION ?? '' }, summary: 'done' }));

describe('runJob with the function in another account', () => {
  test('jobHandler assumes the job-result role through the local STS and the job succeeds', async () => {
    const outcome = await runJob({ handler: reportingHandler, accountId: PIPELINE_ACCOUNT, functionAccountId: FUNCTION_ACCOUNT });
    expect(outcome).toMatchObject({ status: 'Succeeded', summary: 'done' });
  });

  test('a handler that reports with its own credentials is refused with AccessDeniedException, and the job fails', async () => {
    const outcome = await runJob({
      handler: async (raw) => succeed(raw as PlainEvent, { summary: 'from the wrong account' }),
      accountId: PIPELINE_ACCOUNT,
      functionAccountId: FUNCTION_ACCOUNT,
    });
    expect(outcome.status).toBe('Failed');
    expect(outcome.crash).toMatchObject({ errorType: 'AccessDeniedException' });
    expect(outcome.failure?.message).toMatch(
      new RegExp(`User: arn:aws:iam::${FUNCTION_ACCOUNT}:role/local-pipeline-job-function-role is not authorized to perform: codepipeline:PutJobSuccessResult`),
    );
    // The failure itself came through the crash reporter, which assumed the role (one report, accepted).
    expect(outcome.reports).toHaveLength(1);
  });

  test('a crashing handler is reported failed by the crash reporter through the job-result role', async () => {
    const outcome = await runJob({
      handler: async () => {
        throw new RangeError('out of cheese');
      },
      accountId: PIPELINE_ACCOUNT,
      functionAccountId: FUNCTION_ACCOUNT,
    });
    expect(outcome).toMatchObject({ status: 'Failed', failure: { type: 'JobFailed', message: expect.stringMatching(/^Lambda function crashed: out of cheese/) } });
  });

  test('the same account for both runs as before, without STS', async () => {
    const outcome = await runJob({
      handler: async (raw) => {
        expect(process.env.AWS_ENDPOINT_URL_STS).toBeUndefined();
        expect(process.env.CODEPIPELINE_JOB_RESULT_ROLE_ARN).toBeUndefined();
        await succeed(raw as PlainEvent);
      },
      accountId: PIPELINE_ACCOUNT,
      functionAccountId: PIPELINE_ACCOUNT,
    });
    expect(outcome.status).toBe('Succeeded');
  });

  test('a job continued over three invocations assumes the role once (credentials cached for their lifetime)', async () => {
    let issuedBefore = 0;
    let stsEndpoint = '';
    const continuing = jobHandler<unknown, { n: number }>({}, async (job) => {
      stsEndpoint = process.env.AWS_ENDPOINT_URL_STS ?? '';
      const n = job.continuation?.n ?? 0;
      return n < 2 ? job.continueLater({ n: n + 1 }) : { summary: `after ${n + 1}` };
    });
    const outcome = await runJob({
      handler: continuing,
      accountId: PIPELINE_ACCOUNT,
      functionAccountId: FUNCTION_ACCOUNT,
      onInvoke: () => {
        issuedBefore++;
      },
    });
    expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 3, summary: 'after 3' });
    expect(issuedBefore).toBe(3);
    expect(stsEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('runJob with the function in another region', () => {
  test('jobHandler reports to the pipeline region while the function runs in its own', async () => {
    const outcome = await runJob({ handler: reportingHandler, functionRegion: 'eu-central-1' });
    expect(outcome).toMatchObject({ status: 'Succeeded', outputVariables: { reportedFrom: 'eu-central-1' } });
  });

  test('a handler that reports in its own region does not find the job, and the crash reporter reports it in the right one', async () => {
    const outcome = await runJob({ handler: async (raw) => succeed(raw as PlainEvent), functionRegion: 'eu-central-1' });
    expect(outcome.status).toBe('Failed');
    expect(outcome.crash).toMatchObject({ errorType: 'JobNotFoundException' });
    expect(outcome.failure?.message).toMatch(/was not found in eu-central-1: it belongs to a pipeline in us-east-1/);
  });

  test('both at once: another account and another region', async () => {
    const outcome = await runJob({ handler: reportingHandler, accountId: PIPELINE_ACCOUNT, functionAccountId: FUNCTION_ACCOUNT, functionRegion: 'ap-southeast-2' });
    expect(outcome).toMatchObject({ status: 'Succeeded', outputVariables: { reportedFrom: 'ap-southeast-2' } });
  });
});

// -----------------------------------------------------------------------------------------------------------------
// The local STS, against third-party clients

const FUNCTION_CREDENTIALS = { accessKeyId: 'AKIAFUNCTIONROLE0001', secretAccessKey: 'function-role-secret-key-0000000000000000' };
const OTHER_CREDENTIALS = { accessKeyId: 'AKIAOTHERPRINCIPAL01', secretAccessKey: 'other-principal-secret-key-00000000000000' };
const { functionRoleArn, resultRoleArn } = localRoleArns(PIPELINE_ACCOUNT, FUNCTION_ACCOUNT, 'fn');

/** The environment of a child process with no AWS configuration but the given one. */
function cleanEnvironment(aws: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  return { ...env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', ...aws };
}

describe('the local STS', () => {
  let sts: LocalStsServer;
  let emulator: JobApiEmulator;

  beforeAll(async () => {
    emulator = await JobApiEmulator.start({ credentials: [] });
    sts = await LocalStsServer.start({
      callers: [
        { credentials: FUNCTION_CREDENTIALS, principalArn: functionRoleArn },
        { credentials: OTHER_CREDENTIALS, principalArn: `arn:aws:iam::${FUNCTION_ACCOUNT}:role/someone-else` },
      ],
      roles: [{ roleArn: resultRoleArn, trustedPrincipalArns: [functionRoleArn] }],
      onIssue: (issued) => emulator.addCredentials(issued.credentials, { accountId: PIPELINE_ACCOUNT, arn: issued.assumedRoleArn }),
    });
  });

  afterAll(async () => {
    await sts.close();
    await emulator.close();
  });

  const stsClient = (credentials = FUNCTION_CREDENTIALS) => new STSClient({ region: 'us-east-1', endpoint: sts.endpoint, credentials, maxAttempts: 1 });

  test('SDK v3 gets credentials that the job-API emulator accepts for a job of the pipeline account', async () => {
    const answer = await stsClient().send(new AssumeRoleCommand({ RoleArn: resultRoleArn, RoleSessionName: 'fn' }));
    expect(answer.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${PIPELINE_ACCOUNT}:assumed-role/fn-job-result/fn`);
    expect(answer.Credentials!.Expiration!.getTime() - Date.now()).toBeGreaterThan(3500_000);
    emulator.registerJob(JOB_SDK, { accountId: PIPELINE_ACCOUNT });
    const codePipeline = new CodePipelineClient({
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      maxAttempts: 1,
      credentials: {
        accessKeyId: answer.Credentials!.AccessKeyId!,
        secretAccessKey: answer.Credentials!.SecretAccessKey!,
        sessionToken: answer.Credentials!.SessionToken,
      },
    });
    await codePipeline.send(new PutJobSuccessResultCommand({ jobId: JOB_SDK }));
    expect(emulator.job(JOB_SDK)?.status).toBe('Succeeded');
  });

  test('a principal the role does not trust gets AccessDenied, naming itself and the role', async () => {
    await expect(stsClient(OTHER_CREDENTIALS).send(new AssumeRoleCommand({ RoleArn: resultRoleArn, RoleSessionName: 'x1' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: `User: arn:aws:iam::${FUNCTION_ACCOUNT}:role/someone-else is not authorized to perform: sts:AssumeRole on resource: ${resultRoleArn}`,
      $metadata: { httpStatusCode: 403 },
    });
  });

  test('unknown credentials get InvalidClientTokenId; a bad session name and duration get ValidationError', async () => {
    const unknown = { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x'.repeat(40) };
    await expect(stsClient(unknown).send(new AssumeRoleCommand({ RoleArn: resultRoleArn, RoleSessionName: 'fn' }))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });
    await expect(
      stsClient().send(new AssumeRoleCommand({ RoleArn: resultRoleArn, RoleSessionName: 'has space', DurationSeconds: 60 })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringMatching(/^2 validation errors detected: .*roleSessionName.*durationSeconds/) });
  });

  test('the aws CLI assumes the role through it (third-party client, --endpoint-url)', async () => {
    const { stdout } = await execFileAsync(
      'aws',
      ['sts', 'assume-role', '--role-arn', resultRoleArn, '--role-session-name', 'cli-session', '--endpoint-url', sts.endpoint, '--region', 'us-east-1', '--output', 'json'],
      { env: cleanEnvironment({ AWS_ACCESS_KEY_ID: FUNCTION_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: FUNCTION_CREDENTIALS.secretAccessKey }) },
    );
    const answer = JSON.parse(stdout);
    expect(answer.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${PIPELINE_ACCOUNT}:assumed-role/fn-job-result/cli-session`);
    expect(answer.Credentials.AccessKeyId).toMatch(/^ASIA/);
  });

  test('boto3 assumes the role and reports a job with the credentials (AWS_ENDPOINT_URL_STS / _CODEPIPELINE)', async () => {
    emulator.registerJob(JOB_BOTO3, { accountId: PIPELINE_ACCOUNT });
    const script = [
      'import boto3',
      "creds = boto3.client('sts').assume_role(RoleArn=ROLE, RoleSessionName='boto3')['Credentials']",
      "cp = boto3.client('codepipeline', aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])",
      "cp.put_job_failure_result(jobId=JOB, failureDetails={'type': 'JobFailed', 'message': 'from boto3'})",
      "print('ok')",
    ].join('\n');
    const { stdout } = await execFileAsync('python3', ['-c', `ROLE=${JSON.stringify(resultRoleArn)}\nJOB=${JSON.stringify(JOB_BOTO3)}\n${script}`], {
      env: cleanEnvironment({
        AWS_ENDPOINT_URL_STS: sts.endpoint,
        AWS_ENDPOINT_URL_CODEPIPELINE: emulator.endpoint,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: FUNCTION_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: FUNCTION_CREDENTIALS.secretAccessKey,
      }),
    });
    expect(stdout.trim()).toBe('ok');
    expect(emulator.job(JOB_BOTO3)?.results[0].failureDetails?.message).toBe('from boto3');
  });
});

describe('the invoke command', () => {
  const fixture = (exportName: string, file = 'cross-account-handler.ts') => `${path.join(__dirname, 'fixtures', file)}#${exportName}`;

  async function invokeCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await main(['invoke', ...args, '--json'], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: process.cwd() });
    return { code, stdout, stderr };
  }

  test('--function-account-id and --function-region run a jobHandler that reports through the role', async () => {
    const { code, stdout } = await invokeCli(['--handler', fixture('handler'), '--function-account-id', FUNCTION_ACCOUNT, '--function-region', 'eu-west-2']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'Succeeded', summary: 'ran in eu-west-2' });
  });

  test('--function-account-id with a handler reporting with its own credentials exits 1 with AccessDenied', async () => {
    const { code, stdout } = await invokeCli(['--handler', fixture('failing', 'plain-handler.ts'), '--function-account-id', FUNCTION_ACCOUNT]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).failure.message).toMatch(/^Lambda function crashed: User: arn:aws:iam::222222222222:role\/local-pipeline-job-function-role is not authorized to perform: codepipeline:PutJobFailureResult/);
  });

  test('a malformed --function-account-id is bad usage (exit 2)', async () => {
    const { code, stderr } = await invokeCli(['--handler', fixture('handler'), '--function-account-id', '2222']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--function-account-id 2222: an account id has 12 digits/);
  });
});
