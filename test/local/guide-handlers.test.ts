/**
 * Handlers nobody here wrote the tests for: written the way the AWS user guides write them (Node.js with SDK v3 and a
 * module-scope client; Python with boto3), run through runJob and the CLI's invoke. Also: several runs in one process,
 * which is what every jest file with two tests does.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CodePipelineClient, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { artifactS3, succeed, type PlainEvent } from './fixtures/plain-handler';
import { runJob } from '../../src/local/run-job';
import { buildCli, removeCli, runCli } from '../support/cli';

const GUIDE = path.join(__dirname, '..', 'fixtures', 'guide-handlers');
const NODE_HANDLER = `${path.join(GUIDE, 'node', 'index.js')}#handler`;
const PYTHON_HANDLER = `${path.join(GUIDE, 'python', 'app.py')}#lambda_handler`;
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guide-input-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

/** Like a user's handler module: the client is made once, when the module loads, and reused by every invocation. */
const moduleScopeClient = new CodePipelineClient({});

let cli: string;
beforeAll(() => {
  cli = buildCli();
});
afterAll(() => removeCli(cli));

describe('two runJob calls in one process', () => {
  test('a handler with a module-scope client succeeds in the first run', async () => {
    const outcome = await runJob({
      handler: async (event) => {
        await moduleScopeClient.send(new PutJobSuccessResultCommand({ jobId: (event as { 'CodePipeline.job': { id: string } })['CodePipeline.job'].id }));
      },
    });
    expect(outcome.status).toBe('Succeeded');
  });

  test('the same module-scope client still reaches the job API in the second run', async () => {
    const outcome = await runJob({
      handler: async (event) => {
        await moduleScopeClient.send(new PutJobSuccessResultCommand({ jobId: (event as { 'CodePipeline.job': { id: string } })['CodePipeline.job'].id }));
      },
    });
    expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 1 });
    expect(outcome.crash).toBeUndefined();
  });

  test('each run has its own job id, artifact bucket and credentials; the bucket of an earlier run is gone', async () => {
    const events: PlainEvent[] = [];
    let lateRead: unknown;
    let lateReadWithOldCredentials: unknown;
    const input = folder({ 'a.txt': 'a' });
    const handler = async (raw: unknown) => {
      const event = raw as PlainEvent;
      events.push(event);
      if (events.length === 2) {
        const { s3Location } = events[0]['CodePipeline.job'].data.inputArtifacts[0].location;
        const get = new GetObjectCommand({ Bucket: s3Location.bucketName, Key: s3Location.objectKey });
        lateRead = await artifactS3(event).send(get).catch((err: Error) => err.name);
        lateReadWithOldCredentials = await artifactS3(events[0]).send(get).catch((err: Error) => err.name);
      }
      await succeed(event);
    };
    await runJob({ handler, inputs: { Source: input } });
    await runJob({ handler, inputs: { Source: input } });
    const [first, second] = events.map((e) => e['CodePipeline.job']);
    expect(first.id).not.toBe(second.id);
    expect(first.data.inputArtifacts[0].location.s3Location.bucketName).not.toBe(second.data.inputArtifacts[0].location.s3Location.bucketName);
    expect(lateRead).toBe('NoSuchBucket');
    expect(lateReadWithOldCredentials).toBe('InvalidAccessKeyId');
  });
});

