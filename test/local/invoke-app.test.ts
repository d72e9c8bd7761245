/**
 * `invoke --app` and `runJob({ app })` run a synthesized stage's own function asset: the AWS guide-style handlers as
 * Lambda functions (Node.js and Python) in a real pipeline synthesized with aws-cdk-lib.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { findInvokeActions } from '../../src/local/cloud-assembly';
import { runJob } from '../../src/local/run-job';
import { buildCli, removeCli, runCli } from '../support/cli';

const GUIDE = path.join(__dirname, '..', 'fixtures', 'guide-handlers');
// Inside the project, as cdk.out is: the Node.js asset resolves the AWS SDK from the project's node_modules, as the
// Lambda Node.js runtime provides it.
const WORK = path.join(__dirname, '..', '..', 'tmp');

let cli: string;
let assembly: string;

function synthesize(): string {
  fs.mkdirSync(WORK, { recursive: true });
  const outdir = fs.mkdtempSync(path.join(WORK, 'invoke-app-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'ReleaseStack', { env: { account: '111122223333', region: 'eu-west-1' } });
  const sourceBucket = new s3.Bucket(stack, 'SourceBucket');
  const source = new codepipeline.Artifact('Source');
  const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
    pipelineName: 'release',
    stages: [{ stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Source', bucket: sourceBucket, bucketKey: 'app.zip', output: source })] }],
  });
  const nodeCheck = new lambda.Function(stack, 'NodeCheck', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(GUIDE, 'node')),
    timeout: Duration.seconds(30),
  });
  const pythonTransform = new lambda.Function(stack, 'PythonTransform', {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'app.lambda_handler',
    code: lambda.Code.fromAsset(path.join(GUIDE, 'python')),
    memorySize: 256,
  });
  pipeline.addStage({
    stageName: 'Check',
    actions: [new actions.LambdaInvokeAction({ actionName: 'Size', lambda: nodeCheck, inputs: [source], userParameters: { expectBytes: 10 } })],
  });
  pipeline.addStage({
    stageName: 'Transform',
    actions: [
      new actions.LambdaInvokeAction({
        actionName: 'Upper',
        lambda: pythonTransform,
        inputs: [source],
        outputs: [new codepipeline.Artifact('Upper')],
        userParameters: { file: 'config.txt', expect: sourceBucket.bucketName },
      }),
    ],
  });
  app.synth();
  return outdir;
}

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-app-input-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

beforeAll(() => {
  cli = buildCli();
  assembly = synthesize();
}, 60_000);
afterAll(() => {
  removeCli(cli);
  fs.rmSync(assembly, { recursive: true, force: true });
});

test('the reader finds each action\'s function: its asset folder, Handler and runtime', () => {
  const found = findInvokeActions(assembly).map((a) => ({ stage: a.stageName, fn: a.function }));
  expect(found).toEqual([
    { stage: 'Check', fn: expect.objectContaining({ runtime: 'nodejs22.x', handler: 'index.handler', timeoutSeconds: 30, assetDirectory: expect.stringContaining(assembly) }) },
    { stage: 'Transform', fn: expect.objectContaining({ runtime: 'python3.12', handler: 'app.lambda_handler', memorySize: 256 }) },
  ]);
  expect(fs.existsSync(path.join(found[0].fn!.assetDirectory!, 'index.js'))).toBe(true);
});

test('invoke --app runs the synthesized Node.js asset with the stage\'s UserParameters', () => {
  const result = runCli(cli, ['invoke', '--app', assembly, '--stage', 'Check', '--input', `Source=${folder({ 'app.txt': 'x'.repeat(50) })}`, '--json']);
  expect(result.stderr).not.toMatch(/Usage|Run `/);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ status: 'Succeeded', summary: 'Tests passed.' });
});

test('invoke --app runs the synthesized Python asset; --variable fills the deploy-time placeholder in its UserParameters', () => {
  const [transform] = findInvokeActions(assembly).filter((a) => a.stageName === 'Transform');
  const placeholder = transform.placeholders.find((p) => p.startsWith('<SourceBucket'))!.slice(1, -1);
  const result = runCli(cli, [
    'invoke',
    '--app',
    assembly,
    '--stage',
    'Transform',
    '--input',
    `Source=${folder({ 'config.txt': 'made for my-source-bucket' })}`,
    '--variable',
    `${placeholder}=my-source-bucket`,
    '--json',
  ]);
  expect(result.code).toBe(0);
  const outcome = JSON.parse(result.stdout) as { status: string; outputs: Record<string, string>; outputVariables: Record<string, string> };
  expect(outcome.status).toBe('Succeeded');
  expect(fs.readFileSync(path.join(outcome.outputs.Upper, 'upper.txt'), 'utf8')).toBe('MADE FOR MY-SOURCE-BUCKET');
  expect(outcome.outputVariables.memory).toBe('256');
});

test('without the placeholder filled, the Python asset sees it literally and fails the job', async () => {
  const outcome = await runJob({ app: { assembly, stage: 'Transform' }, inputs: { Source: folder({ 'config.txt': 'made for my-source-bucket' }) } });
  expect(outcome.status).toBe('Failed');
  expect(outcome.failure?.message).toMatch(/^expected <SourceBucket\w*\.Ref> in config.txt$/);
});

test('runJob({ app }) refuses an input the action does not have, naming its inputs', async () => {
  await expect(runJob({ app: { assembly, stage: 'Check' }, inputs: { Other: folder({}) } })).rejects.toThrow(/input Other is not an input artifact of stage Check, action Size \(its inputs: Source\)/);
});

test('invoke --app without --stage lists the stages', () => {
  const result = runCli(cli, ['invoke', '--app', assembly]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/--app needs --stage <name>; stages with a Lambda invoke action: Check, Transform/);
});
