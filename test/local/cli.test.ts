import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseJobEvent } from '../../src/shared/event';
import { buildCli, removeCli, runCli } from '../support/cli';

const FIXTURE = path.join(__dirname, 'fixtures', 'plain-handler.ts');
let cli: string;

beforeAll(() => {
  cli = buildCli();
});
afterAll(() => removeCli(cli));

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-input-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

describe('help and usage', () => {
  test('--help lists the commands and exits 0; no command at all exits 2', () => {
    const help = runCli(cli, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/generate-event/);
    expect(help.stdout).toMatch(/invoke/);
    expect(runCli(cli, []).code).toBe(2);
  });

  test('each command has its own --help', () => {
    const generate = runCli(cli, ['generate-event', '--help']);
    expect(generate.code).toBe(0);
    expect(generate.stdout).toMatch(/--app <dir>/);
    expect(generate.stdout).toMatch(/--input-bucket/);
    const invoke = runCli(cli, ['invoke', '--help']);
    expect(invoke.code).toBe(0);
    expect(invoke.stdout).toMatch(/Exit codes: 0 the job succeeded, 1 the job failed, 2 bad usage/);
  });

  test('an unknown command or option exits 2 and points to --help', () => {
    const unknown = runCli(cli, ['deploy']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "deploy"/);
    const option = runCli(cli, ['generate-event', '--bogus']);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/Unknown option '--bogus'[\s\S]*Run `cdk-codepipeline-invoke generate-event --help`/);
  });

  test('--version prints the package version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(runCli(cli, ['--version']).stdout.trim()).toBe(version);
  });
});

