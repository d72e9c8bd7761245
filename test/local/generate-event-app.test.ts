/**
 * `generate-event --app` on a real synthesized cloud assembly: a pipeline with the project's LambdaInvokeStage and a
 * stage of two plain aws-cdk-lib LambdaInvokeActions.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { LambdaInvokeStage } from '../../src/lambda-invoke-stage';
import { findInvokeActions } from '../../src/local/cloud-assembly';
import { parseJobEvent } from '../../src/shared/event';
import { UserParameters } from '../../src/user-parameters';
import { buildCli, removeCli, runCli } from '../support/cli';

let cli: string;
let assembly: string;

function synthesize(): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'assembly-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'PipelineStack', { env: { account: '111122223333', region: 'eu-west-1' } });
  const source = new s3.Bucket(stack, 'SourceBucket');
  const sourceOutput = new codepipeline.Artifact('Source');
  const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
    pipelineName: 'shop-pipeline',
    crossAccountKeys: true,
    stages: [{ stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Source', bucket: source, bucketKey: 'app.zip', output: sourceOutput })] }],
  });
  const fn = new lambda.Function(stack, 'SmokeTest', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  new LambdaInvokeStage(stack, 'Verify', {
    pipeline,
    stageName: 'Verify',
    actionName: 'SmokeTest',
    function: fn,
    inputs: [sourceOutput],
    outputs: [new codepipeline.Artifact('Report')],
    userParameters: UserParameters.fromObject({ bucket: source.bucketName, region: stack.region, url: '#{Deploy.Url}' }),
    variablesNamespace: 'Verify',
  });
  const named = new lambda.Function(stack, 'Notify', {
    functionName: 'notify-team',
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  pipeline.addStage({
    stageName: 'Announce',
    actions: [
      new actions.LambdaInvokeAction({ actionName: 'Slack', lambda: named, userParameters: { channel: '#deploys' } }),
      new actions.LambdaInvokeAction({ actionName: 'Email', lambda: named, runOrder: 2 }),
    ],
  });
  app.synth();
  return outdir;
}

beforeAll(() => {
  cli = buildCli();
  assembly = synthesize();
});
afterAll(() => removeCli(cli));

test('the reader finds every Lambda invoke action of the pipeline, and nothing else', () => {
  const found = findInvokeActions(assembly).map((a) => `${a.stageName}/${a.actionName}`);
  expect(found).toEqual(['Verify/SmokeTest', 'Announce/Slack', 'Announce/Email']);
});

test('the event of a stage has its resolved UserParameters, artifacts, function and encryption key', () => {
  const { code, stdout, stderr } = runCli(cli, ['generate-event', '--app', assembly, '--stage', 'Verify']);
  expect(code).toBe(0);
  const event = parseJobEvent(JSON.parse(stdout));
  const job = event['CodePipeline.job'];
  expect(job.accountId).toBe('111122223333');
  const config = job.data.actionConfiguration.configuration;
  expect(config.FunctionName).toMatch(/^<SmokeTest[0-9A-F]*\.Ref>$/);
  expect(JSON.parse(config.UserParameters)).toEqual({ bucket: expect.stringMatching(/^<SourceBucket[0-9A-F]*\.Ref>$/), region: 'eu-west-1', url: '#{Deploy.Url}' });
  expect(job.data.inputArtifacts.map((a) => a.name)).toEqual(['Source']);
  expect(job.data.outputArtifacts.map((a) => a.name)).toEqual(['Report']);
  expect(job.data.inputArtifacts[0].location.s3Location.bucketName).toMatch(/^<PipelineArtifactsBucket[0-9A-F]*\.Ref>$/);
  expect(job.data.inputArtifacts[0].location.s3Location.objectKey).toMatch(/^shop-pipeline\/Source\/[A-Za-z0-9]{7}$/);
  expect(job.data.encryptionKey?.id).toMatch(/^<PipelineArtifactsBucketEncryptionKey[0-9A-F]*\.Arn>$/);
  expect(stderr).toMatch(/Stage Verify, action SmokeTest of pipeline shop-pipeline \(stack PipelineStack\)/);
  expect(stderr).toMatch(/variables namespace: Verify/);
  expect(stderr).toMatch(/known only after deploy: <SmokeTest/);
});

test('a named function shows its name, and a plain LambdaInvokeAction its JSON UserParameters', () => {
  const { code, stdout } = runCli(cli, ['generate-event', '--app', assembly, '--stage', 'Announce', '--action', 'Slack']);
  expect(code).toBe(0);
  const config = JSON.parse(stdout)['CodePipeline.job'].data.actionConfiguration.configuration;
  expect(config).toEqual({ FunctionName: 'notify-team', UserParameters: '{"channel":"#deploys"}' });
});

test('an action without UserParameters gets an event without them', () => {
  const { stdout } = runCli(cli, ['generate-event', '--app', assembly, '--stage', 'Announce', '--action', 'Email']);
  expect(JSON.parse(stdout)['CodePipeline.job'].data.actionConfiguration.configuration).toEqual({ FunctionName: 'notify-team' });
});

test('flags override what the assembly says', () => {
  const { stdout } = runCli(cli, ['generate-event', '--app', assembly, '--stage', 'Verify', '--user-parameters', '{"bucket":"real-bucket"}', '--function-name', 'smoke-fn']);
  const config = JSON.parse(stdout)['CodePipeline.job'].data.actionConfiguration.configuration;
  expect(config).toEqual({ FunctionName: 'smoke-fn', UserParameters: '{"bucket":"real-bucket"}' });
});

test('a stage with several Lambda actions needs --action, and the error lists them', () => {
  const { code, stderr } = runCli(cli, ['generate-event', '--app', assembly, '--stage', 'Announce']);
  expect(code).toBe(2);
  expect(stderr).toMatch(/2 Lambda invoke actions match --stage Announce; add --action to pick one/);
  expect(stderr).toMatch(/--stage Announce --action Slack/);
  expect(stderr).toMatch(/--stage Announce --action Email/);
});

test('an unknown stage exits 2 and lists the stages that have Lambda actions', () => {
  const { code, stderr } = runCli(cli, ['generate-event', '--app', assembly, '--stage', 'Deploy']);
  expect(code).toBe(2);
  expect(stderr).toMatch(/no Lambda invoke action matches --stage Deploy\. The assembly has:\n {2}--stage Verify --action SmokeTest/);
});

test('a folder that is not a cloud assembly exits 2 and says how to make one', () => {
  const { code, stderr } = runCli(cli, ['generate-event', '--app', os.tmpdir(), '--stage', 'Verify']);
  expect(code).toBe(2);
  expect(stderr).toMatch(/is not a cloud assembly \(no manifest\.json\)\. Synthesize first/);
});
