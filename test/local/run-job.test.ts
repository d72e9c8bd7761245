import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { artifactS3, fail, readInput, succeed, writeOutput, type PlainEvent } from './fixtures/plain-handler';
import { zipFolderToFile } from '../../src/local/internal/zip';
import { runJob, stopLocalServices } from '../../src/local/run-job';

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function inputFolder(files: Record<string, string>): string {
  const dir = tempDir('run-job-input-');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const jobOf = (event: unknown) => (event as PlainEvent)['CodePipeline.job'];

async function zipOf(files: Record<string, string>): Promise<Buffer> {
  const zipFile = path.join(tempDir('run-job-zipof-'), 'a.zip');
  await zipFolderToFile(inputFolder(files), zipFile);
  return fs.readFileSync(zipFile);
}

describe('runJob on success', () => {
  test('a folder input reaches the handler and its output artifact comes back extracted, with variables and summary', async () => {
    const outcome = await runJob({
      handler: async (raw) => {
        const event = raw as PlainEvent;
        const input = await readInput(event);
        const greeting = fs.readFileSync(path.join(input, 'nested/greeting.txt'), 'utf8');
        await writeOutput(event, { 'reply.txt': `${greeting} back`, 'dir/more.txt': 'more' });
        await succeed(event, { outputVariables: { greeting }, summary: 'replied' });
      },
      inputs: { Source: inputFolder({ 'nested/greeting.txt': 'hello' }) },
      outputs: ['Reply'],
    });
    expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 1, outputVariables: { greeting: 'hello' }, summary: 'replied', warnings: [] });
    expect(fs.readFileSync(path.join(outcome.outputs.Reply, 'reply.txt'), 'utf8')).toBe('hello back');
    expect(fs.readFileSync(path.join(outcome.outputs.Reply, 'dir/more.txt'), 'utf8')).toBe('more');
  });

  test('a .zip input is uploaded as is', async () => {
    const zipFile = path.join(tempDir('run-job-zip-'), 'source.zip');
    await zipFolderToFile(inputFolder({ 'a.txt': 'from a zip' }), zipFile);
    let seen = '';
    const outcome = await runJob({
      handler: async (raw) => {
        seen = fs.readFileSync(path.join(await readInput(raw as PlainEvent), 'a.txt'), 'utf8');
        await succeed(raw as PlainEvent);
      },
      inputs: { Source: zipFile },
    });
    expect(outcome.status).toBe('Succeeded');
    expect(seen).toBe('from a zip');
  });

  test('the event carries UserParameters as JSON, the artifacts, and the encryption key', async () => {
    const events: unknown[] = [];
    await runJob({
      handler: async (raw) => {
        events.push(raw);
        await succeed(raw as PlainEvent);
      },
      userParameters: { environment: 'dev', retries: 2 },
      inputs: { Source: inputFolder({ f: 'x' }) },
      outputs: ['Out'],
      encryptionKey: KMS_KEY,
      functionName: 'smoke-test',
    });
    const job = jobOf(events[0]);
    expect(job.data.actionConfiguration.configuration).toEqual({ FunctionName: 'smoke-test', UserParameters: '{"environment":"dev","retries":2}' });
    expect(job.data.inputArtifacts.map((a) => a.name)).toEqual(['Source']);
    expect(job.data.outputArtifacts.map((a) => a.name)).toEqual(['Out']);
    expect(job.data.encryptionKey).toEqual({ id: KMS_KEY, type: 'KMS' });
    expect(job.data.artifactCredentials.sessionToken).toEqual(expect.any(String));
  });

  test('the handler gets a Lambda-like context', async () => {
    let seen: Record<string, unknown> = {};
    await runJob({
      handler: async (raw, context) => {
        seen = { ...context, remaining: context.getRemainingTimeInMillis() };
        await succeed(raw as PlainEvent);
      },
      functionName: 'ctx-fn',
      timeoutMs: 30_000,
    });
    expect(seen).toMatchObject({ functionName: 'ctx-fn', functionVersion: '$LATEST', memoryLimitInMB: '512' });
    expect(seen.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.invokedFunctionArn).toBe('arn:aws:lambda:us-east-1:123456789012:function:ctx-fn');
    expect(seen.remaining).toBeGreaterThan(25_000);
    expect(seen.remaining).toBeLessThanOrEqual(30_000);
  });

  test('the artifact bucket accepts only the event credentials, not the function role (as on AWS)', async () => {
    let error = '';
    await runJob({
      handler: async (raw) => {
        const event = raw as PlainEvent;
        const bucket = jobOf(event).data.inputArtifacts[0].location.s3Location.bucketName;
        const roleClient = new S3Client({ maxAttempts: 1 });
        error = await roleClient.send(new ListObjectsV2Command({ Bucket: bucket })).then(
          () => 'accepted',
          (e: Error) => e.name,
        );
        await artifactS3(event).send(new ListObjectsV2Command({ Bucket: bucket }));
        await succeed(event);
      },
      inputs: { Source: inputFolder({ f: 'x' }) },
    });
    expect(error).toBe('InvalidAccessKeyId');
  });

  test('an output artifact the handler never uploads is reported as a warning', async () => {
    const outcome = await runJob({ handler: async (raw) => succeed(raw as PlainEvent), outputs: ['Forgotten'] });
    expect(outcome.status).toBe('Succeeded');
    expect(outcome.outputs).toEqual({});
    expect(outcome.warnings).toEqual([expect.stringMatching(/Forgotten was not uploaded/)]);
  });

  test('an output uploaded without SSE-KMS although the event has an encryption key is reported as a warning', async () => {
    const outcome = await runJob({
      handler: async (raw) => {
        const event = raw as PlainEvent;
        const { s3Location } = jobOf(event).data.outputArtifacts[0].location;
        await artifactS3(event).send(new PutObjectCommand({ Bucket: s3Location.bucketName, Key: s3Location.objectKey, Body: await zipOf({ 'a.txt': 'a' }) }));
        await succeed(event);
      },
      outputs: ['Out'],
      encryptionKey: KMS_KEY,
    });
    expect(outcome.status).toBe('Succeeded');
    expect(outcome.warnings).toEqual([expect.stringMatching(/Out was stored with AES256, not SSE-KMS with the event's encryptionKey/)]);
  });

  test('the environment is restored afterwards; the services stay up for later runs until stopLocalServices()', async () => {
    const before = { ...process.env };
    let endpoint = '';
    await runJob({
      handler: async (raw) => {
        endpoint = process.env.AWS_ENDPOINT_URL_S3!;
        await succeed(raw as PlainEvent);
      },
    });
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env).toEqual(before);
    expect((await fetch(endpoint)).status).toBe(403);
    await stopLocalServices();
    await expect(fetch(endpoint)).rejects.toThrow();
  });
});

describe('runJob substitutes pipeline variables in UserParameters', () => {
  async function userParametersSeen(options: { userParameters: unknown; variables?: Record<string, string> }) {
    let seen: string | undefined;
    const outcome = await runJob({
      ...options,
      handler: async (raw) => {
        seen = jobOf(raw).data.actionConfiguration.configuration.UserParameters;
        await succeed(raw as PlainEvent);
      },
    });
    return { seen, outcome };
  }

  test('given variables replace their references, and the execution id is made up', async () => {
    const { seen, outcome } = await userParametersSeen({
      userParameters: { url: '#{Deploy.Url}', execution: '#{codepipeline.PipelineExecutionId}' },
      variables: { 'Deploy.Url': 'https://shop.example.com' },
    });
    expect(JSON.parse(seen!)).toEqual({ url: 'https://shop.example.com', execution: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(outcome.warnings).toEqual([]);
  });

  test('a reference without a value stays literal and is reported as a warning', async () => {
    const { seen, outcome } = await userParametersSeen({ userParameters: '{"url":"#{Deploy.Url}"}' });
    expect(seen).toBe('{"url":"#{Deploy.Url}"}');
    expect(outcome.warnings).toEqual([expect.stringMatching(/reference #\{Deploy\.Url\}, which has no value here/)]);
  });

  test('substitution is textual, like CodePipeline: a value with a quote breaks JSON parameters', async () => {
    const { seen } = await userParametersSeen({ userParameters: { title: '#{Source.CommitMessage}' }, variables: { 'Source.CommitMessage': 'fix "quotes"' } });
    expect(seen).toBe('{"title":"fix "quotes""}');
    expect(() => JSON.parse(seen!)).toThrow();
  });

  test('UserParameters over 1000 characters after substitution are refused before anything runs', async () => {
    let ran = false;
    await expect(
      runJob({ handler: async () => void (ran = true), userParameters: '#{A.b}', variables: { 'A.b': 'x'.repeat(1001) } }),
    ).rejects.toThrow(/1001 characters long; CodePipeline allows at most 1000/);
    expect(ran).toBe(false);
  });
});

describe('runJob on failure', () => {
  test('a failure the handler reports is the outcome, with its type and message', async () => {
    const outcome = await runJob({ handler: async (raw) => fail(raw as PlainEvent, 'retries: must be >= 0', 'ConfigurationError') });
    expect(outcome).toMatchObject({ status: 'Failed', failure: { type: 'ConfigurationError', message: 'retries: must be >= 0' }, invocations: 1 });
    expect(outcome.crash).toBeUndefined();
  });

  test('a handler that returns without reporting fails the job with what to do', async () => {
    const outcome = await runJob({ handler: async () => undefined });
    expect(outcome.status).toBe('Failed');
    expect(outcome.failure?.message).toMatch(/returned without reporting/);
  });
});

describe('runJob refuses callback-style handlers as Node.js 24 Lambda runtimes do', () => {
  test('a handler declaring (event, context, callback) fails the job saying so and how to fix it', async () => {
    let called = false;
    const outcome = await runJob({
      handler: ((_event: unknown, _context: unknown, callback: (err: unknown, result?: unknown) => void) => {
        called = true;
        callback(null, 'done');
      }) as unknown as Parameters<typeof runJob>[0]['handler'],
    });
    expect(called).toBe(false);
    expect(outcome.status).toBe('Failed');
    expect(outcome.failure?.message).toMatch(/Node\.js 24 Lambda runtimes don't support callback-style handlers.*Make the handler async/);
    expect(outcome.crash?.errorType).toBe('CallbackStyleHandlerError');
  });

  test('context.succeed() inside the invocation is reported as a crash saying so, without throwing into the handler', async () => {
    const outcome = await runJob({
      handler: async (raw, context) => {
        await succeed(raw as PlainEvent);
        (context.succeed as (result: unknown) => void)('ok');
      },
    });
    // The report went through first: the job succeeded; the misuse is what the crash reporter then sees.
    expect(outcome.crash?.errorMessage).toMatch(/the handler called context\.succeed\(\): Node\.js 24 Lambda runtimes don't support/);
  });

  test('context.fail() before any report fails the job with what to change', async () => {
    const outcome = await runJob({ handler: async (_raw, context) => (context.fail as (e: unknown) => void)(new Error('nope')) });
    expect(outcome.status).toBe('Failed');
    expect(outcome.failure?.message).toMatch(/context\.fail\(\).*Make the handler async/);
  });

  test('a non-async handler whose late context.succeed() comes after the run neither crashes the process nor changes the outcome', async () => {
    let late: (() => void) | undefined;
    const lateCalled = new Promise<void>((resolve) => {
      late = resolve;
    });
    const outcome = await runJob({
      handler: (_raw, context) => {
        setTimeout(() => {
          (context.succeed as (result: unknown) => void)('too late');
          (context.done as () => void)();
          late!();
        }, 50);
        return undefined;
      },
    });
    await lateCalled;
    expect(outcome.status).toBe('Failed');
    expect(outcome.failure?.message).toMatch(/returned without a Promise and without reporting the job: Node\.js 24 Lambda runtimes end the invocation/);
  });
});

describe('runJob hands crashes to the crash reporter', () => {
  test('a handler that throws fails the job through the crash reporter, the environment restored', async () => {
    const before = { ...process.env };
    const outcome = await runJob({
      handler: async () => {
        throw new TypeError('Cannot read properties of undefined');
      },
    });
    expect(outcome.status).toBe('Failed');
    expect(outcome.failure).toMatchObject({ type: 'JobFailed', message: expect.stringMatching(/^Lambda function crashed: Cannot read properties of undefined \(TypeError/) });
    expect(outcome.crash).toMatchObject({ errorType: 'TypeError', invocation: 1 });
    expect(process.env).toEqual(before);
  });

  test('a handler that runs past timeoutMs fails the job as timed out', async () => {
    const outcome = await runJob({
      handler: () => new Promise((resolve) => setTimeout(resolve, 1500)),
      timeoutMs: 300,
    });
    expect(outcome.status).toBe('Failed');
    expect(outcome.failure?.message).toMatch(/Lambda function crashed: Task timed out after 0\.30 seconds/);
    expect(outcome.crash?.errorType).toBe('Sandbox.Timedout');
  });
});

describe('runJob follows continuation tokens', () => {
  test('each invocation sees the previous token until the handler finishes', async () => {
    const tokens: Array<string | undefined> = [];
    const outcome = await runJob({
      handler: async (raw) => {
        const event = raw as PlainEvent;
        const token = jobOf(event).data.continuationToken;
        tokens.push(token);
        const step = token === undefined ? 1 : Number(JSON.parse(token).step) + 1;
        if (step < 3) await succeed(event, { continuationToken: JSON.stringify({ step }) });
        else await succeed(event, { outputVariables: { steps: String(step) } });
      },
    });
    expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 3, outputVariables: { steps: '3' } });
    expect(tokens).toEqual([undefined, '{"step":1}', '{"step":2}']);
    expect(outcome.reports.map((r) => r.continuationToken)).toEqual(['{"step":1}', '{"step":2}', undefined]);
  });

  test('a job still continuing after maxInvocations fails, naming the limit', async () => {
    const outcome = await runJob({ handler: async (raw) => succeed(raw as PlainEvent, { continuationToken: 'again' }), maxInvocations: 2 });
    expect(outcome).toMatchObject({ status: 'Failed', invocations: 2 });
    expect(outcome.failure?.message).toMatch(/still in progress after 2 invocations \(maxInvocations 2\)/);
  });
});

describe('runJob loads handlers by reference', () => {
  test('file#export loads the named export', async () => {
    const outcome = await runJob({
      handler: `${path.join(__dirname, 'fixtures', 'plain-handler.ts')}#handler`,
      inputs: { Source: inputFolder({ 'greeting.txt': 'hi' }) },
      outputs: ['Reply'],
    });
    expect(outcome).toMatchObject({ status: 'Succeeded', outputVariables: { greeting: 'hi' } });
    expect(fs.readFileSync(path.join(outcome.outputs.Reply, 'reply.txt'), 'utf8')).toBe('hi back');
  });

  test('a missing export is refused with the exports that exist', async () => {
    await expect(runJob({ handler: `${path.join(__dirname, 'fixtures', 'plain-handler.ts')}#nope` })).rejects.toThrow(
      /no function export "nope"; its function exports are: .*handler/,
    );
  });

  test('a missing file is refused naming the resolved path', async () => {
    await expect(runJob({ handler: 'does/not/exist.js#handler' })).rejects.toThrow(/handler file not found: .*does\/not\/exist\.js/);
  });
});
