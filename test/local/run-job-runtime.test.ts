/** runJob with handlers built on the project's own runtime (jobHandler): the example app's handler, as the demo runs it. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { handler as releaseCheck } from '../../examples/typescript/handler';
import { runJob } from '../../src/local/run-job';
import { jobHandler, JobFailedError } from '../../src/runtime';

const PARAMETERS = { environment: 'prod', manifest: 'app.json', requiredFiles: ['index.html'], executionId: '#{codepipeline.PipelineExecutionId}' };

function sourceFolder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'release-source-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

test('the example release check succeeds over two invocations, with its version variable and report artifact', async () => {
  const outcome = await runJob({
    handler: releaseCheck,
    userParameters: PARAMETERS,
    inputs: { Source: sourceFolder({ 'app.json': '{"version":"1.4.2"}', 'index.html': '<html></html>' }) },
    outputs: ['Report'],
  });
  expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 2, outputVariables: { version: '1.4.2' }, summary: 'release 1.4.2 checked for prod' });
  const report = JSON.parse(fs.readFileSync(path.join(outcome.outputs.Report, 'report.json'), 'utf8'));
  expect(report).toMatchObject({ version: '1.4.2', environment: 'prod', fileCount: 2, executionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  expect(outcome.reports[0]).toMatchObject({ continuationToken: expect.any(String), executionDetails: { percentComplete: 50 } });
});

test('the example fails the job when a required file is missing', async () => {
  const outcome = await runJob({ handler: releaseCheck, userParameters: PARAMETERS, inputs: { Source: sourceFolder({ 'app.json': '{}' }) }, outputs: ['Report'] });
  expect(outcome).toMatchObject({ status: 'Failed', invocations: 1, failure: { type: 'JobFailed', message: 'the source artifact lacks index.html' } });
});

test('UserParameters that break the schema fail as ConfigurationError without running the body', async () => {
  const outcome = await runJob({
    handler: releaseCheck,
    userParameters: { ...PARAMETERS, environment: 'staging' },
    inputs: { Source: sourceFolder({ 'app.json': '{}' }) },
  });
  expect(outcome.status).toBe('Failed');
  expect(outcome.failure?.type).toBe('ConfigurationError');
  expect(outcome.failure?.message).toMatch(/environment/);
});

test('a JobFailedError type reaches the outcome', async () => {
  const outcome = await runJob({
    handler: jobHandler({}, async () => {
      throw new JobFailedError('bucket policy denies the action role', 'PermissionError');
    }),
  });
  expect(outcome.failure).toEqual({ type: 'PermissionError', message: 'bucket policy denies the action role' });
});

test('with an encryption key, the runtime uploads the output artifact with SSE-KMS (no warning)', async () => {
  const outcome = await runJob({
    handler: jobHandler({}, async (job) => {
      await job.outputArtifact('Out').uploadFiles({ 'a.txt': 'encrypted at rest' });
      return { summary: 'done' };
    }),
    outputs: ['Out'],
    encryptionKey: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  });
  expect(outcome.status).toBe('Succeeded');
  expect(outcome.warnings).toEqual([]);
  expect(fs.readFileSync(path.join(outcome.outputs.Out, 'a.txt'), 'utf8')).toBe('encrypted at rest');
});

describe('with a function timeout (timeoutMs), the runtime reports before the local Lambda would stop the handler', () => {
  test('a stuck handler fails the job itself, naming the timeout, and nothing reaches the crash reporter', async () => {
    const outcome = await runJob({ handler: jobHandler({}, () => new Promise<never>(() => undefined)), timeoutMs: 1000 });
    expect(outcome.status).toBe('Failed');
    expect(outcome.crash).toBeUndefined();
    expect(outcome.failure?.message).toMatch(/^The job exceeded the function's timeout while running the handler: .* of the invocation's 1\.0 s had passed/);
  });

  test("with onDeadline 'continue', the next invocation resumes from the checkpoint", async () => {
    const handler = jobHandler<unknown, { done: number }>({ onDeadline: 'continue' }, async (job) => {
      if (job.continuation === undefined) {
        job.checkpoint({ done: 1 });
        return new Promise<never>(() => undefined); // step 1 done, then stuck: the deadline continues the job
      }
      return { outputVariables: { done: String(job.continuation.done + 1) } };
    });
    const outcome = await runJob({ handler, timeoutMs: 1000 });
    expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 2, outputVariables: { done: '2' } });
    expect(outcome.crash).toBeUndefined();
    expect(outcome.reports[0].continuationToken).toContain('{"done":1}');
  });
});