describe('the AWS guide-style Node.js handler (SDK v3, module-scope CodePipelineClient)', () => {
  test('succeeds through runJob, reading its input artifact with the event credentials', async () => {
    const outcome = await runJob({ handler: NODE_HANDLER, inputs: { Source: folder({ 'app.txt': 'x'.repeat(100) }) }, userParameters: { expectBytes: 10 } });
    expect(outcome).toMatchObject({ status: 'Succeeded', summary: 'Tests passed.' });
  });

  test('a second run of the same loaded module succeeds too', async () => {
    const first = await runJob({ handler: NODE_HANDLER });
    const second = await runJob({ handler: NODE_HANDLER });
    expect([first.status, second.status]).toEqual(['Succeeded', 'Succeeded']);
  });

  test('reports JobFailed with the request id as externalExecutionId', async () => {
    const outcome = await runJob({ handler: NODE_HANDLER, inputs: { Source: folder({ 'app.txt': 'x' }) }, userParameters: { expectBytes: 1_000_000 } });
    expect(outcome.status).toBe('Failed');
    expect(outcome.failure).toMatchObject({ type: 'JobFailed', message: expect.stringMatching(/expected at least 1000000/) });
    expect(outcome.reports[0].failureDetails?.externalExecutionId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the AWS guide-style Python handler (boto3)', () => {
  test('reads its input artifact, writes its output with SSE-KMS and succeeds with a Lambda-like context', async () => {
    const outcome = await runJob({
      handler: PYTHON_HANDLER,
      inputs: { Source: folder({ 'config.txt': 'hello from python' }) },
      outputs: ['Out'],
      userParameters: { file: 'config.txt', expect: 'hello' },
      encryptionKey: KMS_KEY,
      functionName: 'guide-python',
      memoryMb: 256,
      timeoutMs: 20_000,
    });
    expect(outcome.status).toBe('Succeeded');
    expect(fs.readFileSync(path.join(outcome.outputs.Out, 'upper.txt'), 'utf8')).toBe('HELLO FROM PYTHON');
    expect(outcome.warnings).toEqual([]);
    expect(outcome.outputVariables).toMatchObject({
      function: 'guide-python',
      memory: '256',
      request: expect.stringMatching(/^[0-9a-f-]{36}$/),
      arn: 'arn:aws:lambda:us-east-1:123456789012:function:guide-python',
    });
    const left = Number(/\((\d+) ms left\)/.exec(outcome.summary ?? '')?.[1]);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(20_000);
  });

  test('continues the job with a continuation token, then finishes', async () => {
    const tokens: Array<string | undefined> = [];
    const outcome = await runJob({
      handler: PYTHON_HANDLER,
      inputs: { Source: folder({ 'config.txt': 'x' }) },
      userParameters: { file: 'config.txt', continue: true },
      onInvoke: (event) => tokens.push(event['CodePipeline.job'].data.continuationToken),
    });
    expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 2 });
    expect(tokens[0]).toBeUndefined();
    expect(JSON.parse(tokens[1]!)).toEqual({ previous_job_id: outcome.jobId });
  });

  test('a failure it reports is the outcome', async () => {
    const outcome = await runJob({
      handler: PYTHON_HANDLER,
      inputs: { Source: folder({ 'config.txt': 'nothing here' }) },
      userParameters: { file: 'config.txt', expect: 'hello' },
    });
    expect(outcome.failure).toEqual({ type: 'JobFailed', message: 'expected hello in config.txt' });
    expect(outcome.crash).toBeUndefined();
  });

  test('an exception it raises goes to the crash reporter, as on Lambda', async () => {
    const outcome = await runJob({ handler: PYTHON_HANDLER, userParameters: { crash: 'boom from python' } });
    expect(outcome.status).toBe('Failed');
    expect(outcome.crash).toMatchObject({ errorType: 'ValueError', errorMessage: 'boom from python', invocation: 1 });
    expect(outcome.failure?.message).toMatch(/^Lambda function crashed: boom from python \(ValueError/);
  });

  test('running past timeoutMs is a timeout handed to the crash reporter', async () => {
    const outcome = await runJob({ handler: PYTHON_HANDLER, userParameters: { sleep: 30 }, timeoutMs: 1500 });
    expect(outcome.crash?.errorType).toBe('Sandbox.Timedout');
    expect(outcome.failure?.message).toMatch(/Task timed out after 1\.50 seconds/);
  });

  test('runs through the CLI: invoke --handler app.py#lambda_handler', () => {
    const result = runCli(cli, [
      'invoke',
      '--handler',
      PYTHON_HANDLER,
      '--input',
      `Source=${folder({ 'config.txt': 'via cli' })}`,
      '--output',
      'Out',
      '--user-parameters',
      JSON.stringify({ file: 'config.txt' }),
      '--json',
    ]);
    expect(result.code).toBe(0);
    const outcome = JSON.parse(result.stdout) as { status: string; outputs: Record<string, string> };
    expect(outcome.status).toBe('Succeeded');
    expect(fs.readFileSync(path.join(outcome.outputs.Out, 'upper.txt'), 'utf8')).toBe('VIA CLI');
  });

  test('the Node.js guide handler runs through the CLI too', () => {
    const result = runCli(cli, ['invoke', '--handler', NODE_HANDLER, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'Succeeded', summary: 'Tests passed.' });
  });
});

describe('Python handlers that cannot run say what to do', () => {
  test('a missing python3 names what to install', async () => {
    await expect(runJob({ handler: PYTHON_HANDLER, python: '/nonexistent/python3' })).rejects.toThrow(
      /needs \/nonexistent\/python3, which is not on PATH: install Python 3 .* and boto3/,
    );
  });

  test('a python3 without boto3 says to pip install boto3', async () => {
    const venv = fs.mkdtempSync(path.join(os.tmpdir(), 'no-boto3-'));
    const made = spawnSync('python3', ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
    expect(made.stderr).toBe('');
    await expect(runJob({ handler: PYTHON_HANDLER, python: path.join(venv, 'bin', 'python3') })).rejects.toThrow(
      /needs boto3 \(the Lambda Python runtimes include it\).*python3 -m pip install boto3/,
    );
  });

  test('a syntax error names the file and line', async () => {
    const dir = folder({ 'broken.py': 'def handler(event, context):\n    return (\n' });
    await expect(runJob({ handler: `${path.join(dir, 'broken.py')}#handler` })).rejects.toThrow(new RegExp(`SyntaxError: .*\\(${path.join(dir, 'broken.py')}, line \\d+\\)`));
  });

  test('a missing function lists the ones the module has', async () => {
    await expect(runJob({ handler: `${path.join(GUIDE, 'python', 'app.py')}#handler` })).rejects.toThrow(/has no function "handler"; its functions are: .*lambda_handler/);
  });
});