describe('generate-event from flags', () => {
  test('the default event is a valid job event with one input artifact and no UserParameters', () => {
    const { code, stdout } = runCli(cli, ['generate-event']);
    expect(code).toBe(0);
    const event = parseJobEvent(JSON.parse(stdout));
    const data = event['CodePipeline.job'].data;
    expect(data.inputArtifacts.map((a) => a.name)).toEqual(['SourceArtifact']);
    expect(data.outputArtifacts).toEqual([]);
    expect(data.actionConfiguration.configuration.UserParameters).toBe('');
    expect(JSON.parse(stdout)['CodePipeline.job'].data.actionConfiguration.configuration).not.toHaveProperty('UserParameters');
  });

  test('flags set every field, including SAM-style bucket and key flags', () => {
    const { code, stdout } = runCli(cli, [
      'generate-event',
      '--job-id', '11111111-2222-4333-8444-555555555555',
      '--account-id', '210987654321',
      '--function-name', 'smoke',
      '--user-parameters', '{"environment":"dev"}',
      '--input', 'Source', '--input', 'Config=cfg-bucket/cfg/key',
      '--output', 'Out',
      '--input-bucket', 'in-bucket', '--input-key', 'in/key',
      '--output-bucket', 'out-bucket', '--output-key', 'out/key',
      '--encryption-key', 'arn:aws:kms:us-east-1:210987654321:key/k',
      '--continuation-token', '{"step":2}',
      '--revision', 'abc123',
      '--compact',
    ]);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const job = JSON.parse(stdout)['CodePipeline.job'];
    expect(job).toMatchObject({ id: '11111111-2222-4333-8444-555555555555', accountId: '210987654321' });
    expect(job.data.actionConfiguration.configuration).toEqual({ FunctionName: 'smoke', UserParameters: '{"environment":"dev"}' });
    expect(job.data.inputArtifacts).toEqual([
      { name: 'Source', revision: 'abc123', location: { type: 'S3', s3Location: { bucketName: 'in-bucket', objectKey: 'in/key' } } },
      { name: 'Config', revision: 'abc123', location: { type: 'S3', s3Location: { bucketName: 'cfg-bucket', objectKey: 'cfg/key' } } },
    ]);
    expect(job.data.outputArtifacts[0].location.s3Location).toEqual({ bucketName: 'out-bucket', objectKey: 'out/key' });
    expect(job.data.encryptionKey).toEqual({ id: 'arn:aws:kms:us-east-1:210987654321:key/k', type: 'KMS' });
    expect(job.data.continuationToken).toBe('{"step":2}');
  });

  test('--user-parameters @file reads the parameters from a file', () => {
    const dir = folder({ 'params.json': '{"retries": 3}\n' });
    const { stdout } = runCli(cli, ['generate-event', '--user-parameters', '@params.json'], { cwd: dir });
    expect(JSON.parse(stdout)['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters).toBe('{"retries": 3}');
  });

  test('an invalid job id or account id exits 2 saying what they look like', () => {
    const badJob = runCli(cli, ['generate-event', '--job-id', 'job-1']);
    expect(badJob.code).toBe(2);
    expect(badJob.stderr).toMatch(/job ids are lowercase UUIDs/);
    expect(runCli(cli, ['generate-event', '--account-id', '42']).stderr).toMatch(/12 digits/);
  });

  test('UserParameters over 1000 characters exit 2, as CodePipeline refuses them', () => {
    const { code, stderr } = runCli(cli, ['generate-event', '--user-parameters', 'x'.repeat(1001)]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/1001 characters long; CodePipeline allows at most 1000/);
  });

  test('--variable substitutes #{Namespace.Name} references; a malformed one exits 2', () => {
    const { stdout } = runCli(cli, ['generate-event', '--user-parameters', '{"url":"#{Deploy.Url}"}', '--variable', 'Deploy.Url=https://x.example']);
    expect(JSON.parse(stdout)['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters).toBe('{"url":"https://x.example"}');
    const bad = runCli(cli, ['generate-event', '--variable', 'Url=x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/use --variable Namespace\.Name=value/);
  });

  test('--stage without --app exits 2 and says to add --app', () => {
    const { code, stderr } = runCli(cli, ['generate-event', '--stage', 'Deploy']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/add --app <cdk.out>/);
  });
});

describe('invoke', () => {
  test('a TypeScript handler that succeeds exits 0 and prints status, variables and where the outputs went', () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-out-'));
    const { code, stdout } = runCli(cli, ['invoke', '--handler', FIXTURE, '--input', `Source=${folder({ 'greeting.txt': 'hello' })}`, '--output', 'Reply', '--output-dir', outDir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Job [0-9a-f-]{36} Succeeded after 1 invocation\n/);
    expect(stdout).toMatch(/greeting = hello/);
    expect(stdout).toContain(`Reply -> ${path.join(outDir, 'Reply')} (1 file)`);
    expect(fs.readFileSync(path.join(outDir, 'Reply', 'reply.txt'), 'utf8')).toBe('hello back');
  });

  test('--json prints only the outcome on stdout, parseable, with the handler logs on stderr', () => {
    const { code, stdout } = runCli(cli, ['invoke', '--handler', `${FIXTURE}#handler`, '--input', `Source=${folder({ 'greeting.txt': 'hi' })}`, '--output', 'Reply', '--json']);
    expect(code).toBe(0);
    const outcome = JSON.parse(stdout);
    expect(outcome).toMatchObject({ status: 'Succeeded', invocations: 1, outputVariables: { greeting: 'hi' }, summary: 'replied' });
    expect(fs.readFileSync(path.join(outcome.outputs.Reply, 'reply.txt'), 'utf8')).toBe('hi back');
  });

  test('a job the handler fails exits 1 with the failure type and message', () => {
    const { code, stdout } = runCli(cli, ['invoke', '--handler', `${FIXTURE}#failing`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/Failed \(ConfigurationError\) after 1 invocation\n  message: environment: must be one of dev, prod/);
  });

  test('a crashing handler exits 1; the crash reporter failed the job', () => {
    const { code, stdout, stderr } = runCli(cli, ['invoke', '--handler', `${FIXTURE}#crashing`, '--json']);
    expect(code).toBe(1);
    const outcome = JSON.parse(stdout);
    expect(outcome).toMatchObject({ status: 'Failed', crash: { errorType: 'TypeError' }, failure: { type: 'JobFailed' } });
    expect(outcome.failure.message).toMatch(/^Lambda function crashed: Cannot read properties of undefined/);
    expect(stderr).toMatch(/Reporting the crashed job as failed/);
  });

  test('--timeout gives the handler a deadline: a stuck jobHandler is reported failed before it, exit 1', () => {
    const stuck = path.join(__dirname, 'fixtures', 'stuck-handler.ts');
    const { code, stdout } = runCli(cli, ['invoke', '--handler', stuck, '--timeout', '2', '--json']);
    expect(code).toBe(1);
    const outcome = JSON.parse(stdout);
    expect(outcome).toMatchObject({ status: 'Failed', failure: { type: 'JobFailed' } });
    expect(outcome.failure.message).toMatch(/exceeded the function's timeout while running the handler/);
    expect(outcome.crash).toBeUndefined();
  });

  test('--show-event prints the event with credentials redacted', () => {
    const { stderr } = runCli(cli, ['invoke', '--handler', `${FIXTURE}#failing`, '--show-event', '--user-parameters', '{"environment":"qa"}']);
    expect(stderr).toMatch(/Event of invocation 1:/);
    expect(stderr).toMatch(/"secretAccessKey": "\[redacted\]"/);
    expect(stderr).toMatch(/"UserParameters": "\{\\"environment\\":\\"qa\\"\}"/);
  });

  test('bad usage exits 2 and says what to do: no handler, missing file, input without a path, unknown export', () => {
    const noHandler = runCli(cli, ['invoke']);
    expect(noHandler.code).toBe(2);
    expect(noHandler.stderr).toMatch(/--handler is required \(e\.g\. --handler lib\/handler\.js#handler or app\.py#lambda_handler\), or --app <cdk\.out> --stage <name>/);
    const missing = runCli(cli, ['invoke', '--handler', 'nope.js#handler']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.js not found/);
    const input = runCli(cli, ['invoke', '--handler', FIXTURE, '--input', 'Source']);
    expect(input.code).toBe(2);
    expect(input.stderr).toMatch(/use --input NAME=PATH/);
    const exportName = runCli(cli, ['invoke', '--handler', `${FIXTURE}#nothing`]);
    expect(exportName.code).toBe(2);
    expect(exportName.stderr).toMatch(/no function export "nothing"; its function exports are: /);
  });
});
